/**
 * Spoke gateway advertisement on the wire: the cluster ranges GKE reports (real ClusterManagerClient), the VPC's subnet ranges
 * (real NetworksClient + SubnetworksClient), and the include-list step against the Aviatrix Controller stand-in
 * with concurrent writers, through the real adapters and the Controller client.
 */
import assert from 'node:assert/strict';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { type AviatrixStandIn, startAviatrix } from '../../sandbox/aviatrix';
import { containerClientOptions } from '../../sandbox/container/client-options';
import { DEMO_PROJECT, sandboxConfig, seedGateways, seedNetworks } from '../../sandbox/harness';
import { LocalCloud } from '../../sandbox/local-cloud';
import { until } from '../../sandbox/scenario';
import { createCloud } from '../../shared/cloud';
import type { Cloud, ClusterInfo } from '../../shared/cloud/ports';
import { type Config, parseConfig } from '../../shared/config';
import type { ClusterRef } from '../../shared/events/types';
import { createLogger, MemoryTransport } from '../../shared/log';
import { AviatrixController } from '../../shared/policy/aviatrix';
import { ensureAdvertised } from '../../shared/reconcile/advertise';
import { Memo, type ReconcileContext } from '../../shared/reconcile/context';

const P = DEMO_PROJECT.id;
const NET = 'gcp-spoke200-us-east4';
const GATEWAY = 'spoke200-us-east4-gw';
const ref = (name: string): ClusterRef => ({ project: P, location: 'us-east4', name });

