/**
 * The two-file bundle (scripts/build.mjs): our code's imports of client libraries become look-ups in dist/vendor.js,
 * which re-exports by name only what was imported. A name the build missed typechecks and bundles, and is
 * undefined at run time; these tests find such a name before a deployment does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.join(__dirname, '../..');
const LIBRARIES =
  /^(@google-cloud\/(compute|container|pubsub)|@kubernetes\/client-node|google-auth-library|google-gax|googleapis)(\/.*)?$/;

interface BuildModule {
  buildFunctions(outdir: string): Promise<{
    index: { inputs: Record<string, unknown> };
    vendored: Map<string, Set<string> | 'all'>;
  }>;
  namedImports(file: string, spec: string): string[] | undefined;
}

const loadBuild = () =>
  import(pathToFileURL(path.join(ROOT, 'scripts/build.mjs')).href) as Promise<BuildModule>;

/**
 * Value names a source file imports from each client library, over every import statement (a second reader of the
 * source, by pattern, independent of the build's parser).
 */
function importsOf(source: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of source.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    if (m[1] || !LIBRARIES.test(m[3])) continue;
    const names = m[2]
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part && !part.startsWith('type '))
      .map((part) => part.split(/\s+as\s+/)[0]);
    out.set(m[3], [...(out.get(m[3]) ?? []), ...names]);
  }
  return out;
}

describe('build: vendored client libraries', function () {
  this.timeout(120_000);
  let outdir: string;
  let built: Awaited<ReturnType<BuildModule['buildFunctions']>>;

  before(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'spokefleet-build-'));
    built = await (await loadBuild()).buildFunctions(outdir);
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it('every name our code imports from a client library is defined in vendor.js', () => {
    const vendor = require(path.join(outdir, 'vendor.js')) as Record<string, Record<string, unknown>>;
    const ours = Object.keys(built.index.inputs).filter(
      (f) => f.endsWith('.ts') && !f.includes('node_modules'),
    );
    const missing: string[] = [];
    let checked = 0;
    for (const file of ours) {
      for (const [spec, names] of importsOf(readFileSync(path.join(ROOT, file), 'utf8'))) {
        for (const name of names) {
          checked++;
          if (vendor[spec]?.[name] === undefined) missing.push(`${file}: ${name} from ${spec}`);
        }
      }
    }
    assert.deepEqual(missing, []);
    // Most library use is a lazy require() (vendored whole); these are the named imports today.
    assert.ok(checked >= 5, `${checked} imported names checked`);
    assert.equal(typeof vendor['@kubernetes/client-node']?.KubeConfig, 'function');
  });

  it('reads every import statement of a library, not only the first', async () => {
    const { namedImports } = await loadBuild();
    const file = path.join(outdir, 'split.ts');
    writeFileSync(
      file,
      [
        "import { CoreV1Api, type V1Namespace } from '@kubernetes/client-node';",
        "import type { RequestContext } from '@kubernetes/client-node';",
        "import { KubeConfig as Config } from '@kubernetes/client-node';",
        "export { PatchStrategy } from '@kubernetes/client-node';",
        "import { GoogleAuth } from 'google-auth-library';",
      ].join('\n'),
    );
    assert.deepEqual(namedImports(file, '@kubernetes/client-node')?.sort(), [
      'CoreV1Api',
      'KubeConfig',
      'PatchStrategy',
    ]);
    writeFileSync(file, "import * as k8s from '@kubernetes/client-node';\n");
    assert.equal(namedImports(file, '@kubernetes/client-node'), undefined, 'a namespace import needs it all');
  });
});
