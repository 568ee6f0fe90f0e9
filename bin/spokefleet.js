#!/usr/bin/env node
// The `spokefleet` command: loads the bundle `npm run build` writes (dist/cli.js, all dependencies inside).

const { existsSync } = require('node:fs');
const { join } = require('node:path');

// The bundled client libraries need Node.js 22 (undici's zstd decoder, client-node 2); under 20 they fail to
// load with an unhelpful TypeError, so say it plainly instead (and exit 1).
require('../scripts/require-node.cjs');
const bundle = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(bundle)) {
  process.stderr.write(`spokefleet: ${bundle} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
// V8's compile cache (Node 22.1+, in the OS temp dir) roughly halves the start-up of the 15 MB bundle.
require('node:module').enableCompileCache?.();
require(bundle);
