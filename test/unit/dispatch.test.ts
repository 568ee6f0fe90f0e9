import assert from 'node:assert/strict';
import { TransientError } from '../../shared/errors';
import type { ClusterRef, DomainEvent } from '../../shared/events/types';
import type { ActionRecord } from '../../shared/reconcile/action';
import { handleDomainEvent, throwIfRetryable } from '../../shared/reconcile/dispatch';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { grpcError } from '../fakes/errors';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const ref: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'gke-us-east4-cluster-1' };
const MEMBERSHIP = `projects/${FLEET}/locations/global/memberships/gke-us-east4-cluster-1`;
const LINK = `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/gke-us-east4-cluster-1`;
const SELF = 'spokefleet@fleet-host-prj.iam.gserviceaccount.com';
const secondsAgo = (s: number) => new Date(NOW - s * 1000).toISOString();
const meta = { eventId: 'evt-1', time: secondsAgo(30) };

const events = {
  ready: { kind: 'ClusterReady', cluster: ref, ...meta } as DomainEvent,
  deleted: { kind: 'ClusterDeleted', cluster: ref, ...meta } as DomainEvent,
  changed: {
    kind: 'ServiceChanged',
    cluster: ref,
    namespace: 'mcs-common',
    service: 'nginx',
    method: 'patch',
    principal: 'dev-alice@acme.example',
    ...meta,
  } as DomainEvent,
  serviceDeleted: {
    kind: 'ServiceDeleted',
    cluster: ref,
    namespace: 'mcs-common',
    service: 'nginx',
    principal: 'dev-alice@acme.example',
    ...meta,
  } as DomainEvent,
};

