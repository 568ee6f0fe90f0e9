/**
 * Every adapter method of shared/cloud through its real client library against the local cloud: GKE over gRPC,
 * Compute and GKE Hub over REST, Kubernetes over HTTPS via the Connect gateway stand-in — and how each error
 * class comes out of the adapter (absent → undefined, transient → retried, permanent → thrown at once).
 */
import assert from 'node:assert/strict';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { gkehub } from 'googleapis/build/src/apis/gkehub';
import { containerClientOptions } from '../../sandbox/container/client-options';
import { DEMO_PROJECT, sandboxConfig, seedNetworks } from '../../sandbox/harness';
import { LocalCloud } from '../../sandbox/local-cloud';
import { until } from '../../sandbox/scenario';
import { createCloud } from '../../shared/cloud';
import type { Cloud, KubePort } from '../../shared/cloud/ports';
import { type Config, parseConfig } from '../../shared/config';
import { classify, isAlreadyExists } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { createLogger, MemoryTransport } from '../../shared/log';

const P = DEMO_PROJECT.id;
const ref: ClusterRef = { project: P, location: 'us-east4', name: 'adapter-1' };
const link = `//container.googleapis.com/projects/${P}/locations/us-east4/clusters/adapter-1`;
const issuer = `https://container.googleapis.com/v1/projects/${P}/locations/us-east4/clusters/adapter-1`;

