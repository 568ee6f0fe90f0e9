/**
 * The README's and the docs' shell blocks marked runnable (a ```sh runnable fence) run, as a user would run them,
 * against a fresh `npm run sandbox`: each file's blocks in order as one shell session (variables carry over), in a
 * scratch directory holding the sandbox's `.sandbox/` files, with `spokefleet` on PATH as `npm link` would put it.
 * Any failing command fails the test; the sandbox, its functions and the CLI run under the loopback guard.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../../sandbox/functions';
import { until } from '../../sandbox/scenario';

const RUNNABLE = /^```sh runnable\n([\s\S]*?)^```$/gm;

/** The runnable blocks of a Markdown text, in order. */
function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(RUNNABLE)].map((m) => m[1]);
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, command)));
}

/** What a file's session must print, besides exiting 0: the outputs the prose around the blocks promises. */
const EXPECTED: Record<string, RegExp[]> = {
  'README.md': [/^mcs-common\s/m, /^api\s/m, /^service\/api unlabeled$/m],
  'docs/operate.md': [
    /^NAME\s+LOCATION\s+SPOKE\s+WI\s+FLEET/m,
    /^namespaces\s+spokefleet-demo\/us-east4\/gke-us-east4-cluster-2\/mcs-common\s+planned\s+would be created/m,
    /^\["spokefleet-demo\/us-east4\/gke-us-east4-cluster-2\/mcs-common"\]$/m,
    /^request drift-demo \(fleet\): fanned out to 3 cluster\(s\), 3 done; finished in .*created \d.*; 0 with problems$/m,
    /failing step\(s\):\nSTEP\s+TARGET\s+OUTCOME\s+REASON\nmembership\s+spokefleet-demo\/us-east4\/gke-us-east4-cluster-1\s+failed\s+503/,
    /^\[exit 1\]$/m,
    /^answer: .*created 1/m,
    /"concurency": did you mean "concurrency"\?/,
    /^\{"message":"reconcile request done","outcomes":\{"unchanged":\d+\}\}$/m,
  ],
};

const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

describe('e2e: the runnable shell blocks of the README and docs', function () {
  this.timeout(240_000);
  let dir: string;
  let sandbox: ChildProcess | undefined;
  let log = '';
  const guard = `--require=${join(ROOT, 'sandbox/loopback-guard.cjs')}`;

  before(async function () {
    if (!['kubectl', 'jq', 'curl', 'bash'].every(onPath)) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-docs-'));
    // `spokefleet` as `npm link` installs it: the built launcher.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(
      join(dir, 'bin/spokefleet'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/spokefleet.js')}" "$@"\n`,
    );
    chmodSync(join(dir, 'bin/spokefleet'), 0o755);
    sandbox = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SPOKEFLEET_SANDBOX_DIR: join(dir, '.sandbox'),
        SPOKEFLEET_LOOPBACK_GUARD: 'exit',
      },
    });
    for (const stream of [sandbox.stdout, sandbox.stderr])
      stream?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
      });
    await until(
      () => existsSync(join(dir, '.sandbox/endpoints.json')) || sandbox?.exitCode !== null,
      'the sandbox',
      90_000,
    );
    assert.equal(sandbox.exitCode, null, log);
  });

  after(async () => {
    if (sandbox && sandbox.exitCode === null) {
      const exited = new Promise((resolve) => sandbox?.once('exit', resolve));
      sandbox.kill('SIGINT');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the runnable blocks (a README with none would make this test pass vacuously)', () => {
    const counts = Object.fromEntries(
      FILES.map((f) => [f, runnableBlocks(readFileSync(join(ROOT, f), 'utf8')).length]),
    );
    assert.ok(counts['README.md'] >= 2, JSON.stringify(counts));
    assert.ok(counts['docs/operate.md'] >= 4, JSON.stringify(counts));
    assert.deepEqual(runnableBlocks('```sh runnable\necho a\n```\n```sh\necho b\n```\n'), ['echo a\n']);
  });

  for (const file of FILES) {
    const blocks = runnableBlocks(readFileSync(join(ROOT, file), 'utf8'));
    if (blocks.length === 0) continue;
    it(`${file}: ${blocks.length} block(s) run without an error`, async () => {
      const script = ['set -euo pipefail', ...blocks].join('\n');
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          'bash',
          ['-c', script],
          {
            cwd: dir,
            timeout: 180_000,
            maxBuffer: 16 * 1024 * 1024,
            env: {
              PATH: `${join(dir, 'bin')}:${dirname(process.execPath)}:${process.env.PATH}`,
              HOME: dir,
              NODE_OPTIONS: guard,
            },
          },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
        );
      });
      assert.equal(result.code, 0, `${file} failed:\n${result.stdout}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /loopback guard/);
      for (const pattern of EXPECTED[file] ?? []) assert.match(result.stdout, pattern, result.stdout);
    });
  }
});
