/**
 * The MCS limits (clusters per Service, distinct Services per fleet, one project per name) under concurrent
 * invocations, ownership per deployment, and a member cluster that cannot be read. Each invocation gets its own
 * context (its own memo), like separate function instances; the fakes keep one shared state.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ConfigInput } from '../../shared/config';
import type { ClusterRef } from '../../shared/events/types';
import type { ActionRecord } from '../../shared/reconcile/action';
import { reconcileExports, syncServiceExport } from '../../shared/reconcile/exports';
import { FakeCloud, type FakeKube, memberClusters } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { kubeError } from '../fakes/errors';

const PROJECT_2 = 'spoke-prj-two';
const LABEL = { 'spokefleet.io/export': 'true' };
const OWNED = { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' };
const NS = 'mcs-common';

interface Member {
  ref: ClusterRef;
  kube: FakeKube;
}

/** One event, redelivered (a new invocation each time) while it fails transiently, like Pub/Sub. */
async function deliver(
  cloud: FakeCloud,
  m: Member,
  name: string,
  overrides: Partial<ConfigInput> = {},
  attempts = 20,
): Promise<ActionRecord> {
  for (let attempt = 1; ; attempt++) {
    const record = await syncServiceExport(testContext(cloud, overrides).ctx, m.kube, m.ref, NS, name);
    if (record.outcome !== 'failed' || !record.retryable || attempt >= attempts) return record;
    cloud.log.clock += 10; // Pub/Sub redelivers after a backoff
  }
}

/** The periodic reconcile of one cluster, redelivered while a step fails transiently. */
async function reconcileCluster(
  cloud: FakeCloud,
  m: Member,
  overrides: Partial<ConfigInput> = {},
  attempts = 20,
): Promise<ActionRecord[]> {
  const all: ActionRecord[] = [];
  for (let attempt = 1; ; attempt++) {
    const records = await reconcileExports(testContext(cloud, overrides).ctx, m.kube, m.ref);
    all.push(...records);
    if (!records.some((r) => r.outcome === 'failed' && r.retryable) || attempt >= attempts) return all;
    cloud.log.clock += 10;
  }
}

interface Exported {
  cluster: string;
  key: string;
  createdAt: string;
}

function exportsOf(fleet: Member[]): Exported[] {
  return fleet.flatMap((m) =>
    [...m.kube.exports.values()].map((e) => ({
      cluster: m.kube.cluster,
      key: `${e.metadata.namespace}/${e.metadata.name}`,
      createdAt: e.metadata.creationTimestamp ?? '',
    })),
  );
}

interface Limits {
  maxClustersPerService: number;
  maxServicesPerFleet: number;
}

/**
 * The test's own statement of "within the limits": exports admitted one at a time, oldest creationTimestamp first
 * (then cluster name), each only if it breaks no limit. Returns the ids (`cluster|key`) beyond.
 */
function oracleBeyond(limits: Limits, exports: Exported[]): Set<string> {
  const sorted = [...exports].sort(
    (a, b) =>
      a.createdAt.localeCompare(b.createdAt) ||
      a.cluster.localeCompare(b.cluster) ||
      a.key.localeCompare(b.key),
  );
  const kept = new Map<string, string[]>();
  const beyond = new Set<string>();
  for (const e of sorted) {
    const clusters = kept.get(e.key);
    const project = e.cluster.split('/')[0];
    const ok = clusters
      ? clusters.length < limits.maxClustersPerService && clusters[0].split('/')[0] === project
      : kept.size < limits.maxServicesPerFleet;
    if (!ok) beyond.add(`${e.cluster}|${e.key}`);
    else if (clusters) clusters.push(e.cluster);
    else kept.set(e.key, [e.cluster]);
  }
  return beyond;
}

/** Every limit, counted directly. */
function violations(limits: Limits, exports: Exported[]): string[] {
  const byKey = new Map<string, string[]>();
  for (const e of exports) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.cluster]);
  const out: string[] = [];
  if (byKey.size > limits.maxServicesPerFleet) out.push(`${byKey.size} distinct Services exported`);
  for (const [key, clusters] of byKey) {
    if (clusters.length > limits.maxClustersPerService)
      out.push(`${key} exported by ${clusters.length} clusters`);
    if (new Set(clusters.map((c) => c.split('/')[0])).size > 1) out.push(`${key} exported from two projects`);
  }
  return out;
}

