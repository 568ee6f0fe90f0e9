/**
 * The compute stand-in through the real `@google-cloud/compute` clients (gax REST transport). Deep imports of the
 * two clients load in about 0.2 s instead of about 0.9 s for the package index; the classes are the same.
 */
import assert from 'node:assert/strict';
import type { protos } from '@google-cloud/compute';
import { GlobalOperationsClient } from '@google-cloud/compute/build/src/v1/global_operations_client';
import { NetworksClient } from '@google-cloud/compute/build/src/v1/networks_client';
import { PEERING_IN_PROGRESS_MESSAGE } from '../../sandbox/compute/networks';
import { type ComputeServer, computeClientOptions, startComputeServer } from '../../sandbox/compute/server';
import { FaultInjector, type FaultKind } from '../../sandbox/faults';

/** What a failed gax call carries: a gRPC code, the HTTP status it came from, and the server's message. */
interface GaxError {
  code?: number;
  httpStatusCode?: number;
  message: string;
}

async function failure(call: Promise<unknown>): Promise<GaxError> {
  try {
    await call;
  } catch (error) {
    return error as GaxError;
  }
  assert.fail('expected the call to fail');
}

/** Polls `check` until it holds or the deadline passes. */
async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * gax decodes proto3 `optional` fields with protobufjs, which adds a virtual oneof marker per field
 * (`_name: 'name'`); drop them to compare with the JSON the server wrote.
 */
function withoutOneofMarkers(message: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(message).filter(([k]) => !k.startsWith('_')));
}

/** The typings call `latestResponse` a google.longrunning.Operation; at runtime it is compute's own Operation. */
const opOf = (lro: { latestResponse?: unknown }) =>
  lro.latestResponse as protos.google.cloud.compute.v1.IOperation;

const P = 'spoke-proj';

