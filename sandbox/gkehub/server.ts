/**
 * GKE Hub v1 (memberships, features, operations) and Resource Manager v3 (`projects.get`) over REST on one
 * port, as the googleapis clients call them: `/v1/projects/{p}/locations/{l}/…` and `/v3/projects/{p}`.
 */
import type { FaultInjector } from '../faults';
import { type RestRoute, startRestServer } from '../google-rest';
import { FleetStore } from './fleet';
import { ProjectDirectory, type ProjectSpec } from './projects';

export interface GkeHubServerOptions {
  faults: FaultInjector;
  /** The projects Resource Manager (and Hub) know; any other project answers 403. */
  projects: ProjectSpec[];
  port?: number;
  /** How long a Hub operation runs before `done`; default 30 ms. */
  opDelayMs?: number | ((verb: string, target: string) => number);
}

export interface GkeHubServer {
  /** `http://127.0.0.1:PORT`, for both Hub and Resource Manager. */
  url: string;
  store: FleetStore;
  close(): Promise<void>;
}

/**
 * Options for `gkehub(…)` from `googleapis/build/src/apis/gkehub` at a stand-in. googleapis needs only `rootUrl`
 * (it builds `${rootUrl}/v1/{+name}`); with no `auth` it sends no Authorization header. Callers who want
 * deterministic failures add `retry: false`: googleapis turns gaxios retries on by default (3 retries of
 * GET/PUT/DELETE on 408/429/5xx, and of requests that got no answer, with 0.1 s…1.5 s backoff).
 */
export function gkehubOptions(url: string) {
  return { version: 'v1' as const, rootUrl: `${url}/` };
}

/** Options for `cloudresourcemanager(…)` from `googleapis/build/src/apis/cloudresourcemanager`; see gkehubOptions. */
export function resourceManagerOptions(url: string) {
  return { version: 'v3' as const, rootUrl: `${url}/` };
}

const LOCATION = '/v1/projects/{project}/locations/{location}';

export function gkehubRoutes(store: FleetStore): RestRoute[] {
  return [
    {
      method: 'POST',
      path: `${LOCATION}/memberships`,
      name: 'gkehub.memberships.create',
      kind: 'write',
      handle: ({ params, query, body }) =>
        store.createMembership(params.project, params.location, query.get('membershipId'), body),
    },
    {
      method: 'GET',
      path: `${LOCATION}/memberships`,
      name: 'gkehub.memberships.list',
      kind: 'read',
      handle: ({ params, query }) => store.listMemberships(params.project, params.location, query),
    },
    {
      method: 'GET',
      path: `${LOCATION}/memberships/{id}`,
      name: 'gkehub.memberships.get',
      kind: 'read',
      handle: ({ params }) => store.getMembershipRest(params.project, params.location, params.id),
    },
    {
      method: 'PATCH',
      path: `${LOCATION}/memberships/{id}`,
      name: 'gkehub.memberships.patch',
      kind: 'write',
      handle: ({ params, query, body }) =>
        store.patchMembership(params.project, params.location, params.id, query.get('updateMask'), body),
    },
    {
      method: 'DELETE',
      path: `${LOCATION}/memberships/{id}`,
      name: 'gkehub.memberships.delete',
      kind: 'write',
      handle: ({ params }) => store.deleteMembershipRest(params.project, params.location, params.id),
    },
    {
      method: 'POST',
      path: `${LOCATION}/features`,
      name: 'gkehub.features.create',
      kind: 'write',
      handle: ({ params, query, body }) =>
        store.createFeature(params.project, params.location, query.get('featureId'), body),
    },
    {
      method: 'GET',
      path: `${LOCATION}/features`,
      name: 'gkehub.features.list',
      kind: 'read',
      handle: ({ params, query }) => store.listFeatures(params.project, params.location, query),
    },
    {
      method: 'GET',
      path: `${LOCATION}/features/{id}`,
      name: 'gkehub.features.get',
      kind: 'read',
      handle: ({ params }) => store.getFeature(params.project, params.location, params.id),
    },
    {
      method: 'GET',
      path: `${LOCATION}/operations/{id}`,
      name: 'gkehub.operations.get',
      kind: 'read',
      handle: ({ params }) => store.getOperation(params.project, params.location, params.id),
    },
    {
      method: 'GET',
      path: '/v3/projects/{project}',
      name: 'resourcemanager.projects.get',
      kind: 'read',
      handle: ({ params }) => store.projects.get(params.project),
    },
  ];
}

export async function startGkeHubServer(options: GkeHubServerOptions): Promise<GkeHubServer> {
  const store = new FleetStore(new ProjectDirectory(options.projects), options.opDelayMs ?? 30);
  const server = await startRestServer({
    routes: gkehubRoutes(store),
    faults: options.faults,
    port: options.port,
  });
  return {
    url: server.url,
    store,
    close: async () => {
      store.close();
      await server.close();
    },
  };
}
