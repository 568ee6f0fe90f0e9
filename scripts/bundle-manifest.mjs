// dist/package.json and dist/package-lock.json: what Cloud Functions' Node.js build installs next to the bundle.
// The bundle keeps @google-cloud/functions-framework external (its function registry is module state, and the
// framework that serves the bundle must be the one the bundle registers with), so the deployed framework must be
// exactly the one the tests ran: the version the repository's lockfile resolved, pinned exactly, and a lockfile
// holding exactly that framework's dependency tree as the repository's lockfile resolved it (the build runs
// `npm ci` when a package-lock.json is present). Derived offline from package-lock.json: no registry look-up.

export const FRAMEWORK = '@google-cloud/functions-framework';

/** Node's resolution over lockfile paths: `name` as seen from the package at `from` ('' is the root). */
function resolvePath(packages, from, name) {
  for (let base = from; ; ) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const up = base.lastIndexOf('/node_modules/');
    base = up < 0 ? '' : base.slice(0, up);
  }
}

/**
 * The lockfile (v2/v3) entries `dependencies` needs, at the paths the root lockfile gives them, with `optional`
 * recomputed for this tree (a package is optional when only optional edges reach it) and dev flags dropped.
 */
export function subsetLockfile(rootLock, dependencies) {
  const packages = rootLock.packages;
  if (!packages) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or 3 is needed)');
  const required = new Set();
  const reached = new Set();
  const visit = (from, name, optional) => {
    const path = resolvePath(packages, from, name);
    if (!path) {
      if (optional) return;
      throw new Error(`package-lock.json does not resolve ${name} from ${from || 'the root'}`);
    }
    const seen = optional ? reached.has(path) : required.has(path);
    reached.add(path);
    if (!optional) required.add(path);
    if (seen) return;
    const entry = packages[path];
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, optional);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) {
      visit(path, dep, optional || entry.peerDependenciesMeta?.[dep]?.optional === true);
    }
  };
  for (const name of Object.keys(dependencies)) visit('', name, false);
  const out = {};
  for (const path of [...reached].sort()) {
    const { dev, devOptional, optional, peer, ...entry } = packages[path];
    out[path] = required.has(path) ? entry : { ...entry, optional: true };
  }
  return out;
}

/** dist/package.json and dist/package-lock.json for the functions bundle. */
export function bundleManifest(rootPkg, rootLock) {
  const framework = rootLock.packages?.[`node_modules/${FRAMEWORK}`];
  if (!framework?.version) throw new Error(`package-lock.json does not lock ${FRAMEWORK}`);
  const dependencies = { [FRAMEWORK]: framework.version };
  const packageJson = {
    name: 'spokefleet-functions',
    version: rootPkg.version,
    private: true,
    main: 'index.js',
    engines: { node: '>=22' },
    dependencies,
  };
  const packageLock = {
    name: packageJson.name,
    version: packageJson.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: packageJson.name,
        version: packageJson.version,
        dependencies,
        engines: packageJson.engines,
      },
      ...subsetLockfile(rootLock, dependencies),
    },
  };
  return { packageJson, packageLock };
}
