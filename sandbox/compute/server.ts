/**
 * Compute Engine networks over REST, as `@google-cloud/compute` (gax REST "fallback" transport) calls them:
 * `/compute/v1/projects/{project}/global/networks…`, `/global/operations` and `/global/operations/{operation}[/wait]`.
 */
import { PassThroughClient } from 'google-auth-library';
import type { FaultInjector, FaultKind } from '../faults';
import { type FaultAnswer, faultAnswer, notFound, type RestRoute, startRestServer } from '../google-rest';
import { NetworkStore, peeringInProgress } from './networks';
import { SubnetworkStore } from './subnetworks';

export interface ComputeServerOptions {
  faults: FaultInjector;
  port?: number;
  /** How long a peering operation stays RUNNING and holds the peering lock; default 30 ms. */
  peeringOpMs?: number | (() => number);
}

export interface ComputeServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  store: NetworkStore;
  /** Subnetworks (read-only over REST); adding one lists it in its network. */
  subnetworks: SubnetworkStore;
  close(): Promise<void>;
}

/**
 * Options that point `NetworksClient` / `GlobalOperationsClient` at a stand-in:
 * - `apiEndpoint` + `port`: host and port (the client would otherwise use compute.googleapis.com:443);
 * - `protocol: 'http'`: gax's REST transport builds `https://` URLs unless told otherwise;
 * - `authClient`: without one gax looks for Application Default Credentials and fails ("Could not load the
 *   default credentials"); `PassThroughClient` sends no Authorization header at all;
 * - `fallback: true` is already the compute default (REST), stated for clarity.
 */
export function computeClientOptions(url: string) {
  const { hostname, port } = new URL(url);
  return {
    apiEndpoint: hostname,
    port: Number(port),
    protocol: 'http',
    fallback: true,
    authClient: new PassThroughClient(),
  };
}

const BASE = '/compute/v1/projects/{project}/global';

export function computeRoutes(
  store: NetworkStore,
  subnetworks: SubnetworkStore = new SubnetworkStore(store),
): RestRoute[] {
  return [
    {
      method: 'GET',
      path: '/compute/v1/projects/{project}/regions/{region}/subnetworks/{subnetwork}',
      name: 'compute.subnetworks.get',
      kind: 'read',
      handle: ({ params }) => subnetworks.get(params.project, params.region, params.subnetwork),
    },
    {
      method: 'GET',
      path: `${BASE}/networks`,
      name: 'compute.networks.list',
      kind: 'read',
      handle: ({ params, query }) => store.listNetworks(params.project, query),
    },
    {
      method: 'POST',
      path: `${BASE}/networks`,
      name: 'compute.networks.insert',
      kind: 'write',
      handle: ({ params, body }) => store.insert(params.project, body),
    },
    {
      method: 'GET',
      path: `${BASE}/networks/{network}`,
      name: 'compute.networks.get',
      kind: 'read',
      handle: ({ params }) => store.get(params.project, params.network),
    },
    {
      method: 'DELETE',
      path: `${BASE}/networks/{network}`,
      name: 'compute.networks.delete',
      kind: 'write',
      handle: ({ params }) => store.delete(params.project, params.network),
    },
    {
      method: 'POST',
      path: `${BASE}/networks/{network}/addPeering`,
      name: 'compute.networks.addPeering',
      kind: 'write',
      handle: ({ params, body }) => store.addPeeringOp(params.project, params.network, body),
    },
    {
      method: 'POST',
      path: `${BASE}/networks/{network}/removePeering`,
      name: 'compute.networks.removePeering',
      kind: 'write',
      handle: ({ params, body }) => store.removePeeringOp(params.project, params.network, body),
    },
    {
      method: 'PATCH',
      path: `${BASE}/networks/{network}/updatePeering`,
      name: 'compute.networks.updatePeering',
      kind: 'write',
      handle: ({ params, body }) => store.updatePeeringOp(params.project, params.network, body),
    },
    {
      method: 'GET',
      path: `${BASE}/operations`,
      name: 'compute.globalOperations.list',
      kind: 'read',
      handle: ({ params, query }) => store.operations.listRest(params.project, query.get('filter')),
    },
    {
      method: 'GET',
      path: `${BASE}/operations/{operation}`,
      name: 'compute.globalOperations.get',
      kind: 'read',
      handle: ({ params }) =>
        store.operations.get(params.project, params.operation) ??
        missingOperation(params.project, params.operation),
    },
    {
      method: 'POST',
      path: `${BASE}/operations/{operation}/wait`,
      name: 'compute.globalOperations.wait',
      kind: 'read',
      handle: async ({ params, signal }) =>
        (await store.operations.wait(params.project, params.operation, signal)) ??
        missingOperation(params.project, params.operation),
    },
  ];
}

function missingOperation(project: string, name: string): never {
  throw notFound(`The resource 'projects/${project}/global/operations/${name}' was not found`);
}

/** Compute answers an injected 'peering-in-progress' with its own 400; the rest map as everywhere. */
function computeFaultAnswer(kind: FaultKind): FaultAnswer {
  return kind === 'peering-in-progress' ? peeringInProgress() : faultAnswer(kind);
}

export async function startComputeServer(options: ComputeServerOptions): Promise<ComputeServer> {
  const store = new NetworkStore(options.peeringOpMs ?? 30);
  const subnetworks = new SubnetworkStore(store);
  const server = await startRestServer({
    routes: computeRoutes(store, subnetworks),
    faults: options.faults,
    port: options.port,
    faultAnswer: computeFaultAnswer,
  });
  return {
    url: server.url,
    store,
    subnetworks,
    close: async () => {
      store.close();
      await server.close();
    },
  };
}