describe('compute networks stand-in (wire)', () => {
  const faults = new FaultInjector({ seed: 1 });
  let server: ComputeServer;
  let networks: NetworksClient;
  let operations: GlobalOperationsClient;

  before(async () => {
    server = await startComputeServer({ faults, peeringOpMs: 30 });
    networks = new NetworksClient(computeClientOptions(server.url));
    operations = new GlobalOperationsClient(computeClientOptions(server.url));
  });

  after(async () => {
    await networks.close();
    await operations.close();
    await server.close();
  });

  beforeEach(() => {
    faults.clearRules();
    faults.resetCounters();
  });

  /** Waits for a compute operation through `globalOperations.wait` and returns it. */
  async function waitFor(name: string | null | undefined) {
    const [op] = await operations.wait({ project: P, operation: name ?? '' });
    return op;
  }

  async function peeringOf(network: string, name: string) {
    const [n] = await networks.get({ project: P, network });
    const peering = n.peerings?.find((p) => p.name === name);
    assert.ok(peering, `peering ${name} on ${network}`);
    return peering;
  }

  it('inserts a network and reads it back as GCE writes it', async () => {
    const [insert] = await networks.insert({
      project: P,
      networkResource: {
        name: 'vpc-a',
        autoCreateSubnetworks: false,
        routingConfig: { routingMode: 'GLOBAL' },
      },
    });
    const op = opOf(insert);
    assert.equal(op.kind, 'compute#operation');
    assert.equal(op.operationType, 'insert');
    assert.match(op.name ?? '', /^operation-\d+-[0-9a-f-]+$/);
    assert.equal(op.targetLink, `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/vpc-a`);
    assert.equal((await waitFor(op.name)).status, 'DONE');

    const [network] = await networks.get({ project: P, network: 'vpc-a' });
    assert.equal(network.kind, 'compute#network');
    assert.equal(network.name, 'vpc-a');
    assert.match(String(network.id), /^\d{19}$/);
    assert.equal(
      network.selfLink,
      `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/vpc-a`,
    );
    assert.equal(network.autoCreateSubnetworks, false);
    assert.equal(network.routingConfig?.routingMode, 'GLOBAL');
    assert.ok(!Number.isNaN(Date.parse(network.creationTimestamp ?? '')));
    assert.deepEqual(network.peerings, []);
    assert.equal(op.targetId, network.id);
  });

  it('lists networks across pages and by name filter', async () => {
    server.store.addNetwork(P, 'vpc-list-1');
    server.store.addNetwork(P, 'vpc-list-2');
    server.store.addNetwork('other-proj', 'vpc-list-3');
    // maxResults 1 makes the client follow nextPageToken, one request per network.
    const [all] = await networks.list({ project: P, maxResults: 1 });
    const names = all.map((n) => n.name);
    assert.ok(names.includes('vpc-list-1') && names.includes('vpc-list-2'));
    assert.ok(!names.includes('vpc-list-3'), 'another project');
    assert.equal(faults.counters()['compute.networks.list'].calls, names.length);

    const [filtered] = await networks.list({ project: P, filter: 'name = "vpc-list-2"' });
    assert.deepEqual(
      filtered.map((n) => n.name),
      ['vpc-list-2'],
    );
    const [byRegex] = await networks.list({ project: P, filter: 'name eq vpc-list-.*' });
    assert.deepEqual(
      byRegex.map((n) => n.name),
      ['vpc-list-1', 'vpc-list-2'],
    );
  });

  it('shows a peering added through the store API in networks.get', async () => {
    server.store.addNetwork(P, 'vpc-gke');
    await server.store.addPeering(P, 'vpc-gke', {
      name: 'gke-n1a2b3c4-peer',
      peerNetwork: 'projects/gke-prod-us-east4-1234/global/networks/gke-n1a2b3c4-net',
    });
    const peering = await peeringOf('vpc-gke', 'gke-n1a2b3c4-peer');
    assert.deepEqual(withoutOneofMarkers(peering), {
      name: 'gke-n1a2b3c4-peer',
      network:
        'https://www.googleapis.com/compute/v1/projects/gke-prod-us-east4-1234/global/networks/gke-n1a2b3c4-net',
      state: 'ACTIVE',
      stateDetails: '[2024-01-01T00:00:00Z]: Connected.',
      autoCreateRoutes: true,
      exchangeSubnetRoutes: true,
      exportCustomRoutes: false,
      importCustomRoutes: false,
      exportSubnetRoutesWithPublicIp: true,
      importSubnetRoutesWithPublicIp: false,
      stackType: 'IPV4_ONLY',
    });
  });

  it('updatePeering changes exactly the flags sent', async () => {
    server.store.addNetwork(P, 'vpc-flags');
    await server.store.addPeering(P, 'vpc-flags', {
      name: 'peer-x',
      peerNetwork: 'projects/gke-x/global/networks/n',
    });
    await eventually(() => !server.store.peeringLocked(P, 'vpc-flags'));
    const steps: Array<{ send: Record<string, boolean>; expect: [boolean, boolean, boolean] }> = [
      { send: { exportCustomRoutes: true }, expect: [true, false, true] },
      { send: { importCustomRoutes: true }, expect: [true, true, true] },
      {
        send: { exportCustomRoutes: false, exportSubnetRoutesWithPublicIp: false },
        expect: [false, true, false],
      },
    ];
    for (const { send, expect } of steps) {
      const [op] = await networks.updatePeering({
        project: P,
        network: 'vpc-flags',
        networksUpdatePeeringRequestResource: { networkPeering: { name: 'peer-x', ...send } },
      });
      assert.equal(opOf(op).operationType, 'updatePeering');
      assert.equal(opOf(op).status, 'RUNNING');
      const done = await waitFor(opOf(op).name);
      assert.equal(done.status, 'DONE');
      assert.equal(done.progress, 100);
      assert.equal(done.error, undefined);
      const p = await peeringOf('vpc-flags', 'peer-x');
      assert.deepEqual(
        [p.exportCustomRoutes, p.importCustomRoutes, p.exportSubnetRoutesWithPublicIp],
        expect,
        JSON.stringify(send),
      );
    }
  });

  describe('while a peering operation runs', () => {
    // Long enough that a call made right after another lands inside its peering operation on a busy machine.
    let slow: ComputeServer;
    let slowNetworks: NetworksClient;
    let slowOperations: GlobalOperationsClient;

    before(async () => {
      slow = await startComputeServer({ faults, peeringOpMs: 300 });
      slowNetworks = new NetworksClient(computeClientOptions(slow.url));
      slowOperations = new GlobalOperationsClient(computeClientOptions(slow.url));
    });

    after(async () => {
      await slowNetworks.close();
      await slowOperations.close();
      await slow.close();
    });

    async function slowWait(name: string | null | undefined) {
      return (await slowOperations.wait({ project: P, operation: name ?? '' }))[0];
    }

    async function peeringOf(network: string, name: string) {
      const [n] = await slowNetworks.get({ project: P, network });
      const peering = n.peerings?.find((p) => p.name === name);
      assert.ok(peering, `peering ${name} on ${network}`);
      return peering;
    }

    it('refuses a second peering change with 400 while one runs, and accepts it after', async () => {
      slow.store.addNetwork(P, 'vpc-busy');
      await slow.store.addPeering(P, 'vpc-busy', {
        name: 'peer-1',
        peerNetwork: 'projects/gke-y/global/networks/n',
      });
      // The store API (GKE's own peering change) holds the lock too.
      const held = await failure(
        slowNetworks.updatePeering({
          project: P,
          network: 'vpc-busy',
          networksUpdatePeeringRequestResource: {
            networkPeering: { name: 'peer-1', exportCustomRoutes: true },
          },
        }),
      );
      assert.equal(held.message, PEERING_IN_PROGRESS_MESSAGE);
      await eventually(() => !slow.store.peeringLocked(P, 'vpc-busy'));

      const [first] = await slowNetworks.updatePeering({
        project: P,
        network: 'vpc-busy',
        networksUpdatePeeringRequestResource: {
          networkPeering: { name: 'peer-1', exportCustomRoutes: true },
        },
      });
      // Applied when the operation completes, not when it is accepted.
      assert.equal((await peeringOf('vpc-busy', 'peer-1')).exportCustomRoutes, false);
      const busy = await failure(
        slowNetworks.updatePeering({
          project: P,
          network: 'vpc-busy',
          networksUpdatePeeringRequestResource: {
            networkPeering: { name: 'peer-1', importCustomRoutes: true },
          },
        }),
      );
      assert.deepEqual(
        { code: busy.code, httpStatusCode: busy.httpStatusCode, message: busy.message },
        { code: 3, httpStatusCode: 400, message: PEERING_IN_PROGRESS_MESSAGE },
      );
      // The lock covers the peer end too, and the store API waits for it instead of failing.
      const storeAdd = slow.store.addPeering(P, 'vpc-busy', {
        name: 'peer-2',
        peerNetwork: 'projects/gke-z/global/networks/n',
      });
      let storeAdded = false;
      void storeAdd.then(() => {
        storeAdded = true;
      });
      assert.equal(
        (await slowOperations.get({ project: P, operation: opOf(first).name ?? '' }))[0].status,
        'RUNNING',
      );
      assert.equal(storeAdded, false);

      assert.equal((await slowWait(opOf(first).name)).status, 'DONE');
      await storeAdd;
      await eventually(() => !slow.store.peeringLocked(P, 'vpc-busy'));
      const [second] = await slowNetworks.updatePeering({
        project: P,
        network: 'vpc-busy',
        networksUpdatePeeringRequestResource: {
          networkPeering: { name: 'peer-1', importCustomRoutes: true },
        },
      });
      assert.equal(opOf(second).status, 'RUNNING');
      const p = await peeringOf('vpc-busy', 'peer-1');
      assert.deepEqual([p.exportCustomRoutes, p.importCustomRoutes], [true, false]);
      assert.ok(await peeringOf('vpc-busy', 'peer-2'));
    });
  });

  it('adds and removes a peering through the API', async () => {
    server.store.addNetwork(P, 'vpc-peer-a');
    server.store.addNetwork(P, 'vpc-peer-b');
    const [add] = await networks.addPeering({
      project: P,
      network: 'vpc-peer-a',
      networksAddPeeringRequestResource: {
        networkPeering: {
          name: 'a-to-b',
          network: `projects/${P}/global/networks/vpc-peer-b`,
          exportCustomRoutes: true,
        },
      },
    });
    assert.equal((await waitFor(opOf(add).name)).operationType, 'addPeering');
    const peering = await peeringOf('vpc-peer-a', 'a-to-b');
    assert.equal(
      peering.network,
      `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/vpc-peer-b`,
    );
    assert.equal(peering.exportCustomRoutes, true);

    const [remove] = await networks.removePeering({
      project: P,
      network: 'vpc-peer-a',
      networksRemovePeeringRequestResource: { name: 'a-to-b' },
    });
    await waitFor(opOf(remove).name);
    assert.deepEqual((await networks.get({ project: P, network: 'vpc-peer-a' }))[0].peerings, []);
  });

  it('deletes a network; a network with a peering fails in its operation', async () => {
    server.store.addNetwork(P, 'vpc-del');
    const [del] = await networks.delete({ project: P, network: 'vpc-del' });
    assert.equal((await waitFor(opOf(del).name)).status, 'DONE');
    assert.equal((await failure(networks.get({ project: P, network: 'vpc-del' }))).code, 5);

    server.store.addNetwork(P, 'vpc-in-use');
    await server.store.addPeering(P, 'vpc-in-use', {
      name: 'p',
      peerNetwork: 'projects/g/global/networks/n',
    });
    await eventually(() => !server.store.peeringLocked(P, 'vpc-in-use'));
    const [failed] = await networks.delete({ project: P, network: 'vpc-in-use' });
    const op = await waitFor(opOf(failed).name);
    assert.equal(op.status, 'DONE');
    assert.equal(op.httpErrorStatusCode, 400);
    assert.equal(op.error?.errors?.[0]?.code, 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE');
    assert.ok(server.store.getNetwork(P, 'vpc-in-use'), 'still there');
  });

  it('answers operations.get and operations.wait for an unknown operation with 404', async () => {
    const get = await failure(operations.get({ project: P, operation: 'operation-0-missing' }));
    const wait = await failure(operations.wait({ project: P, operation: 'operation-0-missing' }));
    for (const e of [get, wait]) {
      assert.equal(e.code, 5);
      assert.equal(e.httpStatusCode, 404);
      assert.equal(
        e.message,
        `The resource 'projects/${P}/global/operations/operation-0-missing' was not found`,
      );
    }
  });

  const errorCases: Array<{
    title: string;
    call: () => Promise<unknown>;
    code: number;
    http: number;
    message: RegExp;
  }> = [
    {
      title: 'get of an unknown network → 404 NOT_FOUND',
      call: () => networks.get({ project: P, network: 'nope' }),
      code: 5,
      http: 404,
      message: /^The resource 'projects\/spoke-proj\/global\/networks\/nope' was not found$/,
    },
    {
      title: 'updatePeering on an unknown network → 404',
      call: () =>
        networks.updatePeering({
          project: P,
          network: 'nope',
          networksUpdatePeeringRequestResource: { networkPeering: { name: 'x', exportCustomRoutes: true } },
        }),
      code: 5,
      http: 404,
      message: /networks\/nope' was not found/,
    },
    {
      title: 'updatePeering of an unknown peering → 404',
      call: () =>
        networks.updatePeering({
          project: P,
          network: 'vpc-a',
          networksUpdatePeeringRequestResource: {
            networkPeering: { name: 'no-such', exportCustomRoutes: true },
          },
        }),
      code: 5,
      http: 404,
      message: /peerings\/no-such' was not found/,
    },
    {
      title: 'duplicate insert → 409 ALREADY_EXISTS',
      call: () => networks.insert({ project: P, networkResource: { name: 'vpc-a' } }),
      code: 6,
      http: 409,
      message: /^The resource 'projects\/spoke-proj\/global\/networks\/vpc-a' already exists$/,
    },
    {
      title: 'invalid name → 400 INVALID_ARGUMENT',
      call: () => networks.insert({ project: P, networkResource: { name: 'Bad_Name' } }),
      code: 3,
      http: 400,
      message: /Invalid value for field 'resource.name': 'Bad_Name'/,
    },
  ];
  for (const c of errorCases) {
    it(`surfaces ${c.title} as a gax error`, async () => {
      if (!server.store.getNetwork(P, 'vpc-a')) server.store.addNetwork(P, 'vpc-a');
      const e = await failure(c.call());
      assert.equal(e.code, c.code);
      assert.equal(e.httpStatusCode, c.http);
      assert.match(e.message, c.message);
    });
  }

  // updatePeering is non-idempotent for gax, so it is never retried: one call, one fault, one error.
  const faultCases: Array<{ kind: FaultKind; code: number; http?: number }> = [
    { kind: 'unavailable', code: 14, http: 503 },
    { kind: 'rate-limited', code: 8, http: 429 },
    { kind: 'internal', code: 13, http: 500 },
    { kind: 'aborted', code: 10, http: 409 },
    { kind: 'deadline', code: 4, http: 504 },
    { kind: 'permission-denied', code: 7, http: 403 },
    { kind: 'invalid-argument', code: 3, http: 400 },
    { kind: 'peering-in-progress', code: 3, http: 400 },
    { kind: 'reset', code: 14 },
  ];
  for (const c of faultCases) {
    it(`maps an injected '${c.kind}' fault to gRPC code ${c.code}`, async () => {
      faults.setRule('compute.networks.updatePeering', { errorRate: 1, faults: [c.kind] });
      const e = await failure(
        networks.updatePeering({
          project: P,
          network: 'vpc-a',
          networksUpdatePeeringRequestResource: { networkPeering: { name: 'x', exportCustomRoutes: true } },
        }),
      );
      assert.equal(e.code, c.code);
      assert.equal(e.httpStatusCode, c.http);
      if (c.kind === 'peering-in-progress') assert.equal(e.message, PEERING_IN_PROGRESS_MESSAGE);
      assert.deepEqual(faults.counters()['compute.networks.updatePeering'], {
        kind: 'write',
        calls: 1,
        faults: 1,
        maxInFlight: 1,
      });
    });
  }

  it('gax retries networks.get on 503 by default until it succeeds', async () => {
    if (!server.store.getNetwork(P, 'vpc-a')) server.store.addNetwork(P, 'vpc-a');
    faults.setRule('compute.networks.get', { errorRate: 1, faults: ['unavailable'] });
    const get = networks.get({ project: P, network: 'vpc-a' });
    await eventually(() => (faults.counters()['compute.networks.get']?.faults ?? 0) >= 1);
    faults.clearRules();
    const [network] = await get;
    assert.equal(network.name, 'vpc-a');
    const counter = faults.counters()['compute.networks.get'];
    assert.ok(counter.faults >= 1);
    assert.equal(counter.calls, counter.faults + 1);
    assert.deepEqual(faults.totals('compute.networks.get'), { reads: 1, writes: 0, faults: counter.faults });
  });
});