describe('wire: cloud adapters on the real clients', function () {
  this.timeout(30_000);
  let local: LocalCloud;
  let cloud: Cloud;
  let config: Config;
  let gke: ClusterManagerClient;

  before(async () => {
    local = await LocalCloud.start({ projects: [DEMO_PROJECT], fleetProject: P, provisionDelayMs: 10 });
    seedNetworks(local);
    config = parseConfig({ ...sandboxConfig(local), retryBudgetMs: 3_000 });
    cloud = createCloud(config, createLogger({ transport: new MemoryTransport() }));
    gke = new ClusterManagerClient(containerClientOptions(local.container.address));
    await gke.createCluster({
      parent: `projects/${P}/locations/us-east4`,
      cluster: {
        name: ref.name,
        network: 'gcp-spoke200-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.9.0/28' },
        initialNodeCount: 1,
      },
    });
    await until(async () => (await cloud.clusters.get(ref))?.status === 'RUNNING', 'RUNNING');
  });
  afterEach(() => local.faults.clearRules());
  after(async () => {
    await gke.close();
    await local.close();
  });

  describe('clusters (container gRPC)', () => {
    it('get normalises the fields the steps read', async () => {
      const info = await cloud.clusters.get(ref);
      assert.ok(info);
      assert.deepEqual(info.ref, ref);
      assert.deepEqual(info.network, { project: P, name: 'gcp-spoke200-us-east4' });
      assert.equal(info.vpcNative, true);
      assert.equal(info.workloadPool, undefined);
      assert.match(info.peeringName ?? '', /^gke-n[0-9a-f]{16}-[0-9a-f]{4}-[0-9a-f]{4}-peer$/);
      assert.equal(info.fleetMembership, undefined);
      assert.match(info.endpoint ?? '', /^127\.0\.0\.1:\d+$/);
      assert.ok(
        Buffer.from(info.caCertificate ?? '', 'base64')
          .toString()
          .includes('BEGIN CERTIFICATE'),
      );
    });

    it('get of a missing cluster is undefined; list covers every location of the project', async () => {
      assert.equal(await cloud.clusters.get({ ...ref, name: 'nope' }), undefined);
      assert.deepEqual(
        (await cloud.clusters.list(P)).map((c) => c.ref.name),
        ['adapter-1'],
      );
    });

    it('setWorkloadPool updates the cluster and waits for the operation', async () => {
      await cloud.clusters.setWorkloadPool(ref, `${P}.svc.id.goog`);
      assert.equal((await cloud.clusters.get(ref))?.workloadPool, `${P}.svc.id.goog`);
    });

    it('transient UNAVAILABLE is retried to success; PERMISSION_DENIED is thrown at once, permanent', async () => {
      local.faults.setRule('container.GetCluster', { times: 2, faults: ['unavailable'] });
      for (let i = 0; i < 5; i++) assert.ok(await cloud.clusters.get(ref));
      assert.ok(local.faults.counters()['container.GetCluster'].faults > 0);

      local.faults.setRule('container.GetCluster', { errorRate: 1, faults: ['permission-denied'] });
      const before = local.faults.counters()['container.GetCluster'].calls;
      await assert.rejects(cloud.clusters.get(ref), (e) => classify(e) === 'permanent');
      assert.equal(local.faults.counters()['container.GetCluster'].calls - before, 1);
    });
  });

  describe('peering (compute REST)', () => {
    let peeringName: string;
    before(async () => {
      peeringName = (await cloud.clusters.get(ref))?.peeringName ?? '';
    });

    it('get reads both flags; a missing peering or network is undefined', async () => {
      assert.deepEqual(await cloud.peering.get(P, 'gcp-spoke200-us-east4', peeringName), {
        name: peeringName,
        exportCustomRoutes: false,
        importCustomRoutes: false,
      });
      assert.equal(await cloud.peering.get(P, 'gcp-spoke200-us-east4', 'other-peer'), undefined);
      assert.equal(await cloud.peering.get(P, 'no-such-network', peeringName), undefined);
    });

    it('update sends both flags, waits for the global operation, and retries "peering operation in progress"', async () => {
      local.faults.setRule('compute.networks.updatePeering', { times: 2, faults: ['peering-in-progress'] });
      await cloud.peering.update(P, 'gcp-spoke200-us-east4', {
        name: peeringName,
        exportCustomRoutes: true,
        importCustomRoutes: true,
      });
      assert.ok(local.faults.counters()['compute.networks.updatePeering'].faults > 0, 'the 400 was injected');
      const peering = local.compute.store
        .getNetwork(P, 'gcp-spoke200-us-east4')
        ?.peerings?.find((p) => p.name === peeringName);
      assert.equal(peering?.exportCustomRoutes, true);
      assert.equal(peering?.importCustomRoutes, true);
    });
  });

  describe('fleet (gkehub REST)', () => {
    it('createMembership waits for the LRO; list finds it by resource link; a taken id is ALREADY_EXISTS', async () => {
      const created = await cloud.fleet.createMembership(P, 'global', 'adapter-1', {
        resourceLink: link,
        issuer,
        labels: { 'managed-by': 'spokefleet' },
      });
      assert.equal(created.name, `projects/${P}/locations/global/memberships/adapter-1`);
      const listed = await cloud.fleet.listMemberships(P);
      assert.deepEqual(
        listed.map((m) => [m.name, m.resourceLink, m.labels, m.workloadIdentityPool]),
        [[created.name, link, { 'managed-by': 'spokefleet' }, `${P}.svc.id.goog`]],
      );
      await assert.rejects(
        cloud.fleet.createMembership(P, 'global', 'adapter-1', { resourceLink: link, issuer, labels: {} }),
        (e) => isAlreadyExists(e) && classify(e) === 'permanent',
      );
    });

    it('setAuthority patches workload identity onto a membership registered without it', async () => {
      // Registered by hand, with the real client, without an authority.
      const hub = gkehub({ version: 'v1', rootUrl: `${local.hub.url}/`, retry: false });
      const other = link.replace('adapter-1', 'adapter-2');
      await hub.projects.locations.memberships.create({
        parent: `projects/${P}/locations/global`,
        membershipId: 'by-hand',
        requestBody: { endpoint: { gkeCluster: { resourceLink: other } } },
      });
      const name = `projects/${P}/locations/global/memberships/by-hand`;
      const read = async () => (await cloud.fleet.listMemberships(P)).find((m) => m.name === name);
      await until(async () => (await read()) !== undefined, 'membership');
      assert.equal((await read())?.workloadIdentityPool, undefined);
      await cloud.fleet.setAuthority(name, issuer.replace('adapter-1', 'adapter-2'));
      assert.equal((await read())?.workloadIdentityPool, `${P}.svc.id.goog`);
      await cloud.fleet.deleteMembership(name);
      assert.equal(await read(), undefined);
    });

    it('features: hasFeature false, createFeature, then true', async () => {
      assert.equal(await cloud.fleet.hasFeature(P, 'multiclusterservicediscovery'), false);
      await cloud.fleet.createFeature(P, 'multiclusterservicediscovery', { 'managed-by': 'spokefleet' });
      assert.equal(await cloud.fleet.hasFeature(P, 'multiclusterservicediscovery'), true);
    });

    it('429 and 503 are retried; 403 is permanent', async () => {
      local.faults.setRule('gkehub.memberships.list', { times: 2, faults: ['rate-limited', 'unavailable'] });
      for (let i = 0; i < 4; i++) assert.equal((await cloud.fleet.listMemberships(P)).length, 1);
      assert.ok(local.faults.counters()['gkehub.memberships.list'].faults > 0, 'faults were injected');
      local.faults.setRule('gkehub.memberships.list', { errorRate: 1, faults: ['permission-denied'] });
      await assert.rejects(cloud.fleet.listMemberships(P), (e) => classify(e) === 'permanent');
    });
  });

  describe('kube (client-node via the Connect gateway)', () => {
    let kube: KubePort;
    before(async () => {
      kube = await cloud.kube.connect({
        ref,
        membership: `projects/${P}/locations/global/memberships/adapter-1`,
      });
    });

    it('namespaces: get undefined, create, get', async () => {
      assert.equal(await kube.getNamespace('team-a'), undefined);
      await kube.createNamespace('team-a', { 'app.kubernetes.io/managed-by': 'spokefleet' });
      assert.equal(
        (await kube.getNamespace('team-a'))?.metadata.labels?.['app.kubernetes.io/managed-by'],
        'spokefleet',
      );
      await assert.rejects(kube.createNamespace('team-a', {}), (e) => isAlreadyExists(e));
    });

    it('before GKE installs the MCS resources: exports list empty, a create is transient with the reason', async () => {
      // A cluster outside the fleet, reached at its endpoint: GKE has not installed net.gke.io there.
      const fresh: ClusterRef = { project: P, location: 'us-east4', name: 'adapter-no-mcs' };
      await local.container.store.seedCluster(fresh, { network: 'gcp-spoke200-us-east4' });
      const direct = createCloud(
        { ...config, kubeAccess: 'endpoint', retryBudgetMs: 0 },
        createLogger({ transport: new MemoryTransport() }),
      );
      const early = await direct.kube.connect({ ref: fresh });
      assert.deepEqual(await early.listServiceExports(), []);
      await assert.rejects(
        early.createServiceExport('default', 'api', {}),
        (e: Error & { reason?: string }) => {
          assert.equal(classify(e), 'transient');
          assert.equal(e.reason, 'mcs-not-served');
          assert.match(e.message, /does not serve ServiceExports yet/);
          return true;
        },
      );
      // It joins the fleet (which has the MCS feature); after GKE's delay the same call succeeds.
      local.hub.store.registerMembership(P, 'global', 'adapter-no-mcs', fresh);
      await until(async () => local.kube(fresh).api.servesMcs, 'MCS resources served');
      assert.equal((await early.createServiceExport('default', 'api', {})).metadata.name, 'api');
    });

    it('services and ServiceExports round trip; endpoints are counted from EndpointSlices', async () => {
      const store = local.kube(ref).api.store;
      store.put({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'api', namespace: 'team-a', labels: { 'spokefleet.io/export': 'true' } },
        spec: { ports: [{ port: 80 }] },
      });
      store.put({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'api-x1', namespace: 'team-a', labels: { 'kubernetes.io/service-name': 'api' } },
        addressType: 'IPv4',
        endpoints: [
          { addresses: ['10.0.0.1'] },
          { addresses: ['10.0.0.2'], conditions: { ready: false } },
          { addresses: ['10.0.0.3'], conditions: { ready: true } },
        ],
      });
      assert.equal(
        (await kube.getService('team-a', 'api'))?.metadata.labels?.['spokefleet.io/export'],
        'true',
      );
      assert.equal(await kube.getService('team-a', 'nope'), undefined);
      assert.deepEqual(
        (await kube.listServices('spokefleet.io/export=true')).map((s) => s.metadata.name),
        ['api'],
      );
      assert.equal(await kube.countReadyEndpoints('team-a', 'api'), 2);

      assert.equal(await kube.getServiceExport('team-a', 'api'), undefined);
      const created = await kube.createServiceExport('team-a', 'api', {
        'app.kubernetes.io/managed-by': 'spokefleet',
      });
      assert.equal(created.metadata.name, 'api');
      assert.deepEqual(
        (await kube.listServiceExports()).map((e) => `${e.metadata.namespace}/${e.metadata.name}`),
        ['team-a/api'],
      );
      await kube.deleteServiceExport('team-a', 'api');
      assert.equal(await kube.getServiceExport('team-a', 'api'), undefined);
    });

    it('recordEvent writes one Event per (object, reason, message)', async () => {
      const spec = {
        namespace: 'team-a',
        involved: { kind: 'Service', apiVersion: 'v1', name: 'api' },
        reason: 'ExportRefused',
        message: 'Spokefleet did not export this Service: test',
        type: 'Warning' as const,
      };
      assert.equal(await kube.recordEvent(spec), 'created');
      assert.equal(await kube.recordEvent(spec), 'unchanged');
      assert.equal(await kube.recordEvent({ ...spec, message: 'another reason' }), 'created');
      assert.equal(local.kube(ref).api.store.list('events', 'team-a').length, 2);
    });

    it('listEventNames: the names recordEvent gave, and recordEvent with them reads nothing', async () => {
      const spec = {
        namespace: 'team-a',
        involved: { kind: 'Service', apiVersion: 'v1', name: 'web' },
        reason: 'ExportHealth',
        message: 'Imported in 1 of 1 member clusters as web.team-a.svc.clusterset.local',
        type: 'Normal' as const,
      };
      assert.equal(await kube.recordEvent(spec), 'created');
      const known = await kube.listEventNames('ExportHealth');
      assert.equal(known.size, 1);
      assert.match([...known][0], /^team-a\/web\.[0-9a-f]{16}$/);
      const calls = () =>
        ['kube.events.get', 'kube.events.create'].map((m) => local.faults.counters()[m]?.calls ?? 0);
      const before = calls();
      assert.equal(await kube.recordEvent(spec, known), 'unchanged');
      assert.deepEqual(calls(), before, 'neither a read nor a create');
      assert.deepEqual(await kube.listEventNames('ExportRefused').then((n) => n.size), 2);
    });

    it('listServiceImports reads the ServiceImports GKE writes for an export', async () => {
      local.kube(ref).api.store.put({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'team-a' },
        spec: { ports: [{ name: 'http', port: 80 }] },
      });
      await kube.createServiceExport('team-a', 'web', {});
      await until(async () => (await kube.listServiceImports()).length > 0, 'the import');
      const [imported] = await kube.listServiceImports();
      assert.deepEqual(
        [imported.metadata.namespace, imported.metadata.name, imported.ports, imported.clusters],
        ['team-a', 'web', [{ name: 'http', port: 80, protocol: 'TCP' }], ['adapter-1']],
      );
      assert.equal(imported.ips.length, 1);
      await kube.deleteServiceExport('team-a', 'web');
    });

    it('a Kubernetes 503 is retried; a 403 is permanent', async () => {
      local.faults.setRule('kube.namespaces.get', { times: 2, faults: ['unavailable'] });
      for (let i = 0; i < 4; i++) assert.ok(await kube.getNamespace('team-a'));
      assert.ok(local.faults.counters()['kube.namespaces.get'].faults > 0, 'faults were injected');
      local.faults.setRule('kube.namespaces.get', { errorRate: 1, faults: ['permission-denied'] });
      await assert.rejects(kube.getNamespace('team-a'), (e) => classify(e) === 'permanent');
    });

    it('endpoint mode reaches the cluster at its endpoint over TLS verified with its CA', async () => {
      const direct = createCloud(
        { ...config, kubeAccess: 'endpoint' },
        createLogger({ transport: new MemoryTransport() }),
      );
      const viaEndpoint = await direct.kube.connect({ ref });
      assert.ok(await viaEndpoint.getNamespace('team-a'));
    });

    it("a regional membership is reached through its region's gateway host", async () => {
      local.hub.store.registerMembership(P, 'us-east4', 'adapter-1-regional', ref);
      const regional = await cloud.kube.connect({
        ref,
        membership: `projects/${P}/locations/us-east4/memberships/adapter-1-regional`,
      });
      assert.ok(await regional.getNamespace('team-a'));
      // The same id asked of the global host is not there: the gateway answers 404, a permanent failure.
      const wrong = await cloud.kube.connect({
        ref,
        membership: `projects/${P}/locations/global/memberships/adapter-1-regional`,
      });
      await assert.rejects(wrong.listServices('a=b'), (e) => classify(e) === 'permanent');
      local.hub.store.deleteMembership(`projects/${P}/locations/us-east4/memberships/adapter-1-regional`);
    });

    it('the gateway refuses a cluster without a membership', async () => {
      await assert.rejects(cloud.kube.connect({ ref }), (e) => classify(e) === 'permanent');
    });
  });
});
