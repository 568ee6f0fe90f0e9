/**
 * Which directory may import which, read from the source itself (every `import`, `export … from`, `require()` and
 * `import()`, as TypeScript's own pre-processor finds them):
 *
 * - production code (functions/, shared/, cli/) never imports the stand-ins (sandbox/), the tests or the
 *   benchmarks: what is deployed or shipped must not depend on the local cloud;
 * - the cloud adapters (shared/cloud/) never import the reconcile steps (shared/reconcile/): adapters speak the
 *   APIs, the steps decide;
 * - shared/ never imports the entry points that use it (functions/, cli/).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../..');

interface Rule {
  from: string;
  forbidden: string[];
  why: string;
}

const RULES: Rule[] = [
  {
    from: 'functions/',
    forbidden: ['sandbox/', 'test/', 'bench/', 'cli/'],
    why: 'the deployed functions depend on shared/ only',
  },
  {
    from: 'shared/',
    forbidden: ['sandbox/', 'test/', 'bench/', 'cli/', 'functions/'],
    why: 'shared/ is the base every entry point builds on',
  },
  {
    from: 'cli/',
    forbidden: ['sandbox/', 'test/', 'bench/', 'functions/'],
    why: 'the CLI ships without the stand-ins',
  },
  {
    from: 'shared/cloud/',
    forbidden: ['shared/reconcile/'],
    why: 'adapters must not know the reconcile steps',
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|cts|mts|js|cjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The repository-relative paths a file imports (relative specifiers only; packages are not layers). */
function importsOf(file: string, text: string): string[] {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) =>
      relative(ROOT, resolve(ROOT, dirname(file), spec))
        .split('\\')
        .join('/'),
    );
}

/** Every import that breaks a rule, as `file → import (why)`. */
function violations(files: ReadonlyArray<{ file: string; text: string }>): string[] {
  const found: string[] = [];
  for (const { file, text } of files) {
    for (const target of importsOf(file, text)) {
      for (const rule of RULES) {
        if (!file.startsWith(rule.from)) continue;
        const hit = rule.forbidden.find((f) => `${target}/`.startsWith(f) || target.startsWith(f));
        if (hit) found.push(`${file} → ${target} (${rule.why})`);
      }
    }
  }
  return found;
}

describe('layering: who may import whom', () => {
  it('the rules catch an import in each forbidden direction (static, require and dynamic)', () => {
    const caught = violations([
      { file: 'cli/output.ts', text: "import { formatTable } from '../sandbox/table';" },
      { file: 'cli/commands/reconcile.ts', text: "const d = require('../../sandbox/audit/delivery');" },
      { file: 'shared/cloud/kube-connector.ts', text: "import { x } from '../reconcile/names';" },
      { file: 'functions/index.ts', text: "const t = await import('../test/fakes/cloud');" },
      { file: 'shared/config.ts', text: "export { run } from '../cli/program';" },
      { file: 'cli/table.ts', text: "import { x } from '../shared/log'; import ts from 'typescript';" },
    ]);
    assert.deepEqual(
      caught.map((v) => v.split(' (')[0]),
      [
        'cli/output.ts → sandbox/table',
        'cli/commands/reconcile.ts → sandbox/audit/delivery',
        'shared/cloud/kube-connector.ts → shared/reconcile/names',
        'functions/index.ts → test/fakes/cloud',
        'shared/config.ts → cli/program',
      ],
    );
  });

  it('functions/, shared/ and cli/ import nothing they must not', () => {
    const files = ['functions', 'shared', 'cli'].flatMap(sourceFiles).map((file) => ({
      file,
      text: readFileSync(join(ROOT, file), 'utf8'),
    }));
    assert.ok(files.length > 50, `read ${files.length} files`);
    assert.deepEqual(violations(files), []);
  });
});
