/**
 * The onboarding and export stories under the realistic timing profile, scaled: every GKE, GKE Hub and Compute
 * operation takes a drawn typical GCP duration × 0.005 (a 6-minute cluster update is 1.8 s), the functions'
 * invocation budget is 480 s × 0.005 = 2.4 s and the direct delivery retries with Pub/Sub's policy of the Terraform
 * module (10 s to 60 s backoff, 10 attempts) scaled alike, and a push request not answered within the function
 * timeout (540 s × 0.005) counts as a failed attempt. Through the Pub/Sub emulator, its push subscription gets the
 * same retry policy, scaled. So operations outlive invocations, as in GCP: the steps must
 * find them again on redelivery, never start a write twice, and never run an invocation past its deadline.
 */
import assert from 'node:assert/strict';
import { DEMO_PROJECT, DEMO_PROJECT_2, type Sandbox, startSandbox } from '../../sandbox/harness';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import { createCluster, deployNginx, labelService, until } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { writesSince } from './helpers';

const SCALE = 0.005;
const LABEL = 'spokefleet.io/export';

interface StoredCluster {
  workloadIdentityConfig?: { workloadPool?: string };
  nodePools: Array<{ name: string; config: { workloadMetadataConfig: { mode: string } } }>;
}

for (const delivery of ['direct', 'pubsub'] as const)
  describe(`e2e: onboarding under the realistic timing profile (scaled ×0.005, ${delivery} delivery)`, function () {
    this.timeout(90_000);
    let sandbox: Sandbox;

    before(async function () {
      if (delivery === 'pubsub' && !emulatorAvailable()) this.skip();
      sandbox = await startSandbox({ delivery, timing: { profile: 'realistic', scale: SCALE, seed: 7 } });
    });
    after(async () => {
      await sandbox?.stop();
    });

    it(`a cross-project cluster with WI off and two GCE_METADATA pools converges through redeliveries, each write once${delivery === 'direct' ? ', no invocation past its deadline' : ''}`, async () => {
      const r: ClusterRef = { project: DEMO_PROJECT_2.id, location: 'us-east4', name: 'slow-1' };
      const before = sandbox.cloud.faults.counters();
      const started = Date.now();
      await createCluster(sandbox, r, {
        network: 'gcp-spoke100-us-east4',
        subnetwork: 'gcp-spoke100-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.32/28' },
        nodePools: ['pool-a', 'pool-b'].map((name) => ({
          name,
          initialNodeCount: 1,
          config: { workloadMetadataConfig: { mode: 'GCE_METADATA' } },
        })),
      });
      const stored = () => sandbox.cloud.container.store.getCluster(r) as unknown as StoredCluster;
      const kube = () => sandbox.cloud.kube(r);
      await until(
        () =>
          stored().workloadIdentityConfig?.workloadPool === `${DEMO_PROJECT_2.id}.svc.id.goog` &&
          stored().nodePools.every((p) => p.config.workloadMetadataConfig.mode === 'GKE_METADATA') &&
          kube().api.store.get('namespaces', undefined, 'mcs-common') !== undefined,
        'onboarded',
        60_000,
      );
      const onboardedMs = Date.now() - started;
      const membership = sandbox.cloud.hub.store
        .list()
        .memberships.find((m) => m.endpoint?.gkeCluster?.resourceLink?.endsWith(`/clusters/${r.name}`));
      assert.equal(membership?.state.code, 'READY');
      assert.ok(membership?.name.startsWith(`projects/${DEMO_PROJECT.id}/locations/global/memberships/`));

      // The export story: a Service labelled once the MCS resources have arrived (minutes on GKE, drawn here).
      await until(() => kube().api.servesMcs, 'MCS resources served', 30_000);
      await deployNginx(sandbox, r, 'mcs-common', 'web');
      await labelService(sandbox, r, 'mcs-common', 'web', { [LABEL]: 'true' });
      await until(
        () => kube().api.store.get('serviceexports', 'mcs-common', 'web') !== undefined,
        'exported',
        30_000,
      );
      await sandbox.settle();

      // Each long write was sent exactly once: later invocations found the running operation instead.
      const writes = writesSince(sandbox, before);
      assert.equal(writes['container.UpdateCluster'], 1, JSON.stringify(writes));
      assert.equal(writes['container.UpdateNodePool'], 2, JSON.stringify(writes));
      assert.equal(writes['gkehub.memberships.create'], 1, JSON.stringify(writes));

      // No invocation ran into the function timeout, and nothing was dead-lettered (the direct delivery sees each
      // attempt; the emulator's push attempts are not observable here, so its runs prove convergence and writes only).
      if (delivery === 'pubsub') {
        console.log(`      onboarded in ${onboardedMs} ms (scaled ×${SCALE}) through the Pub/Sub emulator`);
        return;
      }
      const deliveries = [sandbox.auditDelivery, sandbox.reconcileDelivery].flatMap((d) => (d ? [d] : []));
      const attempts = deliveries.flatMap((d) => d.attempts);
      const timeoutMs = 540_000 * SCALE;
      const overdue = attempts.filter((a) => a.timedOut || a.durationMs >= timeoutMs);
      assert.deepEqual(overdue, [], `attempts past the ${timeoutMs} ms function timeout`);
      assert.deepEqual(
        deliveries.flatMap((d) => d.deadLettered),
        [],
      );
      const redelivered = attempts.filter((a) => a.attempt > 1).length;
      assert.ok(
        redelivered > 0,
        'no redelivery: the operations did not outlive an invocation, the test proves nothing',
      );
      console.log(
        `      onboarded in ${onboardedMs} ms (scaled ×${SCALE}); ${attempts.length} delivery attempts, ${redelivered} redeliveries, longest ${Math.max(...attempts.map((a) => a.durationMs))} ms`,
      );
    });
  });
