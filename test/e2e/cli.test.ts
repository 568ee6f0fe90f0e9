/**
 * The `spokefleet` command end to end: the REAL built binary (node bin/spokefleet.js → dist/cli.js) as a
 * subprocess, against a sandbox started in this process (the stand-ins and both functions under
 * functions-framework), described by an endpoints.json like the one `npm run sandbox` writes.
 *
 * Subprocesses are started with the async execFile only: the stand-ins answer from this process's event loop,
 * so a blocking spawn would deadlock them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../sandbox/functions';
import {
  DEMO_PROJECT,
  RECONCILE_TOPIC,
  type Sandbox,
  sandboxEndpoints,
  startSandbox,
} from '../../sandbox/harness';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  NON_SPOKE_CLUSTER,
  SEED_CLUSTERS,
  until,
} from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { type Counters, writesSince } from './helpers';

const BIN = join(ROOT, 'bin/spokefleet.js');
const P = DEMO_PROJECT.id;
const refString = (r: ClusterRef) => `${r.project}/${r.location}/${r.name}`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** endpoints.json for a sandbox, as sandbox/main.ts writes .sandbox/endpoints.json. */
function writeEndpoints(sandbox: Sandbox, file: string): void {
  writeFileSync(file, JSON.stringify(sandboxEndpoints(sandbox), null, 2));
}

const cliEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  // The loopback guard (test/setup.ts): the CLI exits 1 on any call off this machine.
  NODE_OPTIONS: process.env.NODE_OPTIONS,
});

async function ensureBuilt(): Promise<void> {
  if (existsSync(join(ROOT, 'dist/cli.js')) && existsSync(join(ROOT, 'dist/index.js'))) return;
  const build = await run(process.execPath, [join(ROOT, 'scripts/build.mjs')], ROOT, process.env);
  assert.equal(build.code, 0, build.stderr);
}

