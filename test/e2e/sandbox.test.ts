/**
 * `npm run sandbox` as another terminal sees it: the files appear only once the seed clusters are onboarded, the
 * kubeconfig keeps the user's current context when clusters come and go, `npm run sandbox:create` adds a
 * cluster, the terminal streams the functions' action records, and stopping removes the files.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from '../../sandbox/functions';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import { until } from '../../sandbox/scenario';

const TSX = ['--import', 'tsx'];

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('e2e: npm run sandbox, from another terminal', function () {
  this.timeout(120_000);
  let dir: string;
  let child: ChildProcess | undefined;
  let output = '';
  // Exit mode: the sandbox process dies on the first call off loopback, as it does for a user.
  const env = () => ({ ...process.env, SPOKEFLEET_SANDBOX_DIR: dir, SPOKEFLEET_LOOPBACK_GUARD: 'exit' });
  const file = (name: string) => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-sandbox-'));
  });
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help prints the usage and exits 0; an unknown option exits 2', async () => {
    const help = await run([...TSX, 'sandbox/main.ts', '--help'], env());
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: npm run sandbox -- \[options\]/);
    assert.match(help.stdout, /--pubsub/);
    assert.match(help.stdout, /\nExamples:\n/);
    const bad = await run([...TSX, 'sandbox/main.ts', '--bogus'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option --bogus/);
    const create = await run([...TSX, 'sandbox/create.ts', '--help'], env());
    assert.equal(create.code, 0);
    assert.match(create.stdout, /^Usage: npm run sandbox:create -- NAME --network NETWORK/);
  });

  it('writes its files only once the seed clusters are onboarded, and streams the action records', async () => {
    // A stale file from a sandbox killed earlier: removed at start, not mistaken for this one.
    writeFileSync(file('endpoints.json'), '{"stale": true}');
    child = spawn(process.execPath, [...TSX, 'sandbox/main.ts'], { cwd: ROOT, env: env() });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until(
      () =>
        !existsSync(file('endpoints.json')) ||
        !readFileSync(file('endpoints.json'), 'utf8').includes('stale'),
      'stale file gone',
      30_000,
    );
    await until(() => existsSync(file('endpoints.json')), 'endpoints.json', 60_000);
    // The moment the file is there, the seed spoke clusters already have their namespace.
    const endpoints = JSON.parse(readFileSync(file('endpoints.json'), 'utf8'));
    const state = (await (await fetch(endpoints.state)).json()) as {
      kubernetes: Record<string, { namespaces: string[] }>;
    };
    for (const name of ['gke-us-east4-cluster-1', 'gke-us-east4-cluster-2']) {
      assert.ok(
        state.kubernetes[`spokefleet-demo/us-east4/${name}`]?.namespaces.includes('mcs-common'),
        `${name} onboarded before endpoints.json appeared`,
      );
    }
    const kubeconfig = YAML.parse(readFileSync(file('kubeconfig'), 'utf8'));
    assert.deepEqual(kubeconfig.contexts.map((c: { name: string }) => c.name).sort(), [
      'gke-us-east4-cluster-1',
      'gke-us-east4-cluster-2',
      'gke-us-east4-shared',
    ]);
    await until(() => /sandbox ready in \d+ ms/.test(output), 'the ready line');
    // The records are streamed as the functions' logs reach the sandbox, which may be just after the ready line.
    const namespaceRecord =
      /^namespaces\s+spokefleet-demo\/us-east4\/gke-us-east4-cluster-1\/mcs-common\s+created\s+namespace mcs-common$/m;
    await until(() => namespaceRecord.test(output), 'the namespace record streamed', 10_000);
    assert.doesNotMatch(
      output,
      /^mcs-feature\s+\S+\s+failed/m,
      'the seed clusters onboard without a failed step',
    );
  });

  it('sandbox:create adds a cluster; the rewritten kubeconfig keeps the current context', async () => {
    const kubeconfig = YAML.parse(readFileSync(file('kubeconfig'), 'utf8'));
    kubeconfig['current-context'] = 'gke-us-east4-cluster-2';
    writeFileSync(file('kubeconfig'), YAML.stringify(kubeconfig));
    const created = await run(
      [
        ...TSX,
        'sandbox/create.ts',
        'sb-made',
        '--network',
        'gcp-spoke100-us-east4',
        '--no-workload-identity',
      ],
      env(),
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /projects\/spokefleet-demo\/locations\/us-east4\/clusters\/sb-made RUNNING/);
    await until(
      () => readFileSync(file('kubeconfig'), 'utf8').includes('name: sb-made'),
      'the new context',
      10_000,
    );
    const rewritten = YAML.parse(readFileSync(file('kubeconfig'), 'utf8'));
    assert.equal(rewritten['current-context'], 'gke-us-east4-cluster-2');
    // Created without a workload pool: the functions turn it on.
    await until(
      () => /^workload-identity\s+spokefleet-demo\/us-east4\/sb-made\s+updated/m.test(output),
      'onboarding records',
      20_000,
    );
  });

  it('stopping removes both files', async () => {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child?.kill('SIGINT');
    await exited;
    assert.equal(existsSync(file('endpoints.json')), false);
    assert.equal(existsSync(file('kubeconfig')), false);
    const missing = await run(
      [...TSX, 'sandbox/create.ts', 'late', '--network', 'gcp-spoke100-us-east4'],
      env(),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no sandbox is running/);
  });

  it('--pubsub: ready under the loopback guard (no metadata-server lookup), then stopped cleanly', async function () {
    if (!emulatorAvailable()) this.skip();
    let log = '';
    const pubsub = spawn(process.execPath, [...TSX, 'sandbox/main.ts', '--pubsub'], {
      cwd: ROOT,
      env: env(),
    });
    pubsub.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    pubsub.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => pubsub.once('exit', resolve));
    await until(
      () => /sandbox ready in/.test(log) || pubsub.exitCode !== null,
      'the --pubsub sandbox',
      90_000,
    );
    assert.equal(pubsub.exitCode, null, log);
    assert.doesNotMatch(log, /MetadataLookupWarning|loopback guard/);
    pubsub.kill('SIGINT');
    assert.equal(await exited, 0, log);
    assert.equal(existsSync(file('endpoints.json')), false);
  });
});
