// Mutation testing of the product's logic: `npm run test:mutation` (not part of `npm test`: too slow).
// The mocha runner loads the specs once per worker and, with per-test coverage, runs for each mutant only the tests
// that reach it. @stryker-mutator/mocha-runner 10.1.1 looks for mocha's CLI helpers without an extension, and mocha
// 12 ships them as .cjs: scripts/mocha-cjs-compat.cjs lets Node find them, loaded here for Stryker's own process
// (which loads the plugin to validate the options) and preloaded into the processes it starts.
// Incremental: reports/stryker-incremental.json remembers each mutant's result and the tests that covered it, so a
// re-run tests only mutants whose code or covering tests changed; `-- --force` retests every mutant.
// A smaller run for one file or a few:
//   MUTATE=shared/deadline.ts SPEC=test/unit/deadline.test.ts npm run test:mutation
// The whole scope took 9 minutes on 2 shared cores (docs/reliability.md).
// docs/reliability.md records what was run and the score measured.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const compat = fileURLToPath(new URL('./scripts/mocha-cjs-compat.cjs', import.meta.url));
createRequire(import.meta.url)(compat);
// Every process Stryker starts loads the plugins too: they inherit the preload through NODE_OPTIONS.
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, `--require ${JSON.stringify(compat)}`]
  .filter(Boolean)
  .join(' ');
const list = (value, fallback) => (value ? value.split(',') : fallback);

// The unit tests of the logic, and the one wire test that needs no local cloud (the Aviatrix Controller client's,
// against a plain local HTTPS server). Left out: the unit tests that build the bundle, run terraform, the benchmarks
// or older Node versions, or test the sandbox's own Kubernetes stand-in. They reach little of the mutated code, and
// each mutant their tests reach would rerun their suites' slow before-all hooks; what they alone would kill counts as
// survived.
const NOT_LOGIC =
  /^(bench-smoke|build-vendor|cloudbuild|functions|layering|loopback-guard|node-version|terraform|kube-(field-validation|patch|protobuf|selectors|pool))\.test\.ts$/;
const LOGIC_TESTS = [
  ...readdirSync(new URL('./test/unit', import.meta.url))
    .filter((file) => file.endsWith('.test.ts') && !NOT_LOGIC.test(file))
    .map((file) => `test/unit/${file}`),
  'test/wire/aviatrix.test.ts',
];

export default {
  testRunner: 'mocha',
  // .mocharc.json still supplies the tsx loader and test/setup.ts; only the spec list is Stryker's.
  mochaOptions: { config: '.mocharc.json', spec: list(process.env.SPEC, LOGIC_TESTS) },
  coverageAnalysis: 'perTest',
  // A static mutant (module-level code, run once at load) needs a fresh process and every test for each mutant:
  // ~10% of the mutants and ~83% of the time. Skipped unless STATIC=1; docs/reliability.md gives both scores.
  ignoreStatic: !process.env.STATIC,
  // No type checker by default: mutants TypeScript would reject run like any other (tsx strips types), and the ones
  // that survive are judged by hand. CHECK=1 drops them before any test runs, at many times the run time: each check
  // of a mutant in a widely imported file re-checks its importers (tsconfig.mutation.json keeps that to shared/).
  checkers: process.env.CHECK ? ['typescript'] : [],
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: list(process.env.MUTATE, [
    'shared/reconcile/**/*.ts',
    'shared/events/**/*.ts',
    'shared/policy/**/*.ts',
    'shared/errors.ts',
    'shared/deadline.ts',
    'shared/config.ts',
  ]),
  // One test process per core of this 2-core machine; CONCURRENCY=1 leaves a core for other work.
  concurrency: Number(process.env.CONCURRENCY ?? 2),
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
