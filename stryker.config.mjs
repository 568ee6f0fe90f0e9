// Mutation testing of the product's logic: `npm run test:mutation` (not part of `npm test`: too slow).
// The command runner starts mocha once per mutant: @stryker-mutator/mocha-runner (10.1.1) cannot load mocha 12
// (it requires lib/cli/run-helpers, which mocha 12 ships as run-helpers.cjs), so there is no per-test coverage and
// each mutant runs every spec in SPEC — keep SPEC to the tests of the files in MUTATE.
// Incremental: reports/stryker-incremental.json remembers each mutant's result, so a re-run tests only the mutants
// of changed code. Not of changed tests: to the command runner the whole command is one test, so after a test
// change a re-run reuses the old results (survivors stay survived); add `-- --force` to retest every mutant.
// A smaller run for one file or a few:
//   MUTATE=shared/deadline.ts,shared/errors.ts SPEC=test/unit/deadline.test.ts,test/unit/errors.test.ts npm run test:mutation
// docs/reliability.md records what was run and the score measured.
const list = (value, fallback) => (value ? value.split(',') : fallback);

export default {
  testRunner: 'command',
  commandRunner: {
    command: `npx mocha --reporter dot ${list(process.env.SPEC, ['test/unit/**/*.test.ts'])
      .map((spec) => `'${spec}'`)
      .join(' ')}`,
  },
  // The type checker drops mutants that do not compile before any test runs them; NO_CHECK=1 skips it for a
  // quick look (mutants that do not compile then count as errors, not as killed).
  checkers: process.env.NO_CHECK ? [] : ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: list(process.env.MUTATE, [
    'shared/reconcile/**/*.ts',
    'shared/events/**/*.ts',
    'shared/policy/**/*.ts',
    'shared/errors.ts',
    'shared/deadline.ts',
    'shared/config.ts',
  ]),
  coverageAnalysis: 'off',
  // Two shared cores: one mutant at a time keeps the machine usable for everything else.
  concurrency: Number(process.env.CONCURRENCY ?? 1),
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress'],
  timeoutMS: 10_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
