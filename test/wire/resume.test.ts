/**
 * An operation that outlives the invocation that started it is found again by the next invocation — through the
 * real client libraries and the stand-ins' ListOperations, membership state and globalOperations.list — and waited
 * for, never started twice. Each test runs the cluster reconcile twice: first with a budget shorter than the
 * stand-in's operation (the write starts, its wait runs out, the step fails transient), then with enough time
 * (the step finds the running operation, waits, reads the result, and writes nothing).
 */
import assert from 'node:assert/strict';
import { DEMO_PROJECT, DEMO_PROJECT_2, SPOKES, sandboxConfig, seedNetworks } from '../../sandbox/harness';
import { LocalCloud } from '../../sandbox/local-cloud';
import { createCloud } from '../../shared/cloud/index';
import type { Cloud } from '../../shared/cloud/ports';
import { parseConfig } from '../../shared/config';
import { withDeadline } from '../../shared/deadline';
import type { ClusterRef } from '../../shared/events/types';
import { createLogger, MemoryTransport } from '../../shared/log';
import type { ActionRecord } from '../../shared/reconcile/action';
import { reconcileCluster } from '../../shared/reconcile/cluster';
import { Memo } from '../../shared/reconcile/context';

const REF: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'resume-1' };
const POOL = `${DEMO_PROJECT.id}.svc.id.goog`;
/** How long each stand-in operation runs: longer than the first invocation, shorter than the second. */
const OPERATION_MS = 1_200;
const SHORT_BUDGET_MS = 500;
const LONG_BUDGET_MS = 4_000;

