/**
 * The CLI's local engine (plan, status) on the in-memory fake cloud: read-only by construction, stdout carries
 * only the result, progress only on a terminal, config from the documented sources in the documented order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planCommand } from '../../cli/commands/plan';
import { statusCommand } from '../../cli/commands/status';
import { ProblemsError, readOnlyCloud, resolveConfig } from '../../cli/engine';
import type { Io } from '../../cli/io';
import { PermanentError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT } from '../fakes/context';
import { grpcError } from '../fakes/errors';

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const CONFIG = {
  fleetProject: FLEET,
  projects: [PROJECT],
  spokes: [{ network: 'gcp-spoke100-us-east4' }],
};

function io(options: { tty?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const stdout = new Capture();
  const stderr = new Capture(options.tty);
  const value: Io = {
    stdout,
    stderr,
    env: options.env ?? { SPOKEFLEET_CONFIG: JSON.stringify(CONFIG) },
    cwd: options.cwd ?? '/',
  };
  return { io: value, stdout, stderr };
}

const ref = (name: string): ClusterRef => ({ project: PROJECT, location: 'us-east4', name });

/** Three new spoke clusters: everything a reconcile would do is planned. */
function fleetOfNew(): FakeCloud {
  const cloud = new FakeCloud();
  for (const name of ['gke-a', 'gke-b', 'gke-c']) cloud.addCluster(clusterInfo(ref(name)));
  return cloud;
}

describe('cli engine: plan and status on the fake cloud', () => {
  it('plan --json: stdout is one JSON document, stderr is empty, nothing is written', async () => {
    const cloud = fleetOfNew();
    const { io: cli, stdout, stderr } = io();
    const code = await planCommand({ request: { scope: 'fleet' }, json: true, cloud }, cli);
    assert.equal(code, 0);
    assert.equal(stderr.text, '');
    const plan = JSON.parse(stdout.text);
    assert.equal(plan.clusters, 3);
    assert.deepEqual(
      plan.records
        .filter((r: { outcome: string }) => r.outcome === 'planned')
        .map((r: { step: string }) => r.step),
      // The fleet-wide feature once, not once per cluster.
      [
        'workload-identity',
        'membership',
        'mcs-feature',
        'workload-identity',
        'membership',
        'workload-identity',
        'membership',
      ],
    );
    assert.ok(plan.records.every((r: { dryRun: boolean }) => r.dryRun));
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('--verbose: the engine log lines go to stderr, stdout still parses', async () => {
    const { io: cli, stdout, stderr } = io();
    await planCommand({ request: { scope: 'fleet' }, json: true, verbose: true, cloud: fleetOfNew() }, cli);
    JSON.parse(stdout.text);
    const lines = stderr.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.message === 'reconcile request done' && l.clusters === 3));
    assert.ok(lines.some((l) => l.step === 'membership' && l.outcome === 'planned'));
  });

  it('progress on a terminal only, and the line is cleared before the result', async () => {
    const tty = io({ tty: true });
    await planCommand({ request: { scope: 'fleet' }, json: false, cloud: fleetOfNew() }, tty.io);
    assert.match(tty.stderr.text, /plan: 3\/3 clusters…/);
    assert.ok(tty.stderr.text.endsWith('\r\x1b[2K'));
    assert.doesNotMatch(tty.stdout.text, /3\/3 clusters…/);

    const piped = io({ tty: false });
    await planCommand({ request: { scope: 'fleet' }, json: false, cloud: fleetOfNew() }, piped.io);
    assert.equal(piped.stderr.text, '');
  });

  it('plan table: a row per record and a summary; exit 1 when a cluster fails, the others still planned', async () => {
    const cloud = fleetOfNew();
    cloud.addCluster(clusterInfo(ref('gke-peered'), { peeringName: 'gke-p-peer' }));
    cloud.log.failures.set('peering.get', () => grpcError(7, 'peering read denied'));
    const { io: cli, stdout } = io();
    const code = await planCommand(
      { request: { scope: 'project', project: PROJECT }, json: false, cloud },
      cli,
    );
    assert.equal(code, 1);
    const lines = stdout.text.trim().split('\n');
    assert.match(lines[0], /^STEP\s+TARGET\s+OUTCOME\s+REASON$/);
    assert.match(
      stdout.text,
      /peering\s+spoke-prj-one\/us-east4\/gke-peered\s+failed\s+7 peering read denied/,
    );
    assert.equal((stdout.text.match(/membership\s+\S+\s+planned/g) ?? []).length, 4);
    assert.match(
      lines.at(-1) ?? '',
      /^plan for project spoke-prj-one: 4 cluster\(s\), 9 planned change\(s\) .* nothing was written; 23 unchanged or skipped row\(s\) not shown \(--all shows them\)$/,
    );
    // Changes and problems only, like terraform plan; the fleet-wide feature once.
    assert.doesNotMatch(stdout.text, /^\S+\s+\S+\s+(unchanged|skipped)\s/m);
    assert.equal((stdout.text.match(/^mcs-feature\s/gm) ?? []).length, 1);
    const all = io();
    await planCommand(
      { request: { scope: 'project', project: PROJECT }, json: false, all: true, cloud },
      all.io,
    );
    assert.match(all.stdout.text, /^\S+\s+\S+\s+unchanged\s/m);
    assert.doesNotMatch(all.stdout.text, /not shown/);
    assert.equal((all.stdout.text.match(/^mcs-feature\s/gm) ?? []).length, 1);
  });

  it('status: a row per cluster, exit 0 when nothing is refused or failed', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref('gke-a'), { workloadPool: `${PROJECT}.svc.id.goog` }));
    cloud.memberships.set(`projects/${FLEET}/locations/global/memberships/gke-a`, {
      name: `projects/${FLEET}/locations/global/memberships/gke-a`,
      resourceLink: `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/gke-a`,
      labels: {},
      workloadIdentityPool: `${FLEET}.svc.id.goog`,
    });
    cloud.features.add(`${FLEET}/multiclusterservicediscovery`);
    cloud.addCluster(clusterInfo(ref('gke-other'), { network: { project: PROJECT, name: 'other' } }));
    const { io: cli, stdout } = io();
    const code = await statusCommand({ request: { scope: 'fleet' }, json: true, cloud }, cli);
    assert.equal(code, 0);
    const status = JSON.parse(stdout.text);
    assert.deepEqual(status.fleet, { project: FLEET, mcsFeature: 'enabled' });
    assert.deepEqual(
      status.clusters.map((c: Record<string, unknown>) => [
        c.cluster,
        c.spoke,
        c.workloadIdentity,
        c.membership,
      ]),
      [
        [`${PROJECT}/us-east4/gke-a`, true, true, `projects/${FLEET}/locations/global/memberships/gke-a`],
        [`${PROJECT}/us-east4/gke-other`, false, null, null],
      ],
    );
    assert.deepEqual(status.clusters[0].namespaces, { present: [], missing: ['mcs-common'], unknown: [] });
    // Below the rows: the member clusters' exported and imported Services (gke-other is no member).
    assert.deepEqual(status.services, [
      { cluster: `${PROJECT}/us-east4/gke-a`, exports: 0, imports: 0, problems: 0 },
    ]);
    assert.deepEqual(cloud.log.writes(), []);
  });
});

