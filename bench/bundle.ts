/**
 * Workers are bundled the way scripts/build.mjs bundles the functions, with their client libraries taken from the
 * built dist/vendor.js: a worker runs the deployed library code (pruned protos included), and its memory is
 * production code's, not tsx's (tsx alone adds about 80 MiB). Each worker is built once per run.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { DIST, ROOT } from './common';

const built = new Map<string, Promise<string>>();

/** `entry` (relative to the project root) bundled to a temporary file; its path. */
export function bundledWorker(entry: string): Promise<string> {
  let file = built.get(entry);
  if (!file) {
    file = (async () => {
      const vendor = join(DIST, 'vendor.js');
      if (!existsSync(vendor)) throw new Error(`${vendor} is missing: run \`npm run build\` first`);
      const { splitVendor } = (await import(pathToFileURL(join(ROOT, 'scripts/build.mjs')).href)) as {
        splitVendor: (vendored: Map<string, unknown>, vendor: string) => Plugin;
      };
      const dir = mkdtempSync(join(tmpdir(), 'spokefleet-bench-worker-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const outfile = join(dir, basename(entry).replace(/\.ts$/, '.js'));
      await build({
        entryPoints: [join(ROOT, entry)],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node22',
        minifyWhitespace: true,
        minifySyntax: true,
        logLevel: 'warning',
        plugins: [splitVendor(new Map(), vendor)],
      });
      return outfile;
    })();
    built.set(entry, file);
  }
  return file;
}