describe('wire: an operation started by one invocation is found again by the next, not started twice', function () {
  this.timeout(20_000);
  let cloud: LocalCloud;

  before(() => {
    require('@google-cloud/container/build/src/v1');
    require('@google-cloud/compute/build/src/v1/networks_client');
    require('googleapis/build/src/apis/gkehub');
    require('googleapis/build/src/apis/cloudresourcemanager');
    require('@kubernetes/client-node');
  });
  afterEach(async () => {
    adapters = undefined;
    await cloud?.close();
  });

  async function start(delays: { gke?: number; hub?: number; peering?: number }) {
    cloud = await LocalCloud.start({
      projects: [DEMO_PROJECT, DEMO_PROJECT_2],
      fleetProject: DEMO_PROJECT.id,
      provisionDelayMs: delays.gke ?? 1,
      hubOpDelayMs: delays.hub ?? 1,
      peeringOpMs: delays.peering ?? 1,
      mcsAtStart: true,
    });
    seedNetworks(cloud);
  }

  let adapters: Cloud | undefined;

  /** One invocation: the cluster reconcile under a deadline, as the handler runs it. */
  async function invocation(budgetMs: number): Promise<ActionRecord[]> {
    // Typical durations scaled so that every write fits a 500 ms invocation: the budget, not the plan, runs out.
    const config = parseConfig(sandboxConfig(cloud, { timeScale: 0.0001, retryBudgetMs: 200 }));
    const log = createLogger({ transport: new MemoryTransport(), level: 'error' });
    if (!adapters) {
      // One instance for both invocations, warmed up: a client's first connection must not eat the short budget.
      adapters = createCloud(config, log);
      await adapters.clusters.get(REF);
      await adapters.fleet.listMemberships(DEMO_PROJECT.id);
      await adapters.peering.get(DEMO_PROJECT.id, SPOKES[0], 'none');
      cloud.faults.resetCounters();
    }
    const ctx = { config, cloud: adapters, log, dryRun: false, memo: new Memo() };
    const records = await withDeadline(budgetMs, () => reconcileCluster(ctx, REF));
    if (process.env.DEBUG_RESUME) console.log(JSON.stringify(records, null, 1));
    return records;
  }

  const step = (records: ActionRecord[], name: string) => {
    const record = records.find((r) => r.step === name);
    assert.ok(record, `no ${name} record in ${JSON.stringify(records)}`);
    return record;
  };
  const calls = (method: string) => cloud.faults.counters()[method]?.calls ?? 0;

  it('GKE: UpdateCluster (workload identity) — the second invocation waits for UPDATE_CLUSTER', async () => {
    await start({ gke: OPERATION_MS });
    await cloud.container.store.seedCluster(REF, {
      network: SPOKES[0],
      subnetwork: SPOKES[0],
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true },
      initialNodeCount: 1,
    });
    const first = step(await invocation(SHORT_BUDGET_MS), 'workload-identity');
    assert.equal(first.outcome, 'failed');
    assert.equal(first.retryable, true);
    assert.equal(calls('container.UpdateCluster'), 1);

    const second = step(await invocation(LONG_BUDGET_MS), 'workload-identity');
    assert.equal(second.outcome, 'unchanged', JSON.stringify(second));
    assert.match(String(second.reason), /after UPDATE_CLUSTER operation-/);
    assert.equal(calls('container.UpdateCluster'), 1, 'UpdateCluster was sent a second time');
    assert.ok(calls('container.ListOperations') >= 1);
    assert.equal(cloud.container.store.getCluster(REF)?.workloadIdentityConfig?.workloadPool, POOL);
  });

  it('GKE: UpdateNodePool (GKE_METADATA) — the second invocation waits for UPGRADE_NODES', async () => {
    await start({ gke: OPERATION_MS });
    await cloud.container.store.seedCluster(REF, {
      network: SPOKES[0],
      subnetwork: SPOKES[0],
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true },
      workloadIdentityConfig: { workloadPool: POOL },
      nodePools: [
        { name: 'pool-a', initialNodeCount: 1, config: { workloadMetadataConfig: { mode: 'GCE_METADATA' } } },
      ],
    });
    const first = step(await invocation(SHORT_BUDGET_MS), 'node-pools');
    assert.equal(first.outcome, 'failed');
    assert.equal(calls('container.UpdateNodePool'), 1);

    const second = step(await invocation(LONG_BUDGET_MS), 'node-pools');
    assert.equal(second.outcome, 'unchanged', JSON.stringify(second));
    assert.match(String(second.reason), /pool-a \(after UPGRADE_NODES operation-\S+ \(node pool pool-a\)\)/);
    assert.equal(calls('container.UpdateNodePool'), 1, 'UpdateNodePool was sent a second time');
    const pool = cloud.container.store.getCluster(REF)?.nodePools.find((p) => p.name === 'pool-a');
    assert.equal(pool?.config.workloadMetadataConfig?.mode, 'GKE_METADATA');
  });

  it('GKE Hub: memberships.create — the second invocation finds the membership CREATING and waits', async () => {
    await start({ hub: OPERATION_MS });
    await cloud.container.store.seedCluster(REF, {
      network: SPOKES[0],
      subnetwork: SPOKES[0],
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true },
      workloadIdentityConfig: { workloadPool: POOL },
    });
    const first = step(await invocation(SHORT_BUDGET_MS), 'membership');
    assert.equal(first.outcome, 'failed');
    assert.equal(calls('gkehub.memberships.create'), 1);

    const second = step(await invocation(LONG_BUDGET_MS), 'membership');
    assert.equal(second.outcome, 'unchanged', JSON.stringify(second));
    assert.match(String(second.reason), /CREATING when found, now READY/);
    assert.equal(calls('gkehub.memberships.create'), 1, 'memberships.create was sent a second time');
  });

  it('Compute: networks.updatePeering — the second invocation finds the updatePeering operation and waits', async () => {
    await start({ peering: OPERATION_MS });
    // GKE adds the control-plane peering while it creates the cluster, which holds the network for OPERATION_MS.
    await cloud.container.store.seedCluster(REF, {
      network: SPOKES[0],
      subnetwork: SPOKES[0],
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' },
      workloadIdentityConfig: { workloadPool: POOL },
      initialNodeCount: 1,
    });
    cloud.hub.store.registerMembership(DEMO_PROJECT.id, 'global', REF.name, REF);
    await new Promise((resolve) => setTimeout(resolve, OPERATION_MS + 50));
    const first = step(await invocation(SHORT_BUDGET_MS), 'peering');
    assert.equal(first.outcome, 'failed', JSON.stringify(first));
    assert.equal(calls('compute.networks.updatePeering'), 1);

    const second = step(await invocation(LONG_BUDGET_MS), 'peering');
    assert.equal(second.outcome, 'unchanged', JSON.stringify(second));
    assert.match(String(second.reason), /export=true .*after updatePeering operation-/);
    assert.equal(calls('compute.networks.updatePeering'), 1, 'updatePeering was sent a second time');
    assert.ok(calls('compute.globalOperations.list') >= 1);
  });
});
