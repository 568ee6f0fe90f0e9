// Bundles both functions into CommonJS that functions-framework loads with --source.
// functions-framework stays external: its function registry is module state, and the framework that serves the
// bundle must be the one the bundle registers with. dist/package.json is what Cloud Functions installs.
//
// For cold start and memory (docs/performance.md, measured by `npm run bench`):
// - Two files. dist/index.js holds our code and what every event needs (config, parsing, logging, the reconcile
//   logic); the Google and Kubernetes client libraries, which only shared/cloud uses and only once an event calls
//   an API, go to dist/vendor.js, read on first use. Our modules exist once, in index.js (error classes keep their
//   identity); vendor.js has one copy of each library, shared by the clients as in a single bundle.
// - Compute's protos pruned to the services we call: the library ships all of Compute (v1 and v1beta, 4 MiB of
//   JSON) and turns all of it into a protobuf Root when a client is made (about 70 MiB and 400 ms).
// - Source maps without sources: Node maps stack traces without them, and the deployed
//   NODE_OPTIONS=--enable-source-maps parses the maps at load (37 MiB with sources).
// First: on a Node.js too old for the project, stop before building with a message that names the version needed.
import './require-node.cjs';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';
import { bundleManifest } from './bundle-manifest.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Client libraries imported by our code; a library's own dependencies follow it into vendor.js. */
const CLIENT_LIBRARIES =
  /^(@google-cloud\/(compute|container|pubsub)|@kubernetes\/client-node|google-auth-library|google-gax|googleapis)(\/.*)?$/;

/**
 * What a file imports or re-exports from `spec`, read with the TypeScript parser over every statement (so two
 * import statements of one library both count): the value names (type-only ones left out), or undefined when
 * anything needs the whole module (a default or namespace import, a side-effect import, `export *`).
 */
export function namedImports(file, spec) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const names = new Set();
  for (const statement of source.statements) {
    const from = statement.moduleSpecifier;
    if (!from || !ts.isStringLiteral(from) || from.text !== spec) continue;
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (!clause || clause.name) return undefined;
      if (clause.isTypeOnly) continue;
      const bindings = clause.namedBindings;
      if (!bindings || ts.isNamespaceImport(bindings)) return undefined;
      for (const element of bindings.elements)
        if (!element.isTypeOnly) names.add((element.propertyName ?? element.name).text);
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue;
      const clause = statement.exportClause;
      if (!clause || !ts.isNamedExports(clause)) return undefined;
      for (const element of clause.elements)
        if (!element.isTypeOnly) names.add((element.propertyName ?? element.name).text);
    }
  }
  return [...names];
}

/**
 * Our code's imports of client libraries become `require(vendor)[spec]`. `vendored` collects library → the names
 * imported from it, or 'all' (require(), namespace or default import).
 */
export function splitVendor(vendored, vendor = './vendor.js') {
  return {
    name: 'split-vendor',
    setup(b) {
      b.onResolve({ filter: CLIENT_LIBRARIES }, (args) => {
        if (args.importer.includes('/node_modules/')) return undefined;
        // `import … from` and `export … from` are both import statements to esbuild.
        const names = args.kind === 'import-statement' ? namedImports(args.importer, args.path) : undefined;
        const known = vendored.get(args.path);
        if (!names || known === 'all') vendored.set(args.path, 'all');
        else vendored.set(args.path, new Set([...(known ?? []), ...names]));
        return { path: args.path, namespace: 'vendor' };
      });
      b.onResolve({ filter: /.*/, namespace: 'vendor' }, (args) => ({ path: args.path, external: true }));
      b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(vendor)})[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
    },
  };
}

/**
 * vendor.js: one getter per library, evaluated on first access. A library imported by name is re-exported by
 * name only, so esbuild still drops what is unused (client-node: 1.8 MiB instead of 5).
 */
