/**
 * The real event path: the stand-ins' audit entries are published to the real Pub/Sub emulator, whose push
 * subscriptions deliver them to both functions served by functions-framework's own CLI from the built bundle
 * (functions-framework converts the raw push into the CloudEvent). Skipped only when gcloud is not installed.
 */
import assert from 'node:assert/strict';
import { AUDIT_TOPIC, type Sandbox, startSandbox } from '../../sandbox/harness';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deployNginx,
  labelService,
  SEED_CLUSTERS,
  until,
} from '../../sandbox/scenario';

describe('e2e: Pub/Sub emulator push → functions-framework → local cloud', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;

  before(async function () {
    if (!emulatorAvailable()) this.skip();
    sandbox = await startSandbox({ delivery: 'pubsub' });
  });
  after(async () => {
    await sandbox?.stop();
  });

  const memberships = () => sandbox.cloud.hub.store.list().memberships.map((m) => m.name.split('/').pop());
  const kube = (ref = CLUSTER_1) => sandbox.cloud.kube(ref).api.store;

  it('onboards spoke clusters from audit entries pushed by the emulator', async () => {
    await createCluster(sandbox, CLUSTER_1, SEED_CLUSTERS[0].spec);
    await createCluster(sandbox, CLUSTER_2, SEED_CLUSTERS[1].spec);
    await sandbox.settle();
    await until(() => memberships().length === 2, 'two memberships', 30_000);
    await until(
      () => kube(CLUSTER_2).get('namespaces', undefined, 'mcs-common') !== undefined,
      'mcs-common',
      30_000,
    );
    assert.deepEqual(memberships().sort(), [CLUSTER_1.name, CLUSTER_2.name]);
  });

  it('exports a labelled Service', async () => {
    await deployNginx(sandbox, CLUSTER_1, 'mcs-common');
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { 'spokefleet.io/export': 'true' });
    await sandbox.settle();
    await until(
      () => kube().get('serviceexports', 'mcs-common', 'nginx') !== undefined,
      'ServiceExport',
      30_000,
    );
  });

  it('a poison message is acknowledged and does not block the messages after it', async () => {
    const topic = sandbox.emulator!.pubsub.topic(AUDIT_TOPIC);
    await topic.publishMessage({ data: Buffer.from('{"not": "a log entry"') });
    await topic.publishMessage({ data: Buffer.from([0xff, 0xfe, 0x00]) });
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { 'spokefleet.io/export': null });
    await sandbox.settle();
    await until(
      () => kube().get('serviceexports', 'mcs-common', 'nginx') === undefined,
      'export removed',
      30_000,
    );
    await until(
      () => sandbox.audit.logs.filter((l) => l.severity === 'ERROR' && l.outcome === 'refused').length >= 2,
      'two refusals',
      30_000,
    );
  });

  it('drift repair: a fleet reconcile request brings back a deleted ServiceExport and seeded namespace', async () => {
    await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { 'spokefleet.io/export': 'true' });
    await sandbox.settle();
    await until(
      () => kube().get('serviceexports', 'mcs-common', 'nginx') !== undefined,
      'export back',
      30_000,
    );
    // Behind Spokefleet's back: no audit entry is emitted for these.
    kube().delete('serviceexports', 'mcs-common', 'nginx');
    kube(CLUSTER_2).delete('namespaces', undefined, 'mcs-common');
    await sandbox.requestReconcile({ scope: 'fleet', requestId: 'drift-1' });
    await until(
      () =>
        kube().get('serviceexports', 'mcs-common', 'nginx') !== undefined &&
        kube(CLUSTER_2).get('namespaces', undefined, 'mcs-common') !== undefined,
      'drift repaired',
      30_000,
    );
    // The fleet request fanned out: one summary for the fan-out, one per cluster request (published to the
    // emulator by the function, pushed back to it), each carrying the request id. Summary lines are written after
    // the last write, so they may trail the state by a moment.
    const lines = () => sandbox.reconcile.logs.filter((l) => l.requestId === 'drift-1' && l.summary);
    await until(() => lines().length === 3, 'three summary lines', 30_000);
    const fanOut = lines().find((l) => l.stage === 'fanned-out');
    assert.equal(fanOut?.clusters, 2);
    assert.equal(fanOut?.scope, 'fleet');
    assert.deepEqual(
      lines()
        .filter((l) => l.stage === 'done')
        .map((l) => [l.scope, l.target])
        .sort(),
      [CLUSTER_1, CLUSTER_2].map((r) => ['cluster', `${r.project}/${r.location}/${r.name}`]).sort(),
    );
  });
});
