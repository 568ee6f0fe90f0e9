// Bundles both functions into CommonJS that functions-framework loads with --source (DESIGN §7).
// functions-framework stays external: its function registry is module state, and the framework that serves the
// bundle must be the one the bundle registers with. dist/package.json is what Cloud Functions installs.
//
// Two files, for cold start (docs/performance.md): dist/index.js holds our code and what every event needs
// (config, parsing, logging, the reconcile logic); the Google and Kubernetes client libraries, which only
// shared/cloud uses and only once an event calls an API, go to dist/vendor.js, read on first use. Our own modules
// exist once, in index.js (error classes keep their identity); vendor.js has one copy of each library, shared by
// the clients as in a single bundle. Source maps carry no sources: Node maps stack traces without them, and the
// deployed NODE_OPTIONS=--enable-source-maps parses the maps at load (37 MiB with sources, 9 without).
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
const outdir = `${root}dist`;
mkdirSync(outdir, { recursive: true });

/** Client libraries imported by our code; a library's own dependencies follow it into vendor.js. */
const CLIENT_LIBRARIES =
  /^(@google-cloud\/(compute|container)|@kubernetes\/client-node|google-auth-library|google-gax|googleapis)(\/.*)?$/;
/** Library → the names our code imports from it, or 'all' (require(), namespace or default import). */
const vendored = new Map();
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Names a file imports from `spec` with `import { a, b as c, type T }` (types left out); undefined otherwise. */
function namedImports(file, spec) {
  const source = readFileSync(file, 'utf8');
  const clause = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*['"]${escape(spec)}['"]`).exec(source);
  if (!clause) return undefined;
  return clause[1]
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part && !part.startsWith('type '))
    .map((part) => part.split(/\s+as\s+/)[0]);
}

const splitVendor = {
  name: 'split-vendor',
  setup(b) {
    b.onResolve({ filter: CLIENT_LIBRARIES }, (args) => {
      if (args.importer.includes('/node_modules/')) return undefined;
      const names = args.kind === 'import-statement' ? namedImports(args.importer, args.path) : undefined;
      const known = vendored.get(args.path);
      if (!names || known === 'all') vendored.set(args.path, 'all');
      else vendored.set(args.path, new Set([...(known ?? []), ...names]));
      return { path: args.path, namespace: 'vendor' };
    });
    b.onResolve({ filter: /^\.\/vendor\.js$/, namespace: 'vendor' }, () => ({
      path: './vendor.js',
      external: true,
    }));
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `module.exports = require('./vendor.js')[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

/**
 * vendor.js: one getter per library, evaluated on first access. A library imported by name is re-exported by
 * name only, so esbuild still drops what is unused (client-node: 1.8 MiB instead of 5).
 */
const vendorEntry = {
  name: 'vendor-entry',
  setup(b) {
    b.onResolve({ filter: /^vendor-entry$/ }, () => ({ path: 'vendor-entry', namespace: 'vendor-entry' }));
    b.onResolve({ filter: /^named:/ }, (args) => ({ path: args.path.slice(6), namespace: 'vendor-named' }));
    b.onLoad({ filter: /.*/, namespace: 'vendor-entry' }, () => ({
      resolveDir: root,
      loader: 'js',
      contents: [...vendored.keys()]
        .sort()
        .map((spec) => {
          const from = vendored.get(spec) === 'all' ? spec : `named:${spec}`;
          return `Object.defineProperty(exports, ${JSON.stringify(spec)}, { enumerable: true, get: () => require(${JSON.stringify(from)}) });`;
        })
        .join('\n'),
    }));
    b.onLoad({ filter: /.*/, namespace: 'vendor-named' }, (args) => ({
      resolveDir: root,
      loader: 'js',
      contents: `export { ${[...vendored.get(args.path)].sort().join(', ')} } from ${JSON.stringify(args.path)};`,
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: ['@google-cloud/functions-framework'],
  sourcemap: 'linked',
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
};

const result = await build({
  ...common,
  entryPoints: [`${root}functions/index.ts`],
  outfile: `${outdir}/index.js`,
  plugins: [splitVendor],
});

const vendor = await build({
  ...common,
  entryPoints: ['vendor-entry'],
  outfile: `${outdir}/vendor.js`,
  plugins: [vendorEntry],
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
// Both functions files, for bundle analysis (which modules dominate).
writeFileSync(
  `${outdir}/meta.json`,
  JSON.stringify({
    inputs: { ...vendor.metafile.inputs, ...result.metafile.inputs },
    outputs: { ...result.metafile.outputs, ...vendor.metafile.outputs },
  }),
);
for (const file of ['index.js', 'vendor.js', 'cli.js']) {
  const size = statSync(`${outdir}/${file}`).size;
  console.log(`dist/${file} ${(size / 1024 / 1024).toFixed(2)} MiB`);
}