describe('MCS limits under concurrent invocations', () => {
  it('8 clusters label one Service at once: 5 exports (the limit), the other 3 refused with an Event', async () => {
    const cloud = new FakeCloud();
    cloud.log.tickPerCreate = 0; // all in the same second: the tie-break decides
    const fleet = memberClusters(cloud, 8);
    for (const m of fleet) m.kube.addService(NS, 'nginx', LABEL);
    const records = await Promise.all(fleet.map((m) => deliver(cloud, m, 'nginx', { projects: [PROJECT] })));
    const exporters = fleet.filter((m) => m.kube.exports.has(`${NS}/nginx`));
    assert.equal(exporters.length, 5, records.map((r) => `${r.outcome}: ${r.reason}`).join('\n'));
    // Created in one second, so the cluster name decides who stays.
    assert.deepEqual(
      exporters.map((m) => m.ref.name),
      ['cluster-1', 'cluster-2', 'cluster-3', 'cluster-4', 'cluster-5'],
    );
    assert.deepEqual(records.map((r) => r.outcome).sort(), [
      'created',
      'created',
      'created',
      'created',
      'created',
      'refused',
      'refused',
      'refused',
    ]);
    for (const m of fleet.filter((f) => !exporters.includes(f))) {
      assert.equal(m.kube.events.length, 1);
      assert.match(m.kube.events[0].message, /already exported by 5 clusters, the MCS limit is 5/);
    }
  });

  it('46 Services exported, 8 new ones labelled at once: 50 distinct Services (the limit), 4 refused', async () => {
    const cloud = new FakeCloud();
    const fleet = memberClusters(cloud, 9);
    for (let i = 0; i < 46; i++) fleet[8].kube.addExport(NS, `old-${i}`, OWNED);
    for (const m of fleet.slice(0, 8)) m.kube.addService(NS, `new-${m.ref.name}`, LABEL);
    const records = await Promise.all(fleet.slice(0, 8).map((m) => deliver(cloud, m, `new-${m.ref.name}`)));
    assert.equal(new Set(exportsOf(fleet).map((e) => e.key)).size, 50);
    assert.equal(records.filter((r) => r.outcome === 'refused').length, 4);
    assert.ok(records.every((r) => r.outcome === 'created' || /the MCS limit is 50/.test(r.reason ?? '')));
  });

  it('the periodic reconcile withdraws the newest managed exports beyond the limit, with the refusal Event', async () => {
    const cloud = new FakeCloud();
    const fleet = memberClusters(cloud, 8);
    // Over the limit already (as the racing invocations of an older version left it): created one second apart.
    for (const m of fleet) {
      m.kube.addService(NS, 'nginx', LABEL);
      m.kube.addExport(NS, 'nginx', OWNED);
    }
    const records = [];
    for (const m of fleet) records.push(await reconcileCluster(cloud, m, { projects: [PROJECT] }));
    assert.deepEqual(
      fleet.map((m) => m.kube.exports.has(`${NS}/nginx`)),
      [true, true, true, true, true, false, false, false],
    );
    // The sixth cluster's pass: the withdrawal, then the Service's refusal.
    assert.deepEqual(
      records[5].map((r) => `${r.step} ${r.target}: ${r.outcome} (${r.reason})`),
      [
        `exports ${PROJECT}/us-east4/cluster-6/${NS}/nginx: deleted (withdrawn, beyond the MCS limits: ${NS}/nginx is already exported by 5 clusters, the MCS limit is 5)`,
        `exports ${PROJECT}/us-east4/cluster-6/${NS}/nginx: refused (${NS}/nginx is already exported by 5 clusters, the MCS limit is 5)`,
      ],
    );
    for (const m of fleet.slice(5)) {
      assert.equal(m.kube.events.length, 1);
      assert.match(m.kube.events[0].message, /already exported by 5 clusters/);
    }
  });

  it('the recount counts exports Spokefleet does not own but never withdraws them', async () => {
    const cloud = new FakeCloud();
    const fleet = memberClusters(cloud, 7);
    for (const [i, m] of fleet.entries()) {
      m.kube.addService(NS, 'nginx', LABEL);
      // The two newest are the user's own.
      m.kube.addExport(NS, 'nginx', i >= 5 ? {} : OWNED);
    }
    for (const m of fleet) await reconcileCluster(cloud, m, { projects: [PROJECT] });
    assert.equal(fleet.filter((m) => m.kube.exports.has(`${NS}/nginx`)).length, 7);
    // And the oldest five, within the limit, are never withdrawn to make room.
    assert.equal(cloud.log.calls.filter((c) => c.method === 'deleteServiceExport').length, 0);
  });

  it('the recount withdraws only this deployment’s exports beyond a limit, also among a user’s exports', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    // Oldest first: `kept` within the limit, then `newer` (ours) and `theirs` (the user's) beyond it.
    for (const [name, labels] of [
      ['kept', OWNED],
      ['newer', OWNED],
      ['theirs', {}],
    ] as const) {
      m.kube.addService(NS, name, LABEL);
      m.kube.addExport(NS, name, labels);
    }
    const records = await reconcileExports(
      testContext(cloud, { limits: { maxServicesPerFleet: 1 } }).ctx,
      m.kube,
      m.ref,
    );
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['newer: deleted', 'kept: unchanged', 'newer: refused', 'theirs: unchanged'],
    );
    assert.deepEqual([...m.kube.exports.keys()].sort(), [`${NS}/kept`, `${NS}/theirs`]);
  });

  it('dry run: the recount plans the withdrawal and writes nothing', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    for (const name of ['kept', 'newer']) {
      m.kube.addService(NS, name, LABEL);
      m.kube.addExport(NS, name, OWNED);
    }
    const { ctx } = testContext(cloud, { limits: { maxServicesPerFleet: 1 } }, true);
    const records = await reconcileExports(ctx, m.kube, m.ref);
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['newer: planned', 'kept: unchanged', 'newer: refused'],
    );
    assert.match(
      records[0].reason ?? '',
      /^would be deleted: withdrawn, beyond the MCS limits: the fleet already/,
    );
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('the recount finds the export already gone: withdrawn all the same', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    for (const name of ['kept', 'newer']) {
      m.kube.addService(NS, name, LABEL);
      m.kube.addExport(NS, name, OWNED);
    }
    const remove = m.kube.deleteServiceExport.bind(m.kube);
    m.kube.deleteServiceExport = async (ns, name) => {
      await remove(ns, name);
      throw kubeError(404, 'not found');
    };
    const records = await reconcileExports(
      testContext(cloud, { limits: { maxServicesPerFleet: 1 } }).ctx,
      m.kube,
      m.ref,
    );
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['newer: deleted', 'kept: unchanged', 'newer: refused'],
    );
  });

  it('the recount cannot delete an export: that step fails transiently and the export is kept as it is', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    for (const name of ['kept', 'newer']) {
      m.kube.addService(NS, name, LABEL);
      m.kube.addExport(NS, name, OWNED);
    }
    m.kube.deleteServiceExport = async () => {
      throw kubeError(503, 'unavailable');
    };
    const records = await reconcileExports(
      testContext(cloud, { limits: { maxServicesPerFleet: 1 } }).ctx,
      m.kube,
      m.ref,
    );
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}${r.retryable ? ' (retryable)' : ''}`),
      ['newer: failed (retryable)', 'kept: unchanged', 'newer: unchanged'],
    );
    assert.ok(m.kube.exports.has(`${NS}/newer`));
  });

  it('the fleet view is read only when the cluster has exports the recount could withdraw', async () => {
    const cloud = new FakeCloud();
    const [m, other] = memberClusters(cloud, 2);
    // Exported by the user, and a managed export whose Service is gone: nothing the recount could withdraw.
    m.kube.addService(NS, 'theirs', LABEL);
    m.kube.addExport(NS, 'theirs', {});
    m.kube.addExport(NS, 'stale', OWNED);
    const records = await reconcileExports(testContext(cloud).ctx, m.kube, m.ref);
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['theirs: unchanged', 'stale: deleted'],
    );
    assert.equal(
      cloud.log.calls.filter(
        (c) => c.api === `kube:${other.kube.cluster}` && c.method === 'listServiceExports',
      ).length,
      0,
    );
  });

  it('a recount that cannot read the fleet is one failed step; the Services are still converged', async () => {
    const cloud = new FakeCloud();
    const [m, other] = memberClusters(cloud, 2);
    m.kube.addService(NS, 'nginx', LABEL);
    m.kube.addExport(NS, 'nginx', OWNED);
    m.kube.addService(NS, 'new-one', LABEL);
    cloud.log.failures.set(`kube:${other.kube.cluster}.listServiceExports`, () =>
      kubeError(403, 'serviceexports is forbidden'),
    );
    const records = await reconcileExports(testContext(cloud).ctx, m.kube, m.ref);
    assert.deepEqual(
      records.map((r) => `${r.step} ${r.target}: ${r.outcome}${r.retryable ? ' (retryable)' : ''}`),
      [
        `exports ${m.kube.cluster} (limits recount): failed (retryable)`,
        `exports ${m.kube.cluster}/${NS}/nginx: unchanged`,
        `exports ${m.kube.cluster}/${NS}/new-one: failed (retryable)`,
      ],
    );
  });

  it('three labelled Services in one cluster pass, a fleet limit of two: the third is refused, not raced', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    for (const name of ['a', 'b', 'c']) m.kube.addService(NS, name, LABEL);
    const records = await reconcileExports(
      testContext(cloud, { limits: { maxServicesPerFleet: 2 } }).ctx,
      m.kube,
      m.ref,
    );
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome} (${r.reason})`),
      [
        'a: created (ServiceExport)',
        'b: created (ServiceExport)',
        'c: refused (the fleet already exports 2 distinct Services, the MCS limit is 2)',
      ],
    );
    assert.equal(cloud.log.calls.filter((c) => c.method === 'deleteServiceExport').length, 0);
  });

  it('an export deleted in one cluster frees its place for another cluster in the same invocation', async () => {
    const cloud = new FakeCloud();
    const [first, second] = memberClusters(cloud, 2);
    first.kube.addService(NS, 'kept', LABEL);
    first.kube.addExport(NS, 'kept', OWNED);
    first.kube.addExport(NS, 'stale', OWNED);
    second.kube.addService(NS, 'new-one', LABEL);
    // One invocation (a fleet request) reconciling both clusters: one memo, one fleet view.
    const { ctx } = testContext(cloud, { limits: { maxServicesPerFleet: 2 } });
    const records = [
      ...(await reconcileExports(ctx, first.kube, first.ref)),
      ...(await reconcileExports(ctx, second.kube, second.ref)),
    ];
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['kept: unchanged', 'stale: deleted', 'new-one: created'],
    );
  });

  it('an export deleted before the fleet view is read is not counted in it later in the same invocation', async () => {
    const cloud = new FakeCloud();
    const [first, second] = memberClusters(cloud, 2);
    first.kube.addExport(NS, 'stale', OWNED);
    second.kube.addService(NS, 'new-one', LABEL);
    const { ctx } = testContext(cloud, { limits: { maxServicesPerFleet: 1 } });
    const records = [
      ...(await reconcileExports(ctx, first.kube, first.ref)),
      ...(await reconcileExports(ctx, second.kube, second.ref)),
    ];
    assert.deepEqual(
      records.map((r) => `${r.target.split('/').at(-1)}: ${r.outcome}`),
      ['stale: deleted', 'new-one: created'],
    );
    assert.deepEqual(
      second.kube.events.filter((e) => e.reason === 'ExportRefused'),
      [],
    );
  });

  for (const [what, beforeSecond] of [
    ['withdrawn by the recount', (k: FakeKube) => k.addExport(NS, 'nginx', OWNED)],
    ['refused', () => {}],
  ] as const) {
    it(`a cluster ${what} earlier in a fleet request holds no place once one is freed`, async () => {
      const cloud = new FakeCloud();
      const [first, second, third] = memberClusters(cloud, 3);
      // cluster-1's export is the oldest and its Service is gone; cluster-2 wants one too; limit: one cluster.
      first.kube.addExport(NS, 'nginx', OWNED);
      second.kube.addService(NS, 'nginx', LABEL);
      beforeSecond(second.kube);
      third.kube.addService(NS, 'nginx', LABEL);
      const { ctx } = testContext(cloud, { limits: { maxClustersPerService: 1 } });
      const records = [];
      for (const m of [second, first, third]) records.push(...(await reconcileExports(ctx, m.kube, m.ref)));
      assert.deepEqual(
        records
          .filter((r) => r.outcome !== 'deleted' || r.target.includes('cluster-1'))
          .map((r) => `${r.target.split('/')[2]}: ${r.outcome}`),
        ['cluster-2: refused', 'cluster-1: deleted', 'cluster-3: created'],
      );
    });
  }

  it('property: after concurrent label events and the periodic reconcile, no limit is exceeded, nothing within a limit was withdrawn, and nothing that fits is missing', async () => {
    const limits = { maxClustersPerService: 2, maxServicesPerFleet: 2 };
    const overrides: Partial<ConfigInput> = { limits };
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.uniqueArray(fc.record({ c: fc.nat(4), s: fc.nat(2) }), {
          minLength: 1,
          maxLength: 10,
          selector: (l) => `${l.c}/${l.s}`,
        }),
        fc.array(fc.nat(9), { maxLength: 4 }),
        fc.constantFrom(0, 1),
        async (s, labels, duplicates, tick) => {
          const cloud = new FakeCloud();
          cloud.log.tickPerCreate = tick;
          const fleet = [...memberClusters(cloud, 3), ...memberClusters(cloud, 2, PROJECT_2, 4)];
          for (const m of fleet) schedule(s, m.kube, cloud);
          for (const { c, s: svc } of labels) fleet[c].kube.addService(NS, `svc-${svc}`, LABEL);
          // Every label event at once, some delivered twice.
          const events = [...labels, ...duplicates.flatMap((d) => (d < labels.length ? [labels[d]] : []))];
          await s.waitFor(
            Promise.all(events.map(({ c, s: svc }) => deliver(cloud, fleet[c], `svc-${svc}`, overrides))),
          );
          const afterEvents = exportsOf(fleet);
          assert.deepEqual(violations(limits, afterEvents), [], 'the events alone keep the limits');

          // The periodic reconcile, minutes later, one invocation per cluster, all at once.
          cloud.log.clock += 300;
          const before = exportsOf(fleet);
          const beyondBefore = oracleBeyond(limits, before);
          const deletesFrom = cloud.log.calls.length;
          await s.waitFor(Promise.all(fleet.map((m) => reconcileCluster(cloud, m, overrides))));
          const after = exportsOf(fleet);
          assert.deepEqual(violations(limits, after), [], 'no limit exceeded after the reconcile');

          const stillThere = new Set(after.map((e) => `${e.cluster}|${e.key}|${e.createdAt}`));
          for (const e of before) {
            if (!stillThere.has(`${e.cluster}|${e.key}|${e.createdAt}`)) {
              assert.ok(
                beyondBefore.has(`${e.cluster}|${e.key}`),
                `${e.cluster}|${e.key} was within the limits`,
              );
            }
          }
          assert.ok(cloud.log.calls.length >= deletesFrom);
          // Nothing that fits is missing: a labelled Service without an export would break a limit.
          for (const { c, s: svc } of labels) {
            const key = `${NS}/svc-${svc}`;
            const cluster = fleet[c].kube.cluster;
            if (after.some((e) => e.cluster === cluster && e.key === key)) continue;
            const candidate = { cluster, key, createdAt: '9999' };
            assert.ok(
              oracleBeyond(limits, [...after, candidate]).has(`${cluster}|${key}`),
              `${cluster}|${key} fits but is not exported`,
            );
          }
        },
      ),
      { numRuns: Number(process.env.EXPORT_LIMIT_RUNS ?? 150) },
    );
  });
});

