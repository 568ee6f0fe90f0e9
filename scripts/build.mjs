// Bundles both functions into one CommonJS file that functions-framework loads with --source (DESIGN §7).
// functions-framework stays external: its function registry is module state, and the framework that serves the
// bundle must be the one the bundle registers with. dist/package.json is what Cloud Functions installs.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const outdir = `${root}dist`;
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: [`${root}functions/index.ts`],
  outfile: `${outdir}/index.js`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['@google-cloud/functions-framework'],
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});

// The `spokefleet` command (cli/main.ts), one self-contained file that bin/spokefleet.js loads. It needs no
// framework at run time; functions-framework stays external in case a shared module ever imports it.
await build({
  entryPoints: [`${root}cli/main.ts`],
  outfile: `${outdir}/cli.js`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['@google-cloud/functions-framework'],
  banner: { js: '#!/usr/bin/env node' },
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const frameworkVersion = pkg.dependencies['@google-cloud/functions-framework'];
writeFileSync(
  `${outdir}/package.json`,
  `${JSON.stringify(
    {
      name: 'spokefleet-functions',
      version: pkg.version,
      private: true,
      main: 'index.js',
      engines: { node: '>=22' },
      dependencies: { '@google-cloud/functions-framework': frameworkVersion },
    },
    null,
    2,
  )}\n`,
);
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
for (const file of ['index.js', 'cli.js']) {
  const size = statSync(`${outdir}/${file}`).size;
  console.log(`dist/${file} ${(size / 1024 / 1024).toFixed(2)} MiB`);
}