describe('e2e: the spokefleet command (built binary) against the sandbox', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let dir: string;
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], dir, cliEnv());
  const kube = (r: ClusterRef) => sandbox.cloud.kube(r).api.store;
  const counters = (): Counters => sandbox.cloud.faults.counters();

  before(async () => {
    await ensureBuilt();
    // A short retry budget keeps the transient-failure test fast.
    sandbox = await startSandbox({ config: { retryBudgetMs: 300 } });
    await Promise.all(SEED_CLUSTERS.map(({ ref, spec }) => createCluster(sandbox, ref, spec)));
    await sandbox.settle();
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-cli-e2e-'));
    writeEndpoints(sandbox, join(dir, 'endpoints.json'));
    // --sandbox without a file reads .sandbox/endpoints.json under the working directory.
    writeFileSync(join(dir, 'config.json'), JSON.stringify(sandbox.config, null, 2));
  });

  after(async () => {
    sandbox?.cloud.faults.clearRules();
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status: one row per seed cluster in 120 columns, exit 0, nothing written', async () => {
    const before = counters();
    const result = await cli('status', '--sandbox', 'endpoints.json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'quiet when stderr is not a terminal');
    const lines = result.stdout.trim().split('\n');
    assert.match(
      lines[0],
      /^NAME\s+LOCATION\s+SPOKE\s+WI\s+FLEET\s+PEERING\s+NS\s+EXPORTS\s+DRIFT\s+PROBLEMS$/,
    );
    const table = lines.slice(0, lines.indexOf(''));
    assert.equal(table.length, 4);
    assert.ok(
      table.every((l) => l.length <= 120),
      `wider than 120 columns:\n${result.stdout}`,
    );
    const row = (r: ClusterRef) => lines.find((l) => l.startsWith(`${r.name} `))?.split(/\s+/);
    // Private Service Connect: no peering.
    assert.deepEqual(row(CLUSTER_1), [
      CLUSTER_1.name,
      'us-east4',
      'yes',
      'on',
      'yes',
      'n/a',
      '1/1',
      '0',
      '0',
      '0',
    ]);
    assert.deepEqual(row(CLUSTER_2), [
      CLUSTER_2.name,
      'us-east4',
      'yes',
      'on',
      'yes',
      'yes',
      '1/1',
      '0',
      '0',
      '0',
    ]);
    assert.deepEqual(row(NON_SPOKE_CLUSTER), [
      NON_SPOKE_CLUSTER.name,
      'us-east4',
      'no',
      '-',
      '-',
      '-',
      '-',
      '-',
      '0',
      '0',
    ]);
    assert.match(
      lines.at(-1) ?? '',
      /^fleet: 3 cluster\(s\), 2 in spokes, 0 problem\(s\); fleet spokefleet-demo: MCS feature enabled/,
    );
    assert.deepEqual(writesSince(sandbox, before), {});

    const wide = await cli('status', '--sandbox', 'endpoints.json', '-o', 'wide');
    assert.equal(wide.code, 0, wide.stderr);
    assert.match(
      wide.stdout,
      new RegExp(
        `^${P}\\s+us-east4\\s+${CLUSTER_1.name}\\s+yes\\s+yes\\s+on\\s+global/${CLUSTER_1.name}\\s+n/a\\s+-\\s+mcs-common\\s+0\\s+0$`,
        'm',
      ),
    );
    assert.match(
      wide.stdout,
      new RegExp(
        `^${P}\\s+us-east4\\s+${NON_SPOKE_CLUSTER.name}\\s+no\\s.*\\(network .*not .*spoke.*\\)$`,
        'm',
      ),
    );
  });

  it('status --json parses with real booleans, and --project narrows it', async () => {
    const result = await cli('status', '--sandbox', 'endpoints.json', '--json', '--project', P);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout);
    assert.deepEqual(
      status.clusters.map((c: { cluster: string; spoke: boolean; member: boolean | null }) => [
        c.cluster,
        c.spoke,
        c.member,
      ]),
      [
        [refString(CLUSTER_1), true, true],
        [refString(CLUSTER_2), true, true],
        [refString(NON_SPOKE_CLUSTER), false, null],
      ],
    );
    assert.equal(status.clusters[1].peeringExport, true);
    assert.equal(status.clusters[0].peeringApplies, false);
  });

  it('a stopped sandbox: one plain sentence, exit 1, never "delivered"', async () => {
    // An endpoints file whose addresses nothing listens on: a sandbox that was killed before it cleaned up.
    const { createServer } = await import('node:net');
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const dead = JSON.parse(
      JSON.stringify(sandboxEndpoints(sandbox)).replace(/127\.0\.0\.1:\d+/g, `127.0.0.1:${closedPort}`),
    );
    writeFileSync(join(dir, 'dead.json'), JSON.stringify(dead));
    for (const args of [
      ['status', '--sandbox', 'dead.json'],
      ['plan', '--fleet', '--sandbox', 'dead.json'],
      ['reconcile', '--fleet', '--sandbox', 'dead.json'],
    ]) {
      const result = await cli(...args);
      assert.equal(result.code, 1, args.join(' '));
      assert.equal(result.stdout, '', `${args.join(' ')} printed ${result.stdout}`);
      assert.match(
        result.stderr,
        /^error: the sandbox of .*dead\.json is not running — start it with `npm run sandbox`/,
      );
      assert.doesNotMatch(result.stderr, /UNAVAILABLE|ECONNREFUSED|delivered/);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  it('every command has Examples in its help', async () => {
    for (const args of [[], ['reconcile'], ['plan'], ['status'], ['config'], ['config', 'validate']]) {
      const result = await cli(...args, '--help');
      assert.equal(result.code, 0, `${args.join(' ')} --help`);
      assert.match(result.stdout, /\nExamples:\n {2}# .+\n {2}\$ spokefleet /, `${args.join(' ')} --help`);
    }
  });

  it('plan --fleet after a managed namespace is deleted behind Spokefleet: the create is planned, nothing written', async () => {
    // Straight in the store: no audit entry, nothing reacts.
    kube(CLUSTER_2).delete('namespaces', undefined, 'mcs-common');
    const before = counters();
    const result = await cli('plan', '--fleet', '--sandbox', 'endpoints.json');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `namespaces\\s+${refString(CLUSTER_2)}/mcs-common\\s+planned\\s+would be created: namespace mcs-common`,
      ),
    );
    // Changes only, like terraform plan: the unchanged rows are counted, not listed.
    assert.doesNotMatch(
      result.stdout,
      new RegExp(`namespaces\\s+${refString(CLUSTER_1)}/mcs-common\\s+unchanged`),
    );
    assert.match(
      result.stdout,
      /plan for fleet: 3 cluster\(s\), 1 planned change\(s\) .* nothing was written; \d+ unchanged or skipped row\(s\) not shown \(--all shows them\)\n$/,
    );
    const all = await cli('plan', '--fleet', '--sandbox', 'endpoints.json', '--all');
    assert.match(all.stdout, new RegExp(`namespaces\\s+${refString(CLUSTER_1)}/mcs-common\\s+unchanged`));
    assert.equal((all.stdout.match(/^mcs-feature\s/gm) ?? []).length, 1, all.stdout);
    assert.deepEqual(writesSince(sandbox, before), {});
    assert.equal(kube(CLUSTER_2).get('namespaces', undefined, 'mcs-common'), undefined);
  });

  it('plan --json parses: the same plan as records', async () => {
    const before = counters();
    const result = await cli(
      'plan',
      '--cluster',
      refString(CLUSTER_2),
      '--sandbox',
      'endpoints.json',
      '--json',
    );
    assert.equal(result.code, 0, result.stderr);
    const plan = JSON.parse(result.stdout);
    assert.equal(plan.clusters, 1);
    assert.ok(plan.records.every((r: { dryRun: boolean }) => r.dryRun === true));
    assert.deepEqual(
      plan.records
        .filter((r: { outcome: string }) => r.outcome === 'planned')
        .map((r: { target: string }) => r.target),
      [`${refString(CLUSTER_2)}/mcs-common`],
    );
    assert.deepEqual(writesSince(sandbox, before), {});
  });

  it('reconcile --fleet --wait: fans out over direct delivery, follows every cluster to its end, repairs the namespace', async () => {
    const before = counters();
    const result = await cli(
      'reconcile',
      '--fleet',
      '--sandbox',
      'endpoints.json',
      '--request-id',
      'e2e-cli-1',
      '--wait',
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [delivered, followed] = result.stdout.trim().split('\n');
    assert.match(
      delivered,
      /^delivered fleet request e2e-cli-1 to onReconcileRequest: HTTP 204 in .*; message id \d+ \(synthetic, direct delivery\)$/,
    );
    assert.match(
      followed,
      /^request e2e-cli-1 \(fleet\): fanned out to 3 cluster\(s\), 3 done; finished in .* — .*created 2.*; 0 with problems$/,
    );
    // --wait returned only once the repair was done.
    const ns = kube(CLUSTER_2).get('namespaces', undefined, 'mcs-common');
    assert.equal(ns?.metadata.labels?.['app.kubernetes.io/managed-by'], 'spokefleet');
    // The write counters do see writes: the repair, and the one Publish call that fanned the request out.
    assert.deepEqual(writesSince(sandbox, before), {
      'kube.namespaces.create': 1,
      'pubsub.topics.publish': 1,
    });
    const summary = sandbox.reconcile.logs.find(
      (l) => l.stage === 'fanned-out' && l.requestId === 'e2e-cli-1',
    );
    assert.equal(summary?.clusters, 3);
    assert.equal(summary?.dryRun, false);
    const perCluster = sandbox.reconcile.logs.filter(
      (l) => l.stage === 'done' && l.requestId === 'e2e-cli-1',
    );
    assert.equal(perCluster.length, 3);
    assert.ok(perCluster.every((l) => l.scope === 'cluster'));
  });

  it('reconcile --dry-run --json: the function plans only', async () => {
    kube(CLUSTER_1).delete('namespaces', undefined, 'mcs-common');
    const before = counters();
    const result = await cli(
      'reconcile',
      '--cluster',
      refString(CLUSTER_1),
      '--dry-run',
      '--sandbox',
      'endpoints.json',
      '--json',
      '--request-id',
      'e2e-cli-dry',
    );
    assert.equal(result.code, 0, result.stderr);
    const sent = JSON.parse(result.stdout);
    assert.equal(sent.via, 'direct');
    assert.equal(sent.httpStatus, 204);
    assert.deepEqual(sent.request, {
      scope: 'cluster',
      project: P,
      location: CLUSTER_1.location,
      cluster: CLUSTER_1.name,
      dryRun: true,
      requestId: 'e2e-cli-dry',
    });
    assert.deepEqual(writesSince(sandbox, before), {});
    const summary = sandbox.reconcile.logs.find(
      (l) => l.requestId === 'e2e-cli-dry' && l.message === 'reconcile request done',
    );
    assert.equal(summary?.dryRun, true);
    // Put it back for the tests below.
    const repaired = await cli('reconcile', '--cluster', refString(CLUSTER_1), '--sandbox', 'endpoints.json');
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.ok(kube(CLUSTER_1).get('namespaces', undefined, 'mcs-common'));
  });

  it('config validate: a good file exits 0; a bad one exits 1 listing every problem', async () => {
    const good = await cli('config', 'validate', 'config.json');
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, `${join(dir, 'config.json')}: valid\n`);

    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        fleetProject: 'Fleet',
        projects: [],
        spokes: [{ network: 'gcp-spoke100', networkPattern: 'x' }],
        workloadIdentity: 'sometimes',
        concurrency: 0,
        endpoints: { container: 'container.googleapis.com:443' },
        extra: true,
      }),
    );
    const bad = await cli('config', 'validate', 'bad.json');
    assert.equal(bad.code, 1);
    const lines = bad.stdout.trim().split('\n');
    assert.match(lines[0], /bad\.json: \d+ problems$/);
    const problems = lines.slice(1).map((l) => l.replace(/^ {2}- /, ''));
    assert.equal(problems.length, Number(/: (\d+) problems$/.exec(lines[0])?.[1]));
    for (const path of [
      'fleetProject',
      'projects',
      'spokes.0',
      'workloadIdentity.policy',
      'concurrency',
      'endpoints.container',
      '(root)',
    ]) {
      assert.ok(
        problems.some((p) => p.startsWith(`${path}:`)),
        `a problem for ${path} in:\n${bad.stdout}`,
      );
    }

    writeFileSync(join(dir, 'broken.json'), '{"fleetProject": ');
    const broken = await cli('config', 'validate', 'broken.json');
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /broken\.json: 1 problem\n {2}- .*JSON/);

    const sandboxConfig = await cli('config', 'validate', '--sandbox', 'endpoints.json', '--json');
    assert.equal(sandboxConfig.code, 0);
    assert.deepEqual(JSON.parse(sandboxConfig.stdout).problems, []);
  });

  it('usage errors exit 2 with a message on stderr', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['plan', '--sandbox', 'endpoints.json'], /give a scope/],
      [
        ['plan', '--cluster', 'spokefleet-demo/gke-1', '--sandbox', 'endpoints.json'],
        /--cluster must be PROJECT\/LOCATION\/CLUSTER/,
      ],
      [['plan', '--fleet', '--project', P], /cannot be used together/],
      [['reconcile', '--fleet'], /--topic projects\/PROJECT\/topics\/TOPIC is required/],
      [['reconcile', '--fleet', '--topic', 'spokefleet-reconcile'], /needs a project: add --project PROJECT/],
      [['plan', '--fleet'], /no config: pass --config FILE, set SPOKEFLEET_CONFIG, or use --sandbox/],
      [['nonsense'], /unknown command 'nonsense'/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      assert.equal(results[i].code, 2, `${args.join(' ')}: ${results[i].stderr}`);
      assert.match(results[i].stderr, message);
      assert.equal(results[i].stdout, '');
    }
  });

  it('a fleet plan reads at most `concurrency` clusters at once (GetCluster in flight)', async () => {
    const extra = Array.from({ length: 6 }, (_, i) => ({
      project: P,
      location: 'us-east4',
      name: `cli-conc-${i + 1}`,
    }));
    await Promise.all(extra.map((ref) => createCluster(sandbox, ref, SEED_CLUSTERS[0].spec)));
    await sandbox.settle();
    await until(
      () => extra.every((r) => kube(r).get('namespaces', undefined, 'mcs-common') !== undefined),
      'the new clusters onboarded',
    );
    writeFileSync(join(dir, 'concurrency-2.json'), JSON.stringify({ ...sandbox.config, concurrency: 2 }));
    writeFileSync(join(dir, 'concurrency-6.json'), JSON.stringify({ ...sandbox.config, concurrency: 6 }));
    // Slow GetCluster down so clusters overlap whenever the bound allows it.
    sandbox.cloud.faults.setRule('container.GetCluster', { latencyMs: 150 });
    try {
      const inFlight = async (config: string) => {
        sandbox.cloud.faults.resetCounters();
        const result = await cli(
          'plan',
          '--fleet',
          '--config',
          config,
          '--sandbox',
          'endpoints.json',
          '--json',
        );
        assert.equal(result.code, 0, result.stderr);
        assert.equal(JSON.parse(result.stdout).clusters, 9);
        const getCluster = counters()['container.GetCluster'];
        assert.equal(getCluster.calls, 9);
        return getCluster.maxInFlight;
      };
      assert.equal(await inFlight('concurrency-2.json'), 2);
      // The same observable moves with the setting, so the assertion above can fail.
      assert.ok((await inFlight('concurrency-6.json')) > 2);
    } finally {
      sandbox.cloud.faults.clearRules();
    }
  });

  it('partial failure: one cluster cannot converge, the others still do; --wait names it and exits 1', async () => {
    // Behind Spokefleet's back: cluster-1 loses its membership, and the Hub cannot create one right now; the
    // other clusters drift too (their seeded namespace is deleted).
    const link = `//container.googleapis.com/projects/${P}/locations/us-east4/clusters/${CLUSTER_1.name}`;
    const membership = sandbox.cloud.hub.store
      .list()
      .memberships.find((m) => m.endpoint?.gkeCluster?.resourceLink === link);
    assert.ok(membership);
    sandbox.cloud.hub.store.deleteMembership(membership.name);
    const others = [CLUSTER_2, { project: P, location: 'us-east4', name: 'cli-conc-1' }];
    for (const r of others) kube(r).delete('namespaces', undefined, 'mcs-common');
    sandbox.cloud.faults.setRule('gkehub.memberships.create', { errorRate: 1, faults: ['unavailable'] });
    try {
      const result = await cli(
        'reconcile',
        '--fleet',
        '--sandbox',
        'endpoints.json',
        '--request-id',
        'e2e-cli-partial',
        '--wait',
        '--wait-timeout',
        '5',
      );
      assert.equal(result.code, 1, result.stdout + result.stderr);
      // The fleet request itself fanned out fine; cluster-1's own request keeps failing and being redelivered.
      assert.match(result.stdout, /HTTP 204/);
      assert.match(result.stdout, /fanned out to 9 cluster\(s\), 8 done; NOT finished after/);
      assert.match(
        result.stdout,
        new RegExp(`still pending \\(not answered, or to be redelivered\\): ${refString(CLUSTER_1)}\n`),
      );
      assert.match(
        result.stdout,
        new RegExp(
          `membership\\s+${refString(CLUSTER_1)}\\s+failed\\s+503 The service is currently unavailable`,
        ),
      );
      for (const r of others)
        assert.ok(kube(r).get('namespaces', undefined, 'mcs-common'), `${r.name} repaired`);
      const summary = sandbox.reconcile.logs.find(
        (l) => l.stage === 'fanned-out' && l.requestId === 'e2e-cli-partial',
      );
      assert.equal(summary?.clusters, 9);
      const failing = sandbox.reconcile.logs.filter(
        (l) => l.stage === 'done' && l.requestId === 'e2e-cli-partial' && l.target === refString(CLUSTER_1),
      );
      assert.ok(failing.length >= 2, 'redelivered at least once');
      assert.ok(failing.every((l) => l.willRetry === true));

      // Without --wait, the direct delivery's failed answer names the failing step.
      const once = await cli('reconcile', '--cluster', refString(CLUSTER_1), '--sandbox', 'endpoints.json');
      assert.equal(once.code, 1, once.stdout + once.stderr);
      assert.match(once.stdout, /^delivered cluster .*: HTTP 5\d\d \(a step failed transiently/);
      assert.match(once.stdout, /\nanswer: .*failed 1/);
      assert.match(
        once.stdout,
        new RegExp(
          `failing step\\(s\\):\nSTEP\\s+TARGET\\s+OUTCOME\\s+REASON\nmembership\\s+${refString(CLUSTER_1)}\\s+failed\\s+503`,
        ),
      );

      const plan = await cli(
        'status',
        '--cluster',
        refString(CLUSTER_1),
        '--sandbox',
        'endpoints.json',
        '--json',
      );
      assert.equal(plan.code, 0, plan.stderr);
      assert.equal(JSON.parse(plan.stdout).clusters[0].member, false);
    } finally {
      sandbox.cloud.faults.clearRules();
    }
    const healed = await cli('reconcile', '--cluster', refString(CLUSTER_1), '--sandbox', 'endpoints.json');
    assert.equal(healed.code, 0, healed.stdout + healed.stderr);
    // Direct delivery waits for the function: its counts per outcome are printed.
    assert.match(healed.stdout, /\nanswer: .*created 1.*\n$/);
    const status = await cli('status', '--sandbox', 'endpoints.json', '--json');
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout).clusters as Array<{
      cluster: string;
      membership: string;
      drift: number;
    }>;
    assert.equal(rows.length, 9);
    assert.equal(rows.find((r) => r.cluster === refString(CLUSTER_1))?.membership, membership.name);
    assert.deepEqual(
      rows.filter((r) => r.drift > 0),
      [],
    );
  });

  it('status exits 1 when a cluster has a problem', async () => {
    // A cluster the policy refuses: routes-based (not VPC-native) in a spoke.
    const routes = { project: P, location: 'us-east4', name: 'cli-routes' };
    await createCluster(sandbox, routes, {
      ...SEED_CLUSTERS[0].spec,
      ipAllocationPolicy: { useIpAliases: false },
    });
    await sandbox.settle();
    const result = await cli('status', '--cluster', refString(routes), '--sandbox', 'endpoints.json');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^cli-routes\s+us-east4\s+yes\s+-\s+-\s+-\s+-\s+0\s+0\s+1$/m);
    assert.match(result.stdout, /\nproblems are listed with -o wide\n$/);
    const wide = await cli(
      'status',
      '--cluster',
      refString(routes),
      '--sandbox',
      'endpoints.json',
      '-o',
      'wide',
    );
    assert.equal(wide.code, 1, wide.stderr);
    assert.match(wide.stdout, /cli-routes\s+yes\s+no\s+.*vpc-native: cluster is routes-based/);
  });
});