/** Every call to the cluster and the fleet goes through the scheduler, which picks the order they complete in. */
function schedule(s: fc.Scheduler, kube: FakeKube, cloud: FakeCloud): void {
  const k = kube as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of [
    'getService',
    'getServiceExport',
    'listServices',
    'listServiceExports',
    'createServiceExport',
    'deleteServiceExport',
    'countReadyEndpoints',
    'recordEvent',
  ]) {
    k[method] = s.scheduleFunction(k[method].bind(kube));
  }
  const fleet = cloud.fleet as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  if (!(fleet.listMemberships as { scheduled?: boolean }).scheduled) {
    fleet.listMemberships = Object.assign(s.scheduleFunction(fleet.listMemberships.bind(cloud.fleet)), {
      scheduled: true,
    });
  }
}

describe('a member cluster whose ServiceExports cannot be read', () => {
  const forbidden = () => kubeError(403, 'serviceexports is forbidden');

  it('fails a new export transiently, naming the member; other Services are not held up; exported once readable', async () => {
    const cloud = new FakeCloud();
    const fleet = memberClusters(cloud, 9);
    const [first] = fleet;
    first.kube.addService(NS, 'new-one', LABEL);
    first.kube.addService(NS, 'exported', LABEL);
    first.kube.addExport(NS, 'exported', OWNED);
    first.kube.addService(NS, 'unlabelled', {});
    first.kube.addExport(NS, 'unlabelled', OWNED);
    cloud.log.failures.set(`kube:${fleet[4].kube.cluster}.listServiceExports`, forbidden);

    const record = await syncServiceExport(testContext(cloud).ctx, first.kube, first.ref, NS, 'new-one');
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true, 'never acknowledged without the export');
    assert.match(
      record.reason ?? '',
      new RegExp(
        `could not read the ServiceExports of member cluster ${fleet[4].kube.cluster} \\(.*forbidden`,
      ),
    );
    assert.equal(first.kube.exports.has(`${NS}/new-one`), false);

    const others = await Promise.all(
      ['exported', 'unlabelled'].map((n) =>
        syncServiceExport(testContext(cloud).ctx, first.kube, first.ref, NS, n),
      ),
    );
    assert.deepEqual(
      others.map((r) => r.outcome),
      ['unchanged', 'deleted'],
    );

    cloud.log.failures.clear();
    const again = await syncServiceExport(testContext(cloud).ctx, first.kube, first.ref, NS, 'new-one');
    assert.equal(again.outcome, 'created', again.reason);
  });
});