function vendorEntry(vendored) {
  return {
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
}

const COMPUTE_V1 = 'google.cloud.compute.v1';
const COMPUTE_CLIENT = /^@google-cloud\/compute\/build\/src\/v1\/([a-z_]+)_client$/;

/**
 * Keeps, of Compute's protos, the v1 services of the clients our code deep-imports and every message and enum
 * they reach; everything outside google.cloud.compute (annotations, google.protobuf) stays. Name resolution as
 * protobuf does it: a type name is looked up in its own scope, then in each enclosing one.
 */
export function pruneComputeProtos(json, services) {
  const index = new Map();
  const walk = (node, name) => {
    index.set(name, node);
    for (const [key, child] of Object.entries(node.nested ?? {})) walk(child, name ? `${name}.${key}` : key);
  };
  walk(json, '');
  const resolve = (ref, scope) => {
    if (ref.startsWith('.')) return index.has(ref.slice(1)) ? ref.slice(1) : undefined;
    for (let at = scope; ; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
      const name = at ? `${at}.${ref}` : ref;
      if (index.has(name)) return name;
      if (!at) return undefined;
    }
  };
  const keep = new Set();
  const visit = (name) => {
    if (keep.has(name)) return;
    keep.add(name);
    const node = index.get(name);
    const refs = [
      ...Object.values(node.fields ?? {}).map((f) => f.type),
      ...Object.values(node.methods ?? {}).flatMap((m) => [m.requestType, m.responseType]),
    ];
    for (const ref of refs) {
      const target = resolve(ref, name);
      if (target) visit(target);
      else if (!/^(u?int|s?fixed|sint)(32|64)$|^(double|float|bool|string|bytes)$/.test(ref))
        throw new Error(`compute protos: ${ref} (in ${name}) not found`);
    }
    for (const child of Object.keys(node.nested ?? {})) visit(`${name}.${child}`);
  };
  for (const service of services) {
    if (!index.get(`${COMPUTE_V1}.${service}`)?.methods)
      throw new Error(`compute protos: no service ${service}`);
    visit(`${COMPUTE_V1}.${service}`);
  }
  const pruned = structuredClone(json);
  const compute = pruned.nested.google.nested.cloud.nested.compute;
  const v1 = compute.nested.v1;
  v1.nested = Object.fromEntries(
    Object.keys(v1.nested)
      .filter((k) => keep.has(`${COMPUTE_V1}.${k}`))
      .map((k) => [k, v1.nested[k]]),
  );
  compute.nested = { v1 };
  return pruned;
}

/** Applies pruneComputeProtos when every Compute import is a deep import of v1 clients. */
function pruneCompute(vendored) {
  return {
    name: 'prune-compute-protos',
    setup(b) {
      b.onLoad(
        { filter: /[\\/]@google-cloud[\\/]compute[\\/]build[\\/]protos[\\/]protos\.json$/ },
        (args) => {
          const compute = [...vendored.keys()].filter((spec) => spec.startsWith('@google-cloud/compute'));
          // e.g. a future import of the whole v1 index: keep everything.
          if (!compute.every((spec) => COMPUTE_CLIENT.test(spec))) return undefined;
          const services = compute.map((spec) =>
            COMPUTE_CLIENT.exec(spec)[1]
              .split('_')
              .map((w) => w[0].toUpperCase() + w.slice(1))
              .join(''),
          );
          const json = JSON.parse(readFileSync(args.path, 'utf8'));
          return { contents: JSON.stringify(pruneComputeProtos(json, services)), loader: 'json' };
        },
      );
    },
  };
}

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

/** dist/index.js and dist/vendor.js (+ maps); returns both metafiles and what was vendored. */
export async function buildFunctions(outdir) {
  const vendored = new Map();
  const index = await build({
    ...common,
    entryPoints: [`${root}functions/index.ts`],
    outfile: `${outdir}/index.js`,
    plugins: [splitVendor(vendored)],
  });
  const vendor = await build({
    ...common,
    entryPoints: ['vendor-entry'],
    outfile: `${outdir}/vendor.js`,
    plugins: [vendorEntry(vendored), pruneCompute(vendored)],
  });
  return { index: index.metafile, vendor: vendor.metafile, vendored };
}

async function main() {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
  const outdir = `${root}dist`;
  mkdirSync(outdir, { recursive: true });
  const meta = await buildFunctions(outdir);

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

  // What Cloud Functions installs: the framework pinned exactly, with a lockfile (scripts/bundle-manifest.mjs).
  const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8'));
  const { packageJson, packageLock } = bundleManifest(pkg, lock);
  writeFileSync(`${outdir}/package.json`, `${JSON.stringify(packageJson, null, 2)}\n`);
  writeFileSync(`${outdir}/package-lock.json`, `${JSON.stringify(packageLock, null, 2)}\n`);
  // Both functions files, for bundle analysis (which modules dominate).
  writeFileSync(
    `${outdir}/meta.json`,
    JSON.stringify({
      inputs: { ...meta.vendor.inputs, ...meta.index.inputs },
      outputs: { ...meta.index.outputs, ...meta.vendor.outputs },
    }),
  );
  for (const file of ['index.js', 'vendor.js', 'cli.js']) {
    const size = statSync(`${outdir}/${file}`).size;
    console.log(`dist/${file} ${(size / 1024 / 1024).toFixed(2)} MiB`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