describe('wire: what a spoke gateway must advertise, and writing it', function () {
  this.timeout(30_000);
  let local: LocalCloud;
  let cloud: Cloud;
  let config: Config;
  let gke: ClusterManagerClient;
  const clusters = new Map<string, ClusterInfo>();

  const create = async (name: string, spec: Record<string, unknown>) => {
    await gke.createCluster({
      parent: `projects/${P}/locations/us-east4`,
      cluster: { name, network: NET, initialNodeCount: 1, ...spec },
    });
    await until(async () => (await cloud.clusters.get(ref(name)))?.status === 'RUNNING', `${name} RUNNING`);
    const info = await cloud.clusters.get(ref(name));
    assert.ok(info);
    clusters.set(name, info);
  };

  before(async () => {
    local = await LocalCloud.start({ projects: [DEMO_PROJECT], fleetProject: P, provisionDelayMs: 10 });
    seedNetworks(local);
    config = parseConfig({ ...sandboxConfig(local), retryBudgetMs: 3_000 });
    cloud = createCloud(config, createLogger({ transport: new MemoryTransport() }));
    gke = new ClusterManagerClient(containerClientOptions(local.container.address));
    await create('adv-peered', {
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.5.0/28' },
    });
    await create('adv-psc', {
      ipAllocationPolicy: { useIpAliases: true, clusterIpv4CidrBlock: '10.60.0.0/14' },
    });
    await create('adv-sized', {
      ipAllocationPolicy: {
        useIpAliases: true,
        clusterIpv4CidrBlock: '/16',
        servicesIpv4CidrBlock: '10.96.0.0/20',
      },
    });
  });
  after(async () => {
    await gke.close();
    await local.close();
  });

  describe('ranges (GKE and Compute stand-ins, real clients)', () => {
    it('ClusterInfo.ranges: the master /28 of a peered cluster, pod and Service ranges', () => {
      assert.deepEqual(clusters.get('adv-peered')?.ranges, {
        master: '172.16.5.0/28',
        pods: '10.4.0.0/14',
        services: '34.118.224.0/20',
      });
      // Private Service Connect: no master range; the pod range asked for is the one GKE reports.
      assert.deepEqual(clusters.get('adv-psc')?.ranges, {
        pods: '10.60.0.0/14',
        services: '34.118.224.0/20',
      });
    });

    it('GKE picks pod ranges that do not overlap other clusters (a /N asks for that size)', () => {
      const sized = clusters.get('adv-sized')?.ranges;
      assert.equal(sized?.services, '10.96.0.0/20');
      assert.match(sized?.pods ?? '', /^10\.\d+\.0\.0\/16$/);
      assert.notEqual(sized?.pods, '10.4.0.0/16', 'inside adv-peered’s 10.4.0.0/14');
    });

    it('listSubnetRanges: networks.get, then subnetworks.get of each subnetwork', async () => {
      local.compute.subnetworks.add(P, 'us-west1', 'gke-west', {
        network: 'gcp-spoke100-us-east4',
        ipCidrRange: '192.168.150.0/24',
        secondaryIpRanges: [{ rangeName: 'pods', ipCidrRange: '10.200.0.0/16' }],
      });
      assert.deepEqual(await cloud.peering.listSubnetRanges(P, 'gcp-spoke100-us-east4'), [
        { name: 'gcp-spoke100-us-east4', region: 'us-east4', primary: '192.168.100.0/24', secondary: [] },
        { name: 'gke-west', region: 'us-west1', primary: '192.168.150.0/24', secondary: ['10.200.0.0/16'] },
      ]);
      assert.equal(await cloud.peering.listSubnetRanges(P, 'no-such-network'), undefined);
    });
  });

  describe('concurrent writers against the Controller stand-in', () => {
    let controller: AviatrixStandIn;
    const password = 'pw-advertise';
    beforeEach(async () => {
      // Every list and edit takes 40 ms, as a Controller's do: writers that start together both read before
      // either writes, so the second write drops the first one's addition unless something repairs it.
      controller = await startAviatrix({
        username: 'spokefleet',
        password,
        vpcs: seedGateways(),
        latencyMs: 40,
      });
    });
    afterEach(() => controller.close());

    const advertiser = () =>
      new AviatrixController({
        controllerUrl: controller.url,
        username: 'spokefleet',
        cacheSeconds: 60,
        password: async () => password,
      });
    const context = (a: AviatrixController): ReconcileContext => ({
      config: parseConfig({
        ...sandboxConfig(local),
        aviatrix: {
          controllerUrl: controller.url,
          username: 'spokefleet',
          passwordSecret: controller.secretName,
          advertise: { verifyDelayMs: 150 },
        },
      }),
      cloud,
      log: createLogger({ transport: new MemoryTransport() }),
      dryRun: false,
      memo: new Memo(),
      advertiser: a,
    });
    const expected = () => [
      '192.168.200.0/24',
      '172.16.5.0/28',
      '10.4.0.0/14',
      '10.60.0.0/14',
      clusters.get('adv-sized')?.ranges?.pods,
    ];

    it('three instances onboarding clusters at the same moment: every range ends advertised, nothing removed', async () => {
      const names = ['adv-peered', 'adv-psc', 'adv-sized'];
      const decisions = await Promise.all(
        names.map((name) => ensureAdvertised(context(advertiser()), clusters.get(name) as ClusterInfo)),
      );
      assert.deepEqual(
        decisions.map((d) => d.outcome),
        ['updated', 'updated', 'updated'],
      );
      assert.deepEqual([...(controller.includeList(GATEWAY) ?? [])].sort(), [...expected()].sort());
      // The race happened and was repaired: more writes than writers.
      assert.ok(controller.edits.length > 3, `edits: ${JSON.stringify(controller.edits)}`);
      // Every write kept the subnet range the gateway advertised before.
      for (const edit of controller.edits) assert.equal(edit.cidrs[0], '192.168.200.0/24');
    });

    it('one instance: its writers take turns, one write each', async () => {
      const shared = advertiser();
      const names = ['adv-peered', 'adv-psc', 'adv-sized'];
      await Promise.all(
        names.map((name) => ensureAdvertised(context(shared), clusters.get(name) as ClusterInfo)),
      );
      assert.deepEqual([...(controller.includeList(GATEWAY) ?? [])].sort(), [...expected()].sort());
      assert.equal(controller.edits.length, 3, JSON.stringify(controller.edits));
      assert.equal(controller.calls.filter((c) => c === 'login').length, 1, 'one session for all');
    });
  });
});