describe('which member clusters the limits count', () => {
  it('two members that cannot be read are both named', async () => {
    const cloud = new FakeCloud();
    const fleet = memberClusters(cloud, 3);
    fleet[0].kube.addService(NS, 'nginx', LABEL);
    for (const m of fleet.slice(1))
      cloud.log.failures.set(`kube:${m.kube.cluster}.listServiceExports`, () =>
        kubeError(503, 'unavailable'),
      );
    const record = await syncServiceExport(testContext(cloud).ctx, fleet[0].kube, fleet[0].ref, NS, 'nginx');
    assert.equal(record.retryable, true);
    assert.equal(
      record.reason,
      `the MCS limits cannot be checked: could not read the ServiceExports of member clusters ${fleet[1].kube.cluster} (503 ServiceUnavailable: unavailable), ${fleet[2].kube.cluster} (503 ServiceUnavailable: unavailable)`,
    );
  });

  it('a member whose cluster is gone is skipped, not unreadable', async () => {
    const cloud = new FakeCloud();
    const [m, gone] = memberClusters(cloud, 2);
    gone.kube.addExport(NS, 'nginx', OWNED);
    cloud.clusterStore.delete(gone.kube.cluster);
    m.kube.addService(NS, 'nginx', LABEL);
    const record = await syncServiceExport(
      testContext(cloud, { limits: { maxClustersPerService: 1 } }).ctx,
      m.kube,
      m.ref,
      NS,
      'nginx',
    );
    assert.equal(record.outcome, 'created', record.reason);
  });

  it('members in projects this deployment does not manage, or not GKE clusters, are neither read nor counted', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    const [foreign] = memberClusters(cloud, 1, PROJECT_2, 2);
    foreign.kube.addExport(NS, 'nginx', OWNED);
    cloud.memberships.set(`projects/${FLEET}/locations/global/memberships/attached`, {
      name: `projects/${FLEET}/locations/global/memberships/attached`,
      resourceLink: '//eks.amazonaws.com/clusters/elsewhere',
      labels: {},
    });
    m.kube.addService(NS, 'nginx', LABEL);
    const record = await syncServiceExport(
      testContext(cloud, { projects: [PROJECT] }).ctx,
      m.kube,
      m.ref,
      NS,
      'nginx',
    );
    assert.equal(record.outcome, 'created', record.reason);
    // Only this cluster is connected to (the fleet view's list of it, and the health check's read).
    assert.deepEqual(
      [...new Set(cloud.connects.map((c) => `${c.ref.project}/${c.ref.name}`))],
      [`${PROJECT}/cluster-1`],
    );
    assert.equal(cloud.log.calls.filter((c) => c.api === `kube:${foreign.kube.cluster}`).length, 0);
  });
});

