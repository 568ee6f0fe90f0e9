/**
 * GKE's own rules, end to end, through both event paths (direct CloudEvent delivery, and the Pub/Sub emulator
 * pushing to functions-framework): a cluster of the second allowed project with workload identity off and a
 * GCE_METADATA node pool is onboarded with its own project's pool and its pool migrated; a labelled Service created
 * before GKE serves the MCS resources in a brand-new cluster is exported once they arrive, with no reconcile request.
 */
import assert from 'node:assert/strict';
import {
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  type Sandbox,
  type SandboxOptions,
  startSandbox,
} from '../../sandbox/harness';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import { createCluster, deployNginx, ensureNamespace, labelService, until } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';

const LABEL = 'spokefleet.io/export';

interface StoredCluster {
  workloadIdentityConfig?: { workloadPool?: string };
  nodePools: Array<{ name: string; config: { workloadMetadataConfig: { mode: string } } }>;
}

for (const delivery of ['direct', 'pubsub'] as const) {
  describe(`e2e: GKE's rules (${delivery} delivery)`, function () {
    this.timeout(120_000);
    let sandbox: Sandbox;
    const options: SandboxOptions = { delivery, mcsDelayMs: 1_500 };

    before(async function () {
      if (delivery === 'pubsub' && !emulatorAvailable()) this.skip();
      sandbox = await startSandbox(options);
    });
    after(async () => {
      await sandbox?.stop();
    });

    const stored = (r: ClusterRef) => sandbox.cloud.container.store.getCluster(r) as unknown as StoredCluster;
    const membershipOf = (r: ClusterRef) =>
      sandbox.cloud.hub.store
        .list()
        .memberships.find(
          (m) =>
            m.endpoint?.gkeCluster?.resourceLink ===
            `//container.googleapis.com/projects/${r.project}/locations/${r.location}/clusters/${r.name}`,
        );

    it('a cluster of the second project, WI off, GCE_METADATA pool: own pool, pool migrated, member, namespaces, Service exported', async () => {
      const r: ClusterRef = { project: DEMO_PROJECT_2.id, location: 'us-east4', name: `two-${delivery}` };
      await createCluster(sandbox, r, {
        network: 'gcp-spoke100-us-east4',
        subnetwork: 'gcp-spoke100-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        nodePools: [
          {
            name: 'default-pool',
            initialNodeCount: 1,
            config: { workloadMetadataConfig: { mode: 'GCE_METADATA' } },
          },
        ],
      });
      await until(
        () => sandbox.cloud.kube(r).api.store.get('namespaces', undefined, 'mcs-common') !== undefined,
        'onboarded',
        60_000,
      );
      const cluster = stored(r);
      // The cluster's own project's pool; the fleet's pool is on the membership.
      assert.equal(cluster.workloadIdentityConfig?.workloadPool, `${DEMO_PROJECT_2.id}.svc.id.goog`);
      assert.deepEqual(
        cluster.nodePools.map((p) => [p.name, p.config.workloadMetadataConfig.mode]),
        [['default-pool', 'GKE_METADATA']],
      );
      const membership = membershipOf(r);
      assert.ok(membership?.name.startsWith(`projects/${DEMO_PROJECT.id}/locations/global/memberships/`));
      assert.equal(membership?.authority?.workloadIdentityPool, `${DEMO_PROJECT.id}.svc.id.goog`);

      await until(() => sandbox.cloud.kube(r).api.servesMcs, 'MCS resources served', 30_000);
      await deployNginx(sandbox, r, 'mcs-common', 'web');
      await labelService(sandbox, r, 'mcs-common', 'web', { [LABEL]: 'true' });
      await until(
        () => sandbox.cloud.kube(r).api.store.get('serviceexports', 'mcs-common', 'web') !== undefined,
        'exported',
        60_000,
      );
    });

    it('a labelled Service created before the MCS resources exist is exported when they arrive, without a reconcile request', async () => {
      const r: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: `early-${delivery}` };
      await createCluster(sandbox, r, {
        network: 'gcp-spoke200-us-east4',
        subnetwork: 'gcp-spoke200-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        initialNodeCount: 1,
      });
      // Created as soon as the cluster is up, while Spokefleet is still onboarding it.
      await ensureNamespace(sandbox, r, 'team-a');
      await deployNginx(sandbox, r, 'team-a', 'api');
      await labelService(sandbox, r, 'team-a', 'api', { [LABEL]: 'true' });
      assert.equal(sandbox.cloud.kube(r).api.servesMcs, false, 'labelled before GKE serves ServiceExports');
      await until(
        () => sandbox.cloud.kube(r).api.store.get('serviceexports', 'team-a', 'api') !== undefined,
        'exported once the resources exist',
        60_000,
      );
      assert.ok(sandbox.cloud.kube(r).api.servesMcs);
    });
  });
}
