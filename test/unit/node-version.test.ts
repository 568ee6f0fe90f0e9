/**
 * Node.js 22 or newer, said plainly: package.json's engines, .nvmrc and .node-version agree; npm refuses to
 * install on an older Node (engine-strict); and every entry point — the CLI launcher, the demo, the sandbox and
 * the test setup, sandbox:create, the build — stops at once under an older Node with a message naming the version needed, instead of
 * failing later inside a client library.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { minimumMajor, nodeProblem } from '../../scripts/require-node.cjs';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** A Node.js older than the project needs, if the machine has one (CI's system Node is one). */
function olderNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.split('.')[0]) < minimumMajor()) return candidate;
  }
  return undefined;
}

describe('Node.js version', () => {
  it('package.json engines, .nvmrc and .node-version name the same major; npm is engine-strict', () => {
    const major = minimumMajor();
    assert.ok(major >= 22);
    assert.equal(read('.nvmrc').trim(), String(major));
    assert.equal(read('.node-version').trim(), String(major));
    assert.match(read('.npmrc'), /^engine-strict=true$/m);
  });

  it('an older Node gets a message naming the version needed and how to get it; 22 and later pass', () => {
    const problem = nodeProblem('v20.20.2', 22, '/usr/bin/node');
    assert.ok(problem);
    assert.match(
      problem,
      /^Spokefleet needs Node.js 22 or newer; this is Node.js v20.20.2 \(\/usr\/bin\/node\)\./,
    );
    assert.match(problem, /npm install --prefix \.tools .*@22/);
    assert.match(problem, /export PATH="\$PWD\/\.tools\/node_modules\/\.bin:\$PATH"/);
    for (const ok of ['v22.0.0', 'v22.23.5', 'v24.1.0']) assert.equal(nodeProblem(ok, 22), undefined, ok);
    assert.throws(() => minimumMajor('^22'), /must be ">=N"/);
  });

  it('the README block and the message give the same commands; nvm, fnm, Volta and macOS are named', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('### Node.js 22'), readme.indexOf('## How it works'));
    const problem = nodeProblem('v20.0.0', minimumMajor(), '/usr/bin/node') ?? '';
    const commands = problem.split('\n').filter((l) => /^ {2}(npm|export) /.test(l));
    assert.equal(commands.length, 2);
    for (const command of commands)
      assert.ok(section.includes(command.trim()), `README lacks: ${command.trim()}`);
    for (const name of ['nvm', 'fnm', 'Volta', 'macOS', '.nvmrc']) assert.ok(section.includes(name), name);
  });

  describe('every entry point fails fast under an older Node', function () {
    this.timeout(30_000);
    const node = olderNode();
    const entries: Array<[string, string[]]> = [
      ['bin/spokefleet.js (the CLI)', ['bin/spokefleet.js', '--help']],
      ['sandbox/demo.ts (npm start)', ['node_modules/tsx/dist/cli.mjs', 'sandbox/demo.ts']],
      ['sandbox/main.ts (npm run sandbox)', ['node_modules/tsx/dist/cli.mjs', 'sandbox/main.ts', '--help']],
      ['test/setup.ts (npm test)', ['node_modules/mocha/bin/mocha.js', 'test/unit/errors.test.ts']],
      [
        'sandbox/create.ts (npm run sandbox:create)',
        ['node_modules/tsx/dist/cli.mjs', 'sandbox/create.ts', '--help'],
      ],
      ['scripts/build.mjs (npm run build, first step of npm start)', ['scripts/build.mjs']],
    ];
    for (const [what, args] of entries) {
      it(what, function () {
        if (!node) this.skip(); // no older Node on this machine
        const started = Date.now();
        const result = spawnSync(node!, args, { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.match(result.stderr, /Spokefleet needs Node\.js 22 or newer; this is Node\.js v\d+/);
        assert.doesNotMatch(result.stderr, /TypeError/);
        assert.ok(Date.now() - started < 15_000);
      });
    }
  });
});