describe('a withdraw that fails', () => {
  it('is logged as an ERROR and fails the event transiently', async () => {
    const cloud = new FakeCloud();
    const [first, second] = memberClusters(cloud, 2);
    first.kube.addService(NS, 'nginx', LABEL);
    // The re-check after the create cannot read the other member, and the withdraw of the unverified export fails.
    let lists = 0;
    const list = second.kube.listServiceExports.bind(second.kube);
    second.kube.listServiceExports = async () => {
      if (++lists === 2) throw kubeError(503, 'backend unavailable');
      return list();
    };
    first.kube.deleteServiceExport = async () => {
      throw kubeError(500, 'internal error');
    };
    const { ctx, transport } = testContext(cloud);
    const record = await syncServiceExport(ctx, first.kube, first.ref, NS, 'nginx');
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.match(
      record.reason ?? '',
      /could not withdraw ServiceExport .*not verified within the MCS limits/,
    );
    const errors = transport.records().filter((r) => r.severity === 'ERROR');
    assert.ok(
      errors.some(
        (r) => /could not withdraw/.test(String(r.message)) && /backend unavailable/.test(String(r.why)),
      ),
      JSON.stringify(errors),
    );
  });
});

describe('ownership per deployment (config owner)', () => {
  const A = { owner: 'fleet-a' };
  const B = { owner: 'fleet-b' };

  it('labels what it creates with its owner; two deployments never delete each other’s exports', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    m.kube.addService(NS, 'nginx', LABEL);
    assert.equal((await deliver(cloud, m, 'nginx', A)).outcome, 'created');
    assert.deepEqual(m.kube.exports.get(`${NS}/nginx`)?.metadata.labels, {
      'app.kubernetes.io/managed-by': 'spokefleet',
      'spokefleet.io/owner': 'fleet-a',
    });
    m.kube.services.delete(`${NS}/nginx`);
    m.kube.addService(NS, 'nginx', {});

    const byB = [await deliver(cloud, m, 'nginx', B), ...(await reconcileCluster(cloud, m, B))];
    assert.ok(byB.every((r) => r.outcome === 'unchanged'));
    assert.match(byB[0].reason ?? '', /another Spokefleet deployment \(owner fleet-a\)/);
    assert.ok(m.kube.exports.has(`${NS}/nginx`));

    assert.equal((await deliver(cloud, m, 'nginx', A)).outcome, 'deleted');
    assert.equal(m.kube.exports.has(`${NS}/nginx`), false);
  });

  it('a managed export without an owner label (an older version) is left alone', async () => {
    const cloud = new FakeCloud();
    const [m] = memberClusters(cloud, 1);
    m.kube.addExport(NS, 'old', { 'app.kubernetes.io/managed-by': 'spokefleet' });
    const records = await reconcileCluster(cloud, m);
    assert.deepEqual(records, []);
    const record = await deliver(cloud, m, 'old');
    assert.equal(record.outcome, 'unchanged');
    assert.match(record.reason ?? '', /without an spokefleet.io\/owner label left alone/);
    assert.ok(m.kube.exports.has(`${NS}/old`));
  });

  it('config: owner defaults to spokefleet and must be a lowercase label', () => {
    assert.equal(testContext(new FakeCloud()).config.owner, 'spokefleet');
    assert.throws(() => testContext(new FakeCloud(), { owner: 'Fleet.A' }), /owner: must be 1–63 lowercase/);
  });
});