describe('cli engine: readOnlyCloud', () => {
  it('passes reads through and refuses every write without calling the port', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref('gke-a')));
    const ro = readOnlyCloud(cloud);
    assert.equal((await ro.clusters.get(ref('gke-a')))?.ref.name, 'gke-a');
    const kube = await ro.kube.connect({ ref: ref('gke-a') });
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['setWorkloadPool', () => ro.clusters.setWorkloadPool(ref('gke-a'), 'p.svc.id.goog')],
      [
        'peering.update',
        () => ro.peering.update('p', 'n', { name: 'x', exportCustomRoutes: true, importCustomRoutes: false }),
      ],
      [
        'createMembership',
        () => ro.fleet.createMembership(FLEET, 'global', 'x', { resourceLink: '', issuer: '', labels: {} }),
      ],
      ['deleteMembership', () => ro.fleet.deleteMembership('x')],
      ['createFeature', () => ro.fleet.createFeature(FLEET, 'x', {})],
      ['createNamespace', () => kube.createNamespace('ns', {})],
      ['createServiceExport', () => kube.createServiceExport('ns', 'svc', {})],
      ['deleteServiceExport', () => kube.deleteServiceExport('ns', 'svc')],
      [
        'recordEvent',
        () =>
          kube.recordEvent({
            namespace: 'ns',
            involved: { kind: 'Service', name: 's', apiVersion: 'v1' },
            reason: 'r',
            message: 'm',
            type: 'Normal',
          }),
      ],
    ];
    for (const [name, write] of writes) {
      await assert.rejects(
        write,
        (e: unknown) => e instanceof PermanentError && e.reason === 'read-only',
        name,
      );
    }
    assert.deepEqual(cloud.log.writes(), []);
  });
});

describe('cli engine: resolveConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spokefleet-cli-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...CONFIG, concurrency: 2 }));
  const sandbox = join(dir, 'endpoints.json');
  writeFileSync(
    sandbox,
    JSON.stringify({
      projects: [PROJECT],
      functions: {},
      config: { ...CONFIG, concurrency: 3, endpoints: { container: '127.0.0.1:1', token: 't' } },
    }),
  );
  const env = { SPOKEFLEET_CONFIG: JSON.stringify({ ...CONFIG, concurrency: 4 }) };

  it('--config FILE beats --sandbox beats SPOKEFLEET_CONFIG', () => {
    const { io: cli } = io({ env, cwd: dir });
    assert.equal(
      resolveConfig({ config: 'config.json', sandbox: 'endpoints.json' }, cli).config.concurrency,
      2,
    );
    assert.equal(resolveConfig({ sandbox: 'endpoints.json' }, cli).config.concurrency, 3);
    assert.equal(resolveConfig({}, cli).config.concurrency, 4);
  });

  it('with --sandbox, a config without endpoints gets the sandbox endpoints', () => {
    const { io: cli } = io({ env: {}, cwd: dir });
    assert.equal(
      resolveConfig({ config: 'config.json', sandbox: 'endpoints.json' }, cli).config.endpoints?.container,
      '127.0.0.1:1',
    );
    assert.equal(resolveConfig({ config: 'config.json' }, cli).config.endpoints, undefined);
  });

  it('an invalid config is a ProblemsError listing every problem', () => {
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ projects: [], spokes: [{ network: 'X' }], concurrency: 0 }),
    );
    const { io: cli } = io({ env: {}, cwd: dir });
    assert.throws(
      () => resolveConfig({ config: 'bad.json' }, cli),
      (e: unknown) =>
        e instanceof ProblemsError &&
        e.problems.some((p) => p.startsWith('fleetProject:')) &&
        e.problems.some((p) => p.startsWith('projects:')) &&
        e.problems.some((p) => p.startsWith('spokes.0')) &&
        e.problems.some((p) => p.startsWith('concurrency:')),
    );
  });
});