describe('e2e: spokefleet reconcile --sandbox through the Pub/Sub emulator', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let dir: string;

  before(async function () {
    if (!emulatorAvailable()) this.skip();
    await ensureBuilt();
    sandbox = await startSandbox({ delivery: 'pubsub' });
    await Promise.all(SEED_CLUSTERS.slice(0, 2).map(({ ref, spec }) => createCluster(sandbox, ref, spec)));
    await sandbox.settle();
    await until(
      () =>
        sandbox.cloud.kubes.size === 2 &&
        [CLUSTER_1, CLUSTER_2].every((r) =>
          sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common'),
        ),
      'seed clusters onboarded through the emulator',
      30_000,
    );
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-cli-e2e-pubsub-'));
    writeEndpoints(sandbox, join(dir, 'endpoints.json'));
  });
  after(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the request to the emulator topic with @google-cloud/pubsub; the pushed function repairs drift', async () => {
    const store = sandbox.cloud.kube(CLUSTER_2).api.store;
    store.delete('namespaces', undefined, 'mcs-common');
    const result = await run(
      process.execPath,
      [
        BIN,
        'reconcile',
        '--fleet',
        '--sandbox',
        'endpoints.json',
        '--request-id',
        'e2e-cli-emulator',
        '--wait',
      ],
      dir,
      cliEnv(),
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const [published, followed] = result.stdout.trim().split('\n');
    assert.match(
      published,
      new RegExp(
        `^published fleet request e2e-cli-emulator to projects/${P}/topics/${RECONCILE_TOPIC} \\(emulator\\): message id \\d+$`,
      ),
    );
    assert.match(
      followed,
      /^request e2e-cli-emulator \(fleet\): fanned out to 2 cluster\(s\), 2 done; finished in/,
    );
    // --wait came back after the repair, not before.
    assert.ok(store.get('namespaces', undefined, 'mcs-common'));
  });
});
