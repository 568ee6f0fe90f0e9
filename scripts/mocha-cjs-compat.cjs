// Preloaded into StrykerJS's test-runner processes (stryker.config.mjs, testRunnerNodeArgs).
// @stryker-mutator/mocha-runner 10.1.1 requires mocha's CLI helpers without an extension
// (`<mocha>/lib/cli/run-helpers`, `.../options`); mocha 12 ships them as `.cjs`, which Node's
// extensionless lookup does not try. Letting that lookup try `.cjs` too is the whole fix.
const Module = require('node:module');
if (!Module._extensions['.cjs']) Module._extensions['.cjs'] = Module._extensions['.js'];
