// Fails fast, in plain words, on a Node.js older than package.json's `engines.node`. Loaded first by every entry
// point (bin/spokefleet.js, the demo, the sandbox, the test setup): under Node 20 the client libraries install in
// older majors or fail to load deep inside undici with a TypeError that never names the Node version.
'use strict';

const { engines } = require('../package.json');

/** The major version `engines.node` (">=22") asks for. */
function minimumMajor(range = engines.node) {
  const match = /^>=\s*(\d+)/.exec(range);
  if (!match) throw new Error(`package.json engines.node must be ">=N", got "${range}"`);
  return Number(match[1]);
}

/** Why `version` (e.g. "v20.20.2") cannot run the project, or undefined when it can. */
function nodeProblem(version = process.version, minimum = minimumMajor(), execPath = process.execPath) {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
  if (major >= minimum) return undefined;
  return [
    `Spokefleet needs Node.js ${minimum} or newer; this is Node.js ${version} (${execPath}).`,
    `Get Node.js ${minimum}: \`nvm install\` or \`fnm use --install-if-missing\` (both read .nvmrc), or without root:`,
    `  npm install --prefix .tools --no-save "node-$(node -p 'process.platform+"-"+process.arch')@${minimum}"`,
    `  export PATH="$PWD/.tools/node_modules/.bin:$PATH"`,
    `(README.md, "Node.js ${minimum}", has the details.)`,
  ].join('\n');
}

const problem = nodeProblem();
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

module.exports = { minimumMajor, nodeProblem };