/** A cloud with the cluster onboarded already (member, feature), so each route does only its own work. */
function onboarded(options: { cluster?: boolean } = {}) {
  const cloud = new FakeCloud();
  cloud.memberships.set(MEMBERSHIP, {
    name: MEMBERSHIP,
    resourceLink: LINK,
    labels: { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' },
    workloadIdentityPool: `${FLEET}.svc.id.goog`,
  });
  const kube = options.cluster === false ? cloud.kubeOf(ref) : cloud.addCluster(clusterInfo(ref));
  return { cloud, kube };
}

const severities = (records: Array<Record<string, unknown>>) => records.map((r) => r.severity);

describe('handleDomainEvent: events that do no work', () => {
  it('Ignored → [] and one DEBUG line with the reason, no cloud calls', async () => {
    const { cloud } = onboarded();
    const { ctx, transport } = testContext(cloud);
    const records = await handleDomainEvent(
      ctx,
      { kind: 'Ignored', reason: 'operation-not-finished', eventId: 'e' },
      NOW,
    );
    assert.deepEqual(records, []);
    assert.deepEqual(cloud.log.calls, []);
    const lines = transport.records();
    assert.equal(lines.length, 1);
    assert.equal(lines[0].severity, 'DEBUG');
    assert.equal(lines[0].reason, 'operation-not-finished');
  });

  for (const [name, event] of Object.entries(events)) {
    it(`${name}: older than maxEventAgeSeconds → [] and one INFO line, no cloud calls`, async () => {
      const { cloud } = onboarded();
      const { ctx, transport } = testContext(cloud);
      const records = await handleDomainEvent(ctx, { ...event, time: secondsAgo(3601) }, NOW);
      assert.deepEqual(records, []);
      assert.deepEqual(cloud.log.calls, []);
      const lines = transport.records();
      assert.deepEqual(severities(lines), ['INFO']);
      assert.equal(lines[0].reason, 'too-old');
      assert.equal(lines[0].ageSeconds, 3601);
    });
  }

  const ages: Array<{ name: string; maxAge?: number; time?: string; tooOld: boolean }> = [
    { name: 'exactly maxEventAgeSeconds old is still handled', time: secondsAgo(3600), tooOld: false },
    {
      name: 'a configured maxEventAgeSeconds of 60 drops a 61 s old event',
      maxAge: 60,
      time: secondsAgo(61),
      tooOld: true,
    },
    {
      name: 'a configured maxEventAgeSeconds of 60 keeps a 59 s old event',
      maxAge: 60,
      time: secondsAgo(59),
      tooOld: false,
    },
    { name: 'an event without a time is handled', time: undefined, tooOld: false },
    {
      name: 'an event from the future (clock skew) is handled',
      time: new Date(NOW + 60_000).toISOString(),
      tooOld: false,
    },
  ];
  for (const t of ages) {
    it(t.name, async () => {
      const { cloud } = onboarded({ cluster: false });
      const { ctx } = testContext(cloud, t.maxAge ? { maxEventAgeSeconds: t.maxAge } : {});
      const event = { ...events.ready, time: t.time };
      if (t.time === undefined) delete event.time;
      const records = await handleDomainEvent(ctx, event, NOW);
      assert.equal(records.length === 0, t.tooOld);
      assert.equal(cloud.log.calls.length === 0, t.tooOld);
    });
  }

  it('uses the real clock when no `now` is passed', async () => {
    const { cloud } = onboarded();
    const { ctx } = testContext(cloud);
    const old = { ...events.ready, time: new Date(Date.now() - 3_700_000).toISOString() };
    assert.deepEqual(await handleDomainEvent(ctx, old), []);
    assert.deepEqual(cloud.log.calls, []);
  });

  for (const name of ['changed', 'serviceDeleted'] as const) {
    it(`${name} caused by a selfPrincipal → [] and no cloud calls (loop safety)`, async () => {
      const { cloud, kube } = onboarded();
      kube.addService('mcs-common', 'nginx', { 'spokefleet.io/export': 'true' });
      const { ctx, transport } = testContext(cloud, { selfPrincipals: ['other@acme.example', SELF] });
      const records = await handleDomainEvent(ctx, { ...events[name], principal: SELF }, NOW);
      assert.deepEqual(records, []);
      assert.deepEqual(cloud.log.calls, []);
      assert.deepEqual(
        transport.records().map((r) => [r.severity, r.reason]),
        [['DEBUG', 'self-principal']],
      );
    });
  }

  it('a ClusterReady whose principal is a selfPrincipal is still reconciled (only Service events are loops)', async () => {
    const { cloud } = onboarded({ cluster: false });
    const { ctx } = testContext(cloud, { selfPrincipals: [SELF] });
    const records = await handleDomainEvent(ctx, { ...events.ready, principal: SELF }, NOW);
    assert.deepEqual(
      records.map((r) => r.step),
      ['spoke'],
    );
  });
});

describe('handleDomainEvent: routing', () => {
  const outcomes = (records: ActionRecord[]) => records.map((r) => `${r.step}:${r.outcome}`);

  it('ClusterReady → reconcileCluster', async () => {
    const cloud = new FakeCloud();
    const kube = cloud.addCluster(clusterInfo(ref));
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.ready, NOW);
    assert.deepEqual(outcomes(records), [
      'spoke:unchanged',
      'vpc-native:unchanged',
      'workload-identity:updated',
      'node-pools:unchanged',
      'membership:created',
      'mcs-feature:created',
      'peering:skipped',
      'namespaces:created',
    ]);
    assert.deepEqual(cloud.log.calls[0], { api: 'clusters', method: 'get', args: [ref] });
    assert.deepEqual(
      cloud.log.writes().map((c) => `${c.api}.${c.method}`),
      [
        'clusters.setWorkloadPool',
        'fleet.createMembership',
        'fleet.createFeature',
        `kube:${PROJECT}/us-east4/gke-us-east4-cluster-1.createNamespace`,
      ],
    );
    assert.ok(kube.namespaces.has('mcs-common'));
  });

  it('ClusterReady for a cluster that is gone → one skipped record after one read', async () => {
    const { cloud } = onboarded({ cluster: false });
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.ready, NOW);
    assert.deepEqual(outcomes(records), ['spoke:skipped']);
    assert.deepEqual(cloud.log.calls, [{ api: 'clusters', method: 'get', args: [ref] }]);
  });

  it('ClusterDeleted → offboardCluster: deletes the managed membership', async () => {
    const { cloud } = onboarded({ cluster: false });
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.deleted, NOW);
    assert.deepEqual(outcomes(records), ['offboard:deleted']);
    assert.deepEqual(
      cloud.log.writes().map((c) => [c.api, c.method, c.args]),
      [['fleet', 'deleteMembership', [MEMBERSHIP]]],
    );
    assert.equal(cloud.memberships.size, 0);
  });

  it('ServiceChanged → reconcileService: exports the labelled Service', async () => {
    const { cloud, kube } = onboarded();
    cloud.features.add(`${FLEET}/multiclusterservicediscovery`);
    kube.addService('mcs-common', 'nginx', { 'spokefleet.io/export': 'true' });
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.changed, NOW);
    assert.deepEqual(outcomes(records), ['spoke:unchanged', 'vpc-native:unchanged', 'exports:created']);
    assert.deepEqual(
      cloud.log
        .writes()
        .filter((c) => c.method !== 'recordEvent')
        .map((c) => [c.method, c.args]),
      [
        [
          'createServiceExport',
          [
            'mcs-common',
            'nginx',
            { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' },
          ],
        ],
      ],
    );
    // Besides the export, only the export's health is recorded, as an Event on the Service.
    assert.deepEqual(
      cloud.log
        .writes()
        .filter((c) => c.method === 'recordEvent')
        .map((c) => (c.args[0] as { reason: string }).reason),
      ['ExportHealth'],
    );
    // The Service was re-read from the cluster, not taken from the event.
    assert.ok(
      cloud.log.calls.some((c) => c.method === 'getService' && c.args.join('/') === 'mcs-common/nginx'),
    );
  });

  it('ServiceDeleted → reconcileService: removes the managed export of the gone Service', async () => {
    const { cloud, kube } = onboarded();
    kube.addExport('mcs-common', 'nginx', {
      'app.kubernetes.io/managed-by': 'spokefleet',
      'spokefleet.io/owner': 'spokefleet',
    });
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.serviceDeleted, NOW);
    assert.deepEqual(outcomes(records), ['spoke:unchanged', 'vpc-native:unchanged', 'exports:deleted']);
    assert.deepEqual(
      cloud.log.writes().map((c) => [c.method, c.args]),
      [['deleteServiceExport', ['mcs-common', 'nginx']]],
    );
  });

  it('a Service event from another principal is handled even when selfPrincipals is set', async () => {
    const { cloud, kube } = onboarded();
    kube.addService('mcs-common', 'nginx', { 'spokefleet.io/export': 'true' });
    const { ctx } = testContext(cloud, { selfPrincipals: [SELF] });
    const records = await handleDomainEvent(ctx, events.changed, NOW);
    assert.equal(records.at(-1)?.outcome, 'created');
  });

  it('a transient failure inside a handler becomes a retryable failed record, which throwIfRetryable turns into a retry', async () => {
    const { cloud } = onboarded();
    cloud.log.failures.set('clusters.get', () => grpcError(14, 'unavailable'));
    const { ctx } = testContext(cloud);
    const records = await handleDomainEvent(ctx, events.ready, NOW);
    assert.deepEqual(
      records.map((r) => [r.step, r.outcome, r.retryable]),
      [['spoke', 'failed', true]],
    );
    assert.throws(() => throwIfRetryable(records), TransientError);
  });
});

