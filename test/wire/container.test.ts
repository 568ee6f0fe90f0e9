/**
 * The GKE ClusterManager stand-in, seen only through the real ClusterManagerClient over gRPC.
 */
import assert from 'node:assert/strict';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { clusterAuditEntry } from '../../sandbox/audit/entries';
import { MemorySink } from '../../sandbox/audit/sink';
import { containerClientOptions } from '../../sandbox/container/client-options';
import {
  type ContainerHooks,
  type ContainerServer,
  startContainerServer,
} from '../../sandbox/container/server';
import { FaultInjector, type FaultKind } from '../../sandbox/faults';
import type { ClusterRef, LogEntry } from '../../shared/events/types';

const PROJECT = 'spoke-project';
const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n').toString('base64');
/** Assert codes without gax retrying UNAVAILABLE/DEADLINE_EXCEEDED on the idempotent methods. */
const NO_RETRY = { retry: null };

type Call = [hook: keyof ContainerHooks, ...args: unknown[]];

/** Records every hook call; `hold(name)` keeps a cluster's kube provisioning/release pending until released. */
class FakeHooks implements ContainerHooks {
  calls: Call[] = [];
  failPeering?: Error;
  private readonly gates = new Map<string, Promise<void>>();

  hold(cluster: string): () => void {
    let release!: () => void;
    this.gates.set(
      cluster,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => {
      this.gates.delete(cluster);
      release();
    };
  }

  callsOf(hook: keyof ContainerHooks): unknown[][] {
    return this.calls.filter((c) => c[0] === hook).map((c) => c.slice(1));
  }

  async provisionKube(ref: ClusterRef) {
    this.calls.push(['provisionKube', ref]);
    await this.gates.get(ref.name);
    return { endpoint: `127.0.0.1:${7000 + ref.name.length}`, caCertificate: CA };
  }
  async releaseKube(ref: ClusterRef) {
    this.calls.push(['releaseKube', ref]);
    await this.gates.get(ref.name);
  }
  async addPeering(project: string, network: string, peeringName: string) {
    this.calls.push(['addPeering', project, network, peeringName]);
    if (this.failPeering) throw this.failPeering;
  }
  async removePeering(project: string, network: string, peeringName: string) {
    this.calls.push(['removePeering', project, network, peeringName]);
  }
  async registerFleetMembership(ref: ClusterRef, fleetProject: string) {
    this.calls.push(['registerFleetMembership', ref, fleetProject]);
    const region = ref.location.replace(/-[a-z]$/, '');
    return `//gkehub.googleapis.com/projects/${fleetProject}/locations/${region}/memberships/${ref.name}`;
  }
  async unregisterFleetMembership(ref: ClusterRef, membership: string) {
    this.calls.push(['unregisterFleetMembership', ref, membership]);
  }
}

interface Stand {
  server: ContainerServer;
  client: ClusterManagerClient;
  hooks: FakeHooks;
  audit: MemorySink;
  faults: FaultInjector;
  tokens: Array<string | undefined>;
}

async function stand(provisionDelayMs: number): Promise<Stand> {
  const hooks = new FakeHooks();
  const audit = new MemorySink();
  const faults = new FaultInjector({ seed: 1 });
  const tokens: Array<string | undefined> = [];
  const server = await startContainerServer({
    faults,
    audit,
    hooks,
    provisionDelayMs,
    principalFor: (token) => {
      tokens.push(token);
      return token === 'alice-token' ? 'alice@example.com' : 'developer@example.com';
    },
  });
  const client = new ClusterManagerClient(containerClientOptions(server.address));
  return { server, client, hooks, audit, faults, tokens };
}

async function stop(s: Stand): Promise<void> {
  await s.client.close();
  await s.server.close();
}

const nameOf = (ref: ClusterRef) => `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

/** The audit entry that closes operation `id`: the event, not a sleep, says the operation is over. */
const lastEntry = (audit: MemorySink, id: string) =>
  audit.waitFor((e) => e.operation?.id === id && e.operation.last === true);
const firstEntry = (audit: MemorySink, id: string) =>
  audit.waitFor((e) => e.operation?.id === id && e.operation.first === true);

/** gax surfaces the numeric gRPC code as `code` and `"<code> <NAME>: <details>"` as `message`. */
async function rejectsWith(call: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: { code?: number; message?: string }) => {
    assert.equal(error.code, code, `code of ${JSON.stringify(error)}`);
    if (message) assert.match(error.message ?? '', message);
    return true;
  });
}

/** What the builder makes from the same input; the random insertId is the only field allowed to differ. */
function assertBuilt(entry: LogEntry, input: Parameters<typeof clusterAuditEntry>[0]): void {
  const expected = clusterAuditEntry({ ...input, timestamp: new Date(entry.timestamp!) });
  assert.deepEqual(
    { ...entry, insertId: 'x', receiveTimestamp: 'x' },
    {
      ...expected,
      insertId: 'x',
      receiveTimestamp: 'x',
    },
  );
}

describe('container ClusterManager stand-in (gRPC, real ClusterManagerClient)', function () {
  this.timeout(10_000);
  let s: Stand;
  before(async () => {
    s = await stand(10);
  });
  after(() => stop(s));
  beforeEach(() => {
    s.hooks.calls = [];
    s.hooks.failPeering = undefined;
    s.faults.clearRules();
    s.faults.resetCounters();
  });

  describe('CreateCluster', () => {
    const cases = [
      {
        title: 'zonal, v1 parent form',
        ref: { project: PROJECT, location: 'us-east4-a', name: 'zonal-1' },
        request: {
          parent: `projects/${PROJECT}/locations/us-east4-a`,
          cluster: {
            name: 'zonal-1',
            network: 'gcp-spoke100-us-east4',
            subnetwork: 'gcp-spoke100-us-east4-nodes',
            workloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` },
            resourceLabels: { env: 'test' },
          },
        },
        linkPath: `projects/${PROJECT}/zones/us-east4-a`,
        locations: ['us-east4-a'],
        network: 'gcp-spoke100-us-east4',
        subnetwork: 'gcp-spoke100-us-east4-nodes',
        networkConfig: {
          network: `projects/${PROJECT}/global/networks/gcp-spoke100-us-east4`,
          subnetwork: `projects/${PROJECT}/regions/us-east4/subnetworks/gcp-spoke100-us-east4-nodes`,
        },
        useIpAliases: true,
        workloadPool: `${PROJECT}.svc.id.goog`,
        resourceLabels: { env: 'test' },
      },
      {
        title: 'regional, deprecated projectId/zone form, full network paths, routes-based',
        ref: { project: PROJECT, location: 'us-east4', name: 'regional-1' },
        request: {
          projectId: PROJECT,
          zone: 'us-east4',
          cluster: {
            name: 'regional-1',
            network: 'projects/host-project/global/networks/shared-vpc',
            subnetwork: 'projects/host-project/regions/us-east4/subnetworks/gke-subnet',
            ipAllocationPolicy: { useIpAliases: false },
          },
        },
        linkPath: `projects/${PROJECT}/locations/us-east4`,
        locations: ['us-east4-a', 'us-east4-b', 'us-east4-c'],
        network: 'shared-vpc',
        subnetwork: 'gke-subnet',
        networkConfig: {
          network: 'projects/host-project/global/networks/shared-vpc',
          subnetwork: 'projects/host-project/regions/us-east4/subnetworks/gke-subnet',
        },
        useIpAliases: false,
        workloadPool: undefined,
        resourceLabels: {},
      },
    ];
    for (const c of cases) {
      it(`${c.title}: PROVISIONING, then RUNNING with every field GKE fills`, async () => {
        const release = s.hooks.hold(c.ref.name);
        const [op] = await s.client.createCluster(c.request);
        assert.match(op.name!, /^operation-\d{13}-[0-9a-f]{8}$/);
        assert.equal(op.operationType, 'CREATE_CLUSTER');
        assert.equal(op.status, 'RUNNING');
        assert.equal(op.location, c.ref.location);
        assert.equal(op.zone, c.ref.location);
        assert.equal(op.selfLink, `https://container.googleapis.com/v1/${c.linkPath}/operations/${op.name}`);
        assert.equal(
          op.targetLink,
          `https://container.googleapis.com/v1/${c.linkPath}/clusters/${c.ref.name}`,
        );

        const [provisioning] = await s.client.getCluster({ name: nameOf(c.ref) });
        assert.equal(provisioning.status, 'PROVISIONING');
        assert.equal(provisioning.endpoint, '');
        release();
        await lastEntry(s.audit, op.name!);

        const [cluster] = await s.client.getCluster({ name: nameOf(c.ref) });
        assert.equal(cluster.name, c.ref.name);
        assert.equal(cluster.status, 'RUNNING');
        assert.equal(
          cluster.selfLink,
          `https://container.googleapis.com/v1/${c.linkPath}/clusters/${c.ref.name}`,
        );
        assert.match(cluster.id!, /^[0-9a-f]{64}$/);
        assert.equal(cluster.location, c.ref.location);
        assert.equal(cluster.zone, c.ref.location);
        assert.deepEqual(cluster.locations, c.locations);
        assert.ok(Date.now() - Date.parse(cluster.createTime!) < 60_000, cluster.createTime!);
        assert.match(cluster.currentMasterVersion!, /^1\.\d+\.\d+-gke\.\d+$/);
        assert.equal(cluster.network, c.network);
        assert.equal(cluster.subnetwork, c.subnetwork);
        assert.equal(cluster.networkConfig?.network, c.networkConfig.network);
        assert.equal(cluster.networkConfig?.subnetwork, c.networkConfig.subnetwork);
        assert.equal(cluster.ipAllocationPolicy?.useIpAliases, c.useIpAliases);
        // Public clusters use Private Service Connect: endpoints, but no peering.
        assert.equal(cluster.privateClusterConfig?.peeringName, '');
        assert.match(cluster.privateClusterConfig?.publicEndpoint ?? '', /^34\.\d+\.\d+\.\d+$/);
        assert.equal(cluster.workloadIdentityConfig?.workloadPool, c.workloadPool);
        assert.equal(cluster.fleet, null);
        assert.equal(cluster.endpoint, `127.0.0.1:${7000 + c.ref.name.length}`);
        assert.equal(cluster.masterAuth?.clusterCaCertificate, CA);
        assert.deepEqual(cluster.resourceLabels, c.resourceLabels);
        assert.deepEqual(s.hooks.calls, [['provisionKube', c.ref]]);

        const [done] = await s.client.getOperation({
          name: `projects/${PROJECT}/locations/${c.ref.location}/operations/${op.name}`,
        });
        assert.equal(done.status, 'DONE');
        assert.equal(done.error, null);
        assert.ok(done.endTime);
      });
    }

    const privateCases = [
      {
        title: 'peering-based private cluster (masterIpv4CidrBlock)',
        config: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' },
        peering: true,
        privateEndpoint: '172.16.0.18',
      },
      {
        title: 'PSC private cluster without a master CIDR',
        config: { enablePrivateNodes: true },
        peering: false,
      },
      {
        title: 'PSC private cluster with privateEndpointSubnetwork',
        config: {
          enablePrivateNodes: true,
          masterIpv4CidrBlock: '172.16.0.32/28',
          privateEndpointSubnetwork: 'projects/spoke-project/regions/us-east4/subnetworks/cp',
        },
        peering: false,
      },
    ];
    for (const [i, c] of privateCases.entries()) {
      it(`${c.title}: peeringName ${c.peering ? 'and addPeering' : 'absent, no peering hook'}`, async () => {
        const ref = { project: PROJECT, location: 'us-east4', name: `private-${i}` };
        const [op] = await s.client.createCluster({
          parent: `projects/${PROJECT}/locations/us-east4`,
          cluster: { name: ref.name, network: 'gcp-spoke200-us-east4', privateClusterConfig: c.config },
        });
        await lastEntry(s.audit, op.name!);
        const [cluster] = await s.client.getCluster({ name: nameOf(ref) });
        const pcc = cluster.privateClusterConfig!;
        assert.equal(pcc.enablePrivateNodes, true);
        assert.ok(pcc.privateEndpoint);
        if (c.peering) {
          assert.match(pcc.peeringName!, /^gke-n[0-9a-f]{16}-[0-9a-f]{4}-[0-9a-f]{4}-peer$/);
          assert.equal(pcc.privateEndpoint, c.privateEndpoint);
          assert.deepEqual(s.hooks.callsOf('addPeering'), [
            [PROJECT, 'gcp-spoke200-us-east4', pcc.peeringName],
          ]);
        } else {
          assert.equal(pcc.peeringName, '');
          assert.deepEqual(s.hooks.callsOf('addPeering'), []);
        }
      });
    }

    it('born in the fleet: GKE registers the membership and fills cluster.fleet', async () => {
      const ref = { project: PROJECT, location: 'us-east4-b', name: 'fleet-born' };
      const [op] = await s.client.createCluster({
        parent: `projects/${PROJECT}/locations/us-east4-b`,
        cluster: { name: ref.name, fleet: { project: 'fleet-host' } },
      });
      await lastEntry(s.audit, op.name!);
      const [cluster] = await s.client.getCluster({ name: nameOf(ref) });
      assert.deepEqual(s.hooks.callsOf('registerFleetMembership'), [[ref, 'fleet-host']]);
      assert.equal(cluster.fleet?.project, 'fleet-host');
      assert.equal(
        cluster.fleet?.membership,
        '//gkehub.googleapis.com/projects/fleet-host/locations/us-east4/memberships/fleet-born',
      );
      assert.equal(cluster.fleet?.preRegistered, false);
    });

    it('writes the first entry (request, Operation, principal from the bearer token) and a sparse last one', async () => {
      const ref = { project: PROJECT, location: 'us-east4-c', name: 'audited' };
      const request = {
        parent: `projects/${PROJECT}/locations/us-east4-c`,
        cluster: { name: ref.name, network: 'gcp-spoke100-us-east4' },
      };
      const [op] = await s.client.createCluster(request, {
        otherArgs: { headers: { authorization: 'Bearer alice-token' } },
      });
      const last = await lastEntry(s.audit, op.name!);
      const first = await firstEntry(s.audit, op.name!);
      assert.equal(s.tokens.at(-1), 'alice-token');
      assertBuilt(first, {
        method: 'CreateCluster',
        phase: 'first',
        cluster: ref,
        operationId: op.name!,
        principal: 'alice@example.com',
        request: { '@type': 'type.googleapis.com/google.container.v1.CreateClusterRequest', ...request },
        response: {
          '@type': 'type.googleapis.com/google.container.v1.Operation',
          name: op.name,
          zone: 'us-east4-c',
          location: 'us-east4-c',
          operationType: 'CREATE_CLUSTER',
          status: 'RUNNING',
          selfLink: op.selfLink,
          targetLink: op.targetLink,
          startTime: op.startTime,
        },
      });
      assertBuilt(last, { method: 'CreateCluster', phase: 'last', cluster: ref, operationId: op.name! });
      assert.equal(last.protoPayload?.request, undefined);
      assert.equal(last.protoPayload?.response, undefined);
      assert.equal(last.protoPayload?.authenticationInfo, undefined);
      assert.ok(Date.parse(last.timestamp!) >= Date.parse(first.timestamp!));
    });

    it('a failed create (addPeering throws) ends in ERROR, the operation carries the error, the last entry its code', async () => {
      s.hooks.failPeering = new Error(
        'The resource projects/spoke-project/global/networks/missing was not found',
      );
      const ref = { project: PROJECT, location: 'us-east4', name: 'doomed' };
      const [op] = await s.client.createCluster({
        parent: `projects/${PROJECT}/locations/us-east4`,
        cluster: {
          name: ref.name,
          network: 'missing',
          privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.1.0/28' },
        },
      });
      const last = await lastEntry(s.audit, op.name!);
      assertBuilt(last, {
        method: 'CreateCluster',
        phase: 'last',
        cluster: ref,
        operationId: op.name!,
        statusCode: 9,
        statusMessage: s.hooks.failPeering.message,
      });
      assert.equal(last.severity, 'ERROR');
      const [cluster] = await s.client.getCluster({ name: nameOf(ref) });
      assert.equal(cluster.status, 'ERROR');
      const [done] = await s.client.getOperation({
        name: `projects/${PROJECT}/locations/us-east4/operations/${op.name}`,
      });
      assert.equal(done.status, 'DONE');
      assert.equal(done.error?.code, 9);
      assert.equal(done.error?.message, s.hooks.failPeering.message);
      assert.deepEqual(s.hooks.callsOf('provisionKube'), []);
    });

    const invalid = [
      {
        title: 'upper-case cluster name',
        parent: `projects/${PROJECT}/locations/us-east4`,
        name: 'Bad_Name',
      },
      {
        title: 'name longer than 40',
        parent: `projects/${PROJECT}/locations/us-east4`,
        name: `c${'x'.repeat(40)}`,
      },
      { title: 'malformed parent', parent: `projects/${PROJECT}/regions/us-east4`, name: 'ok' },
      { title: 'location "-"', parent: `projects/${PROJECT}/locations/-`, name: 'ok' },
      { title: 'unknown location', parent: `projects/${PROJECT}/locations/moon`, name: 'ok' },
    ];
    for (const c of invalid) {
      it(`INVALID_ARGUMENT: ${c.title}`, async () => {
        await rejectsWith(s.client.createCluster({ parent: c.parent, cluster: { name: c.name } }), 3);
      });
    }

    it('ALREADY_EXISTS for a second cluster of the same name and location', async () => {
      const ref = { project: PROJECT, location: 'us-west1', name: 'twice' };
      await s.server.store.seedCluster(ref);
      await rejectsWith(
        s.client.createCluster({
          parent: `projects/${PROJECT}/locations/us-west1`,
          cluster: { name: 'twice' },
        }),
        6,
        /^6 ALREADY_EXISTS: Already exists: projects\/spoke-project\/locations\/us-west1\/clusters\/twice\.$/,
      );
      // Refused up front: one entry with the error and no operation; seeding wrote none.
      const entries = s.audit.entries.filter((e) => e.resource?.labels?.cluster_name === 'twice');
      assert.equal(entries.length, 1);
      assertBuilt(entries[0], {
        method: 'CreateCluster',
        phase: 'first',
        cluster: ref,
        operationId: '',
        principal: 'developer@example.com',
        request: {
          '@type': 'type.googleapis.com/google.container.v1.CreateClusterRequest',
          parent: `projects/${PROJECT}/locations/us-west1`,
          cluster: { name: 'twice' },
        },
        statusCode: 6,
        statusMessage: `Already exists: projects/${PROJECT}/locations/us-west1/clusters/twice.`,
      });
      assert.equal(entries[0].operation, undefined);
    });
  });

  describe('GetCluster and ListClusters', () => {
    const seeds = [
      { project: 'list-project', location: 'europe-west1', name: 'one' },
      { project: 'list-project', location: 'europe-west1-b', name: 'two' },
      { project: 'list-project', location: 'asia-east1', name: 'three' },
      { project: 'other-project', location: 'europe-west1', name: 'foreign' },
    ];
    before(async () => {
      for (const ref of seeds) await s.server.store.seedCluster(ref, { network: 'vpc' });
    });

    const lists = [
      { request: { parent: 'projects/list-project/locations/-' }, names: ['three', 'one', 'two'] },
      { request: { parent: 'projects/list-project/locations/europe-west1' }, names: ['one'] },
      { request: { projectId: 'list-project', zone: '-' }, names: ['three', 'one', 'two'] },
      { request: { projectId: 'list-project', zone: 'europe-west1-b' }, names: ['two'] },
      { request: { parent: 'projects/empty-project/locations/-' }, names: [] },
    ];
    for (const c of lists) {
      it(`ListClusters ${JSON.stringify(c.request)} → ${c.names.join(', ') || 'none'}`, async () => {
        const [response] = await s.client.listClusters(c.request);
        assert.deepEqual(
          response.clusters?.map((x) => x.name),
          c.names,
        );
        assert.deepEqual(response.missingZones, []);
        for (const cluster of response.clusters ?? []) assert.equal(cluster.status, 'RUNNING');
      });
    }

    it('GetCluster by name and by the deprecated fields; seeds are RUNNING with hooks run and no audit', async () => {
      const [byName] = await s.client.getCluster({
        name: 'projects/list-project/locations/europe-west1-b/clusters/two',
      });
      const [byFields] = await s.client.getCluster({
        projectId: 'list-project',
        zone: 'europe-west1-b',
        clusterId: 'two',
      });
      assert.equal(byName.id, byFields.id);
      assert.equal(byName.status, 'RUNNING');
      assert.equal(byName.endpoint, '127.0.0.1:7003');
      assert.ok(!s.audit.entries.some((e) => e.resource?.labels?.project_id === 'list-project'));
    });

    const missing = [
      {
        title: 'another project',
        request: { name: 'projects/nobody-here/locations/europe-west1/clusters/one' },
      },
      {
        title: 'another location',
        request: { name: 'projects/list-project/locations/europe-west2/clusters/one' },
      },
      {
        title: 'deprecated fields',
        request: { projectId: 'list-project', zone: 'europe-west1', clusterId: 'nope' },
      },
    ];
    for (const c of missing) {
      it(`NOT_FOUND: ${c.title}`, async () => {
        await rejectsWith(s.client.getCluster(c.request, NO_RETRY), 5, /^5 NOT_FOUND: Not found: projects\//);
      });
    }

    it('INVALID_ARGUMENT for a malformed name', async () => {
      await rejectsWith(s.client.getCluster({ name: 'clusters/one' }, NO_RETRY), 3);
    });
  });

  describe('UpdateCluster, DeleteCluster and operations', () => {
    let slow: Stand;
    before(async () => {
      // Operations here run long enough to be seen in flight (the update has no hook to hold it).
      slow = await stand(300);
    });
    after(() => stop(slow));

    it('enables workload identity: RECONCILING, FAILED_PRECONDITION meanwhile, then RUNNING with the pool', async () => {
      const ref = { project: PROJECT, location: 'us-east4', name: 'wi' };
      await slow.server.store.seedCluster(ref);
      const request = {
        name: nameOf(ref),
        update: { desiredWorkloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` } },
      };
      const [op] = await slow.client.updateCluster(request);
      assert.equal(op.operationType, 'UPDATE_CLUSTER');
      assert.equal(op.status, 'RUNNING');

      const [reconciling] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.equal(reconciling.status, 'RECONCILING');
      assert.equal(reconciling.workloadIdentityConfig, null);
      const busy = new RegExp(
        `^9 FAILED_PRECONDITION: Cluster is running incompatible operation ${op.name}\\.$`,
      );
      await rejectsWith(slow.client.updateCluster(request), 9, busy);
      await rejectsWith(slow.client.deleteCluster({ name: nameOf(ref) }, NO_RETRY), 9, busy);

      const last = await lastEntry(slow.audit, op.name!);
      const [cluster] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.equal(cluster.status, 'RUNNING');
      assert.equal(cluster.workloadIdentityConfig?.workloadPool, `${PROJECT}.svc.id.goog`);

      const first = await firstEntry(slow.audit, op.name!);
      assert.equal(first.protoPayload?.methodName, 'google.container.v1.ClusterManager.UpdateCluster');
      assert.deepEqual(first.protoPayload?.request, {
        '@type': 'type.googleapis.com/google.container.v1.UpdateClusterRequest',
        ...request,
      });
      assert.equal(first.protoPayload?.response?.operationType, 'UPDATE_CLUSTER');
      assertBuilt(last, { method: 'UpdateCluster', phase: 'last', cluster: ref, operationId: op.name! });
      // The two calls refused meanwhile wrote one entry each, with their error and outside the operation.
      const refused = slow.audit.entries.filter(
        (e) => e.resource?.labels?.cluster_name === 'wi' && e.operation === undefined,
      );
      assert.deepEqual(
        refused.map((e) => [e.protoPayload?.methodName, e.protoPayload?.status?.code]),
        [
          ['google.container.v1.ClusterManager.UpdateCluster', 9],
          ['google.container.v1.ClusterManager.DeleteCluster', 9],
        ],
      );
      assert.equal(slow.audit.entries.filter((e) => e.operation?.id === op.name).length, 2);
    });

    const badUpdates = [
      { title: 'no field to update', update: {}, code: 3 },
      {
        title: 'bad workload pool',
        update: { desiredWorkloadIdentityConfig: { workloadPool: 'x' } },
        code: 3,
      },
      { title: 'a field the sandbox does not apply', update: { desiredLoggingService: 'none' }, code: 12 },
    ];
    for (const c of badUpdates) {
      it(`UpdateCluster rejects ${c.title} with code ${c.code} and starts nothing`, async () => {
        const ref = {
          project: PROJECT,
          location: 'us-east4',
          name: `bad-update-${c.code}-${c.title.length}`,
        };
        await s.server.store.seedCluster(ref);
        await rejectsWith(s.client.updateCluster({ name: nameOf(ref), update: c.update }), c.code);
        const [cluster] = await s.client.getCluster({ name: nameOf(ref) });
        assert.equal(cluster.status, 'RUNNING');
      });
    }

    it('FAILED_PRECONDITION while the create runs', async () => {
      const ref = { project: PROJECT, location: 'us-east4', name: 'still-creating' };
      const release = s.hooks.hold(ref.name);
      const [op] = await s.client.createCluster({
        parent: `projects/${PROJECT}/locations/us-east4`,
        cluster: { name: ref.name },
      });
      const busy = new RegExp(`incompatible operation ${op.name}`);
      await rejectsWith(s.client.deleteCluster({ name: nameOf(ref) }, NO_RETRY), 9, busy);
      await rejectsWith(
        s.client.updateCluster({
          name: nameOf(ref),
          update: { desiredWorkloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` } },
        }),
        9,
        busy,
      );
      release();
      await lastEntry(s.audit, op.name!);
    });

    it('deletes a born-in-fleet peering cluster: STOPPING, hooks undo provisioning, then NOT_FOUND', async () => {
      const ref = { project: PROJECT, location: 'us-east4-a', name: 'doomed-later' };
      await s.server.store.seedCluster(ref, {
        network: 'gcp-spoke100-us-east4',
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.2.0/28' },
        fleet: { project: 'fleet-host' },
      });
      const [before] = await s.client.getCluster({ name: nameOf(ref) });
      const peering = before.privateClusterConfig!.peeringName!;
      const membership = before.fleet!.membership!;
      s.hooks.calls = [];

      const release = s.hooks.hold(ref.name);
      const [op] = await s.client.deleteCluster({
        projectId: PROJECT,
        zone: 'us-east4-a',
        clusterId: ref.name,
      });
      assert.equal(op.operationType, 'DELETE_CLUSTER');
      assert.equal(op.status, 'RUNNING');
      const [stopping] = await s.client.getCluster({ name: nameOf(ref) });
      assert.equal(stopping.status, 'STOPPING');
      release();
      const last = await lastEntry(s.audit, op.name!);

      await rejectsWith(s.client.getCluster({ name: nameOf(ref) }, NO_RETRY), 5);
      assert.deepEqual(s.hooks.calls, [
        ['unregisterFleetMembership', ref, membership],
        ['removePeering', PROJECT, 'gcp-spoke100-us-east4', peering],
        ['releaseKube', ref],
      ]);
      const first = await firstEntry(s.audit, op.name!);
      assertBuilt(first, {
        method: 'DeleteCluster',
        phase: 'first',
        cluster: ref,
        operationId: op.name!,
        principal: 'developer@example.com',
        request: {
          '@type': 'type.googleapis.com/google.container.v1.DeleteClusterRequest',
          projectId: PROJECT,
          zone: 'us-east4-a',
          clusterId: ref.name,
        },
        response: { '@type': 'type.googleapis.com/google.container.v1.Operation', ...stripDefaults(op) },
      });
      assertBuilt(last, { method: 'DeleteCluster', phase: 'last', cluster: ref, operationId: op.name! });
      assert.equal(
        last.protoPayload?.resourceName,
        `projects/${PROJECT}/zones/us-east4-a/clusters/${ref.name}`,
      );
    });

    it("a membership made through the Fleet API (preRegistered) is not GKE's to delete", async () => {
      const ref = { project: PROJECT, location: 'us-east4', name: 'pre-registered' };
      await s.server.store.seedCluster(ref);
      const membership =
        '//gkehub.googleapis.com/projects/fleet-host/locations/global/memberships/pre-registered';
      s.server.store.setFleet(ref, { project: 'fleet-host', membership, preRegistered: true });
      const [cluster] = await s.client.getCluster({ name: nameOf(ref) });
      assert.deepEqual(
        {
          project: cluster.fleet?.project,
          membership: cluster.fleet?.membership,
          pre: cluster.fleet?.preRegistered,
        },
        { project: 'fleet-host', membership, pre: true },
      );
      s.hooks.calls = [];
      const [op] = await s.client.deleteCluster({ name: nameOf(ref) });
      await lastEntry(s.audit, op.name!);
      assert.deepEqual(s.hooks.calls, [['releaseKube', ref]]);
    });

    it('NOT_FOUND deleting or updating a cluster that does not exist', async () => {
      const name = `projects/${PROJECT}/locations/us-east4/clusters/never`;
      await rejectsWith(s.client.deleteCluster({ name }, NO_RETRY), 5);
      await rejectsWith(
        s.client.updateCluster({
          name,
          update: { desiredWorkloadIdentityConfig: { workloadPool: 'p-pool.svc.id.goog' } },
        }),
        5,
      );
    });

    it('GetOperation (both forms) and ListOperations (one location, or "-")', async () => {
      const ops = [];
      for (const location of ['us-central1', 'us-central1-f']) {
        const [op] = await s.client.createCluster({
          parent: `projects/ops-project/locations/${location}`,
          cluster: { name: 'op-target' },
        });
        ops.push(op);
        await lastEntry(s.audit, op.name!);
      }
      const [byName] = await s.client.getOperation({
        name: `projects/ops-project/locations/us-central1/operations/${ops[0].name}`,
      });
      const [byFields] = await s.client.getOperation({
        projectId: 'ops-project',
        zone: 'us-central1-f',
        operationId: ops[1].name,
      });
      assert.deepEqual([byName.name, byName.status], [ops[0].name, 'DONE']);
      assert.deepEqual([byFields.name, byFields.status], [ops[1].name, 'DONE']);

      const [all] = await s.client.listOperations({ parent: 'projects/ops-project/locations/-' });
      assert.deepEqual(
        all.operations?.map((o) => o.name),
        ops.map((o) => o.name),
      );
      assert.deepEqual(all.missingZones, []);
      const [zonal] = await s.client.listOperations({ projectId: 'ops-project', zone: 'us-central1-f' });
      assert.deepEqual(
        zonal.operations?.map((o) => o.name),
        [ops[1].name],
      );

      await rejectsWith(
        s.client.getOperation(
          { name: `projects/other-project/locations/us-central1/operations/${ops[0].name}` },
          NO_RETRY,
        ),
        5,
      );
      await rejectsWith(
        s.client.getOperation(
          { name: 'projects/ops-project/locations/us-central1/operations/operation-1-deadbeef' },
          NO_RETRY,
        ),
        5,
      );
    });
  });

  describe("GCP's rules: the cluster's own workload pool, node pools on the GKE metadata server, add-ons", () => {
    let slow: Stand;
    before(async () => {
      slow = await stand(300);
    });
    after(() => stop(slow));

    const poolName = (ref: ClusterRef, pool: string) => `${nameOf(ref)}/nodePools/${pool}`;
    async function done(operation: string | null | undefined, ref: ClusterRef): Promise<void> {
      const name = `projects/${ref.project}/locations/${ref.location}/operations/${operation}`;
      for (;;) {
        const [op] = await slow.client.getOperation({ name });
        if (op.status === 'DONE') return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }

    it("only the pool of the cluster's own project is accepted, at create and at update", async () => {
      const foreign =
        /INVALID_ARGUMENT: Workload pool "fleet-host\.svc\.id\.goog" is not allowed: the only accepted workload pool is spoke-project\.svc\.id\.goog/;
      await rejectsWith(
        slow.client.createCluster({
          parent: `projects/${PROJECT}/locations/us-east4`,
          cluster: {
            name: 'foreign-pool',
            workloadIdentityConfig: { workloadPool: 'fleet-host.svc.id.goog' },
          },
        }),
        3,
        foreign,
      );
      const ref = { project: PROJECT, location: 'us-east4', name: 'own-pool' };
      await slow.server.store.seedCluster(ref);
      await rejectsWith(
        slow.client.updateCluster({
          name: nameOf(ref),
          update: { desiredWorkloadIdentityConfig: { workloadPool: 'fleet-host.svc.id.goog' } },
        }),
        3,
        foreign,
      );
      const [op] = await slow.client.updateCluster({
        name: nameOf(ref),
        update: { desiredWorkloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` } },
      });
      await done(op.name, ref);
      const [cluster] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.equal(cluster.workloadIdentityConfig?.workloadPool, `${PROJECT}.svc.id.goog`);
    });

    it('node pools: default-pool (3 nodes, surge 1/0) on GCE_METADATA without workload identity, GKE_METADATA with it', async () => {
      const off = { project: PROJECT, location: 'us-east4', name: 'pools-off' };
      const on = { project: PROJECT, location: 'us-east4', name: 'pools-on' };
      await slow.server.store.seedCluster(off);
      await slow.server.store.seedCluster(on, {
        workloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` },
      });
      const [a] = await slow.client.getCluster({ name: nameOf(off) });
      const [b] = await slow.client.getCluster({ name: nameOf(on) });
      assert.deepEqual(
        a.nodePools?.map((p) => [
          p.name,
          p.config?.workloadMetadataConfig?.mode,
          p.initialNodeCount,
          p.upgradeSettings?.maxSurge,
          p.upgradeSettings?.maxUnavailable,
          p.status,
        ]),
        [['default-pool', 'GCE_METADATA', 3, 1, 0, 'RUNNING']],
      );
      assert.equal(b.nodePools?.[0].config?.workloadMetadataConfig?.mode, 'GKE_METADATA');
      // gcloud's default add-ons include HttpLoadBalancing.
      assert.notEqual(a.addonsConfig?.httpLoadBalancing?.disabled, true);
    });

    it('a create asking for GKE_METADATA without workload identity is refused; disabled HttpLoadBalancing is kept', async () => {
      await rejectsWith(
        slow.client.createCluster({
          parent: `projects/${PROJECT}/locations/us-east4`,
          cluster: {
            name: 'meta-no-wi',
            nodePools: [{ name: 'p', config: { workloadMetadataConfig: { mode: 'GKE_METADATA' } } }],
          },
        }),
        9,
        /GKE_METADATA can only be enabled if Workload Identity is enabled at the cluster level/,
      );
      const ref = { project: PROJECT, location: 'us-east4', name: 'no-lb' };
      await slow.server.store.seedCluster(ref, { addonsConfig: { httpLoadBalancing: { disabled: true } } });
      const [cluster] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.equal(cluster.addonsConfig?.httpLoadBalancing?.disabled, true);
    });

    it('UpdateNodePool: GKE_METADATA needs cluster workload identity; then an UPGRADE_NODES operation, one per pool, none beside a cluster operation', async () => {
      const ref = { project: PROJECT, location: 'us-east4', name: 'migrate' };
      await slow.server.store.seedCluster(ref, {
        nodePools: [{ name: 'a' }, { name: 'b', initialNodeCount: 1 }],
      });
      const toGke = (pool: string) => ({
        name: poolName(ref, pool),
        workloadMetadataConfig: { mode: 'GKE_METADATA' as const },
      });
      await rejectsWith(
        slow.client.updateNodePool(toGke('a')),
        9,
        /can only be enabled if Workload Identity is enabled at the cluster level/,
      );
      await rejectsWith(slow.client.updateNodePool(toGke('nope')), 5);

      const [wi] = await slow.client.updateCluster({
        name: nameOf(ref),
        update: { desiredWorkloadIdentityConfig: { workloadPool: `${PROJECT}.svc.id.goog` } },
      });
      // A node-pool operation waits for the cluster-level one.
      await rejectsWith(
        slow.client.updateNodePool(toGke('a')),
        9,
        new RegExp(`incompatible operation ${wi.name}`),
      );
      await done(wi.name, ref);

      const [opA] = await slow.client.updateNodePool(toGke('a'));
      assert.equal(opA.operationType, 'UPGRADE_NODES');
      assert.match(opA.targetLink ?? '', /\/clusters\/migrate\/nodePools\/a$/);
      const [during] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.deepEqual(
        during.nodePools?.map((p) => [p.name, p.status, p.config?.workloadMetadataConfig?.mode]),
        [
          ['a', 'RECONCILING', 'GCE_METADATA'],
          ['b', 'RUNNING', 'GCE_METADATA'],
        ],
      );
      // One operation per pool; a cluster-level change waits for any of them.
      await rejectsWith(
        slow.client.updateNodePool(toGke('a')),
        9,
        new RegExp(`incompatible operation ${opA.name}`),
      );
      await rejectsWith(
        slow.client.updateCluster({
          name: nameOf(ref),
          update: { desiredWorkloadIdentityConfig: { workloadPool: '' } },
        }),
        9,
        new RegExp(`incompatible operation ${opA.name}`),
      );
      const [opB] = await slow.client.updateNodePool(toGke('b'));
      await done(opA.name, ref);
      await done(opB.name, ref);
      const [after] = await slow.client.getCluster({ name: nameOf(ref) });
      assert.deepEqual(
        after.nodePools?.map((p) => [p.name, p.status, p.config?.workloadMetadataConfig?.mode]),
        [
          ['a', 'RUNNING', 'GKE_METADATA'],
          ['b', 'RUNNING', 'GKE_METADATA'],
        ],
      );
    });
  });

  describe('faults and counters', () => {
    const table: Array<[FaultKind, number]> = [
      ['unavailable', 14],
      ['rate-limited', 8],
      ['internal', 13],
      ['aborted', 10],
      ['peering-in-progress', 10],
      ['deadline', 4],
      ['reset', 14],
      ['permission-denied', 7],
      ['invalid-argument', 3],
    ];
    for (const [kind, code] of table) {
      it(`${kind} → gRPC code ${code}, counted as a fault`, async () => {
        s.faults.setRule('container.GetCluster', { errorRate: 1, faults: [kind] });
        await rejectsWith(
          s.client.getCluster({ name: `projects/${PROJECT}/locations/us-east4/clusters/x` }, NO_RETRY),
          code,
        );
        assert.deepEqual(s.faults.counters()['container.GetCluster'], {
          kind: 'read',
          calls: 1,
          faults: 1,
          maxInFlight: 1,
        });
      });
    }

    it('a faulted write does nothing and is counted as a write', async () => {
      s.faults.setRule('container.*', { errorRate: 1, faults: ['unavailable'] });
      await rejectsWith(
        s.client.createCluster({
          parent: `projects/${PROJECT}/locations/us-east4`,
          cluster: { name: 'never-made' },
        }),
        14,
      );
      s.faults.clearRules();
      await rejectsWith(
        s.client.getCluster({ name: `projects/${PROJECT}/locations/us-east4/clusters/never-made` }, NO_RETRY),
        5,
      );
      assert.deepEqual(s.faults.totals('container.'), { reads: 1, writes: 0, faults: 1 });
      assert.equal(s.faults.counters()['container.CreateCluster'].kind, 'write');
    });

    it('gax retries UNAVAILABLE on reads by default; maxRetries counts attempts and ends in DEADLINE_EXCEEDED', async () => {
      s.faults.setRule('container.ListClusters', { errorRate: 1, faults: ['unavailable'] });
      await rejectsWith(
        s.client.listClusters({ parent: `projects/${PROJECT}/locations/-` }, { maxRetries: 2 }),
        4,
        /Exceeded maximum number of retries/,
      );
      assert.equal(s.faults.counters()['container.ListClusters'].calls, 2);
    });

    it('served calls are counted too, and methods it lacks answer UNIMPLEMENTED', async () => {
      await s.client.listClusters({ parent: `projects/${PROJECT}/locations/-` });
      await s.client.listOperations({ parent: `projects/${PROJECT}/locations/-` });
      assert.deepEqual(s.faults.totals('container.'), { reads: 2, writes: 0, faults: 0 });
      await rejectsWith(
        s.client.listNodePools({ parent: `projects/${PROJECT}/locations/us-east4/clusters/x` }, NO_RETRY),
        12,
      );
    });
  });
});

/** An Operation as the client decodes it (every field, defaults included) back to the fields GKE set. */
function stripDefaults(op: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(op).filter(([, v]) => v !== '' && v !== null && !(Array.isArray(v) && v.length === 0)),
  );
}
