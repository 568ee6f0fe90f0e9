/**
 * The local cloud as a whole: the admin endpoint (state, faults, counters at run time) and the Connect gateway
 * stand-in, through plain HTTP and the real clients.
 */
import assert from 'node:assert/strict';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { containerClientOptions } from '../../sandbox/container/client-options';
import { DEMO_PROJECT, seedNetworks } from '../../sandbox/harness';
import { LocalCloud, SANDBOX_TOKEN } from '../../sandbox/local-cloud';
import { until } from '../../sandbox/scenario';

describe('wire: the local cloud (admin endpoint, Connect gateway)', () => {
  let cloud: LocalCloud;
  let gke: ClusterManagerClient;
  const parent = `projects/${DEMO_PROJECT.id}/locations/us-east4`;

  before(async () => {
    cloud = await LocalCloud.start({
      projects: [DEMO_PROJECT],
      fleetProject: DEMO_PROJECT.id,
      provisionDelayMs: 10,
      mcsDelayMs: 300,
    });
    seedNetworks(cloud);
    gke = new ClusterManagerClient(containerClientOptions(cloud.container.address));
    await gke.createCluster({
      parent,
      cluster: {
        name: 'lc-1',
        network: 'gcp-spoke100-us-east4',
        ipAllocationPolicy: { useIpAliases: true },
        initialNodeCount: 1,
      },
    });
    await until(
      async () => String((await gke.getCluster({ name: `${parent}/clusters/lc-1` }))[0].status) === 'RUNNING',
      'RUNNING',
    );
  });
  after(async () => {
    await gke.close();
    await cloud.close();
  });

  it('GET /state returns clusters, networks, fleet and every Kubernetes API as JSON', async () => {
    const state = (await (await fetch(`${cloud.adminUrl}/state`)).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(state).sort(), [
      'clusters',
      'counters',
      'faults',
      'fleet',
      'fleetProject',
      'kubernetes',
      'networks',
      'projects',
    ]);
    assert.equal((state.clusters as Array<{ name: string }>)[0].name, 'lc-1');
    assert.ok(
      (state.kubernetes as Record<string, { namespaces: string[] }>)[
        `${DEMO_PROJECT.id}/us-east4/lc-1`
      ].namespaces.includes('default'),
    );
  });

  it('PUT /faults applies rules at run time; the real client sees them; DELETE clears them', async () => {
    const put = await fetch(`${cloud.adminUrl}/faults`, {
      method: 'PUT',
      body: JSON.stringify({ 'container.GetCluster': { errorRate: 1, faults: ['permission-denied'] } }),
    });
    assert.equal(put.status, 200);
    await assert.rejects(
      gke.getCluster({ name: `${parent}/clusters/lc-1` }, { retry: null } as never),
      (e: { code?: number }) => e.code === 7,
    );
    const counters = (await (await fetch(`${cloud.adminUrl}/counters`)).json()) as Record<
      string,
      { faults: number }
    >;
    assert.ok(counters['container.GetCluster'].faults >= 1);
    await fetch(`${cloud.adminUrl}/faults`, { method: 'DELETE' });
    const [cluster] = await gke.getCluster({ name: `${parent}/clusters/lc-1` });
    assert.equal(cluster.name, 'lc-1');
  });

  it('a bad faults body is a 400, and unknown routes 404', async () => {
    assert.equal((await fetch(`${cloud.adminUrl}/faults`, { method: 'PUT', body: '{nope' })).status, 400);
    assert.equal((await fetch(`${cloud.adminUrl}/nothing`)).status, 404);
  });

  it('the Connect gateway reaches a cluster only through a membership, by project number', async () => {
    const path = (id: string) =>
      `${cloud.gatewayUrl}/global/v1/projects/${DEMO_PROJECT.number}/locations/global/gkeMemberships/${id}/api/v1/namespaces`;
    const headers = { authorization: `Bearer ${SANDBOX_TOKEN}` };
    assert.equal((await fetch(path('lc-1'), { headers })).status, 404);
    cloud.hub.store.registerMembership(DEMO_PROJECT.id, 'global', 'lc-1', {
      project: DEMO_PROJECT.id,
      location: 'us-east4',
      name: 'lc-1',
    });
    const response = await fetch(path('lc-1'), { headers });
    assert.equal(response.status, 200);
    const list = (await response.json()) as { kind: string; items: Array<{ metadata: { name: string } }> };
    assert.equal(list.kind, 'NamespaceList');
    assert.ok(list.items.some((n) => n.metadata.name === 'kube-system'));
    // The Kubernetes API behind it still authenticates the caller.
    assert.equal((await fetch(path('lc-1'))).status, 401);
  });

  it('the Connect gateway has one host per location: a regional membership only through its region, by number', async () => {
    const headers = { authorization: `Bearer ${SANDBOX_TOKEN}` };
    const url = (host: string, project: string, location: string, id: string) =>
      `${cloud.gatewayUrl}/${host}/v1/projects/${project}/locations/${location}/gkeMemberships/${id}/api/v1/namespaces`;
    cloud.hub.store.registerMembership(DEMO_PROJECT.id, 'us-east4', 'lc-1-regional', {
      project: DEMO_PROJECT.id,
      location: 'us-east4',
      name: 'lc-1',
    });
    const number = DEMO_PROJECT.number;
    assert.equal(
      (await fetch(url('us-east4', number, 'us-east4', 'lc-1-regional'), { headers })).status,
      200,
    );
    // The global host does not serve a regional membership, nor another region's host, nor a project id.
    assert.equal((await fetch(url('global', number, 'us-east4', 'lc-1-regional'), { headers })).status, 404);
    assert.equal(
      (await fetch(url('us-west1', number, 'us-east4', 'lc-1-regional'), { headers })).status,
      404,
    );
    assert.equal(
      (await fetch(url('us-east4', DEMO_PROJECT.id, 'us-east4', 'lc-1-regional'), { headers })).status,
      404,
    );
  });

  it('net.gke.io is served only after the cluster is a member of a fleet with MCS, and only after a delay', async () => {
    // Through the gateway and the membership the previous tests registered.
    const base = `${cloud.gatewayUrl}/us-east4/v1/projects/${DEMO_PROJECT.number}/locations/us-east4/gkeMemberships/lc-1-regional`;
    const headers = { authorization: `Bearer ${SANDBOX_TOKEN}` };
    const exportsUrl = `${base}/apis/net.gke.io/v1/namespaces/default/serviceexports`;
    const groups = async () =>
      (
        (await (await fetch(`${base}/apis`, { headers })).json()) as { groups: Array<{ name: string }> }
      ).groups.map((g) => g.name);
    // A member but no MCS feature: the resource type does not exist yet.
    assert.ok(!(await groups()).includes('net.gke.io'));
    const before = await fetch(exportsUrl, { headers });
    assert.equal(before.status, 404);
    assert.deepEqual(await before.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
      code: 404,
    });
    cloud.hub.store.createFeature(DEMO_PROJECT.id, 'global', 'multiclusterservicediscovery', {});
    await until(
      async () => cloud.hub.store.list().features.some((f) => f.resourceState.state === 'ACTIVE'),
      'feature ACTIVE',
    );
    const activeAt = Date.now();
    assert.equal((await fetch(exportsUrl, { headers })).status, 404, 'not at once');
    await until(async () => (await fetch(exportsUrl, { headers })).status === 200, 'served');
    assert.ok(Date.now() - activeAt >= 250, 'after the configured delay');
    assert.ok((await groups()).includes('net.gke.io'));
  });
});