describe('throwIfRetryable', () => {
  const rec = (
    outcome: ActionRecord['outcome'],
    retryable?: boolean,
    step: ActionRecord['step'] = 'membership',
  ): ActionRecord => ({
    step,
    target: 'p/l/c',
    outcome,
    dryRun: false,
    durationMs: 1,
    ...(retryable === undefined ? {} : { retryable }),
  });

  const quiet: Array<[string, ActionRecord[]]> = [
    ['no records', []],
    ['all converged', [rec('unchanged'), rec('created'), rec('planned'), rec('skipped')]],
    ['refused (policy) is permanent', [rec('refused')]],
    ['failed, not retryable', [rec('failed', false)]],
    ['failed without the retryable flag', [rec('failed')]],
    ['retryable flag on a non-failed record', [rec('unchanged', true)]],
  ];
  for (const [name, records] of quiet) {
    it(`does not throw: ${name}`, () => {
      assert.doesNotThrow(() => throwIfRetryable(records));
    });
  }

  it('throws one TransientError naming every retryable failed step', () => {
    const records = [
      rec('created'),
      rec('failed', true, 'membership'),
      rec('failed', false, 'peering'),
      rec('failed', true, 'namespaces'),
    ];
    assert.throws(
      () => throwIfRetryable(records),
      (error: unknown) => {
        assert.ok(error instanceof TransientError);
        assert.equal(error.reason, 'transient-steps');
        assert.equal(error.message, '2 step(s) failed transiently: membership p/l/c, namespaces p/l/c');
        return true;
      },
    );
  });
});
