#!/usr/bin/env node
// The `spokefleet` command: loads the bundle `npm run build` writes (dist/cli.js, all dependencies inside).

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(bundle)) {
  process.stderr.write(`spokefleet: ${bundle} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
require(bundle);
