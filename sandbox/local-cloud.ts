/**
 * The local cloud: every stand-in started and wired together like the real services are. Creating a GKE cluster
 * through the gRPC API starts its Kubernetes API, adds GKE's control-plane peering to the VPC for peering-based
 * private clusters, and registers born-in-fleet clusters with the Hub; the Connect gateway routes to each
 * membership's cluster. One FaultInjector and one audit sink serve them all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ClusterRef, LogEntry } from '../shared/events/types';
import type { AuditSink } from './audit/sink';
import { type ComputeServer, startComputeServer } from './compute/server';
import type { ContainerStore } from './container/server';
import { startContainerServer } from './container/server';
import { FaultInjector, type FaultRule } from './faults';
import { type GkeHubServer, startGkeHubServer } from './gkehub/server';
import { type KubeServer, startKubeServer } from './kube';
import { McsController, type McsMember } from './mcs-controller';
import type { Timing } from './timing';

export interface SandboxProject {
  id: string;
  number: string;
}

export interface LocalCloudOptions {
  projects: SandboxProject[];
  /** The fleet host project (one of `projects`). */
  fleetProject: string;
  faults?: FaultInjector;
  provisionDelayMs?: number;
  peeringOpMs?: number;
  hubOpDelayMs?: number;
  /**
   * How long after a cluster becomes a member of a fleet with Multi-Cluster Services its `net.gke.io` resources
   * appear (default 100 ms; on GKE, minutes). Until then ServiceExport calls get the API server's 404.
   */
  mcsDelayMs?: number;
  /**
   * How long after a change (a ServiceExport, a Service, a namespace) the stand-in MCS controller writes the
   * ServiceImports and export conditions that follow from it (default 50 ms; on GKE, minutes).
   */
  mcsImportDelayMs?: number;
  /** Serve `net.gke.io` in every cluster from the start, for tests about other behaviour (default false). */
  mcsAtStart?: boolean;
  /** Bearer token → principal, for the Kubernetes APIs and the audit entries they write. */
  principals?: Record<string, string>;
  /**
   * The timing profile: `realistic` draws every operation's duration (and the MCS resources' arrival) from the
   * table of typical GCP durations, scaled, in place of the fixed delays above.
   */
  timing?: Timing;
}

export const SANDBOX_TOKEN = 'sandbox-token';
export const DEVELOPER_TOKEN = 'developer-token';

/** Forwards to whichever sinks are attached now; stand-ins keep one reference for their whole life. */
class SwitchSink implements AuditSink {
  sinks: AuditSink[] = [];
  emit(entry: LogEntry): void {
    for (const sink of this.sinks) {
      try {
        sink.emit(entry);
      } catch {
        // A sink's failure must never fail the API call that caused the entry.
      }
    }
  }
}

/** What the MCS controller's output depends on, in each cluster. */
const MCS_INPUTS = new Set(['serviceexports', 'services', 'namespaces']);

const refKey = (ref: ClusterRef) => `${ref.project}/${ref.location}/${ref.name}`;

/** `//container.googleapis.com/projects/P/locations|zones/L/clusters/C` → `P/L/C`. */
function refKeyOfLink(link: string | undefined): string | undefined {
  const match = /projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/.exec(link ?? '');
  return match ? `${match[1]}/${match[2]}/${match[3]}` : undefined;
}

export class LocalCloud {
  readonly kubes = new Map<string, KubeServer>();
  private readonly sink = new SwitchSink();
  private servers: Array<{ close(): Promise<void> }> = [];
  private gatewayServer?: Server;
  private readonly mcsTimers = new Map<string, NodeJS.Timeout>();
  private adminServer?: Server;
  private readonly mcsUnsubscribes: Array<() => void> = [];
  readonly mcs: McsController;
  container!: { address: string; store: ContainerStore };
  compute!: ComputeServer;
  hub!: GkeHubServer;
  gatewayUrl = '';
  adminUrl = '';

  private constructor(
    readonly options: LocalCloudOptions,
    readonly faults: FaultInjector,
    readonly principals: Record<string, string>,
  ) {
    this.mcs = new McsController(() => this.mcsMembers(), options.mcsImportDelayMs ?? 50);
  }

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    const faults = options.faults ?? new FaultInjector();
    const principals = options.principals ?? {
      [SANDBOX_TOKEN]: `spokefleet@${options.fleetProject}.iam.gserviceaccount.com`,
      [DEVELOPER_TOKEN]: 'developer@example.com',
    };
    const cloud = new LocalCloud(options, faults, principals);
    await cloud.startAll();
    return cloud;
  }

  /** Where audit entries go from now on (replaces the previous sinks). */
  setAuditSinks(...sinks: AuditSink[]): void {
    this.sink.sinks = sinks;
  }

  get selfPrincipal(): string {
    return this.principals[SANDBOX_TOKEN];
  }

  kube(ref: ClusterRef): KubeServer {
    const kube = this.kubes.get(refKey(ref));
    if (!kube) throw new Error(`no Kubernetes API for ${refKey(ref)}`);
    return kube;
  }

  /** Endpoint overrides for SPOKEFLEET_CONFIG, pointing every adapter at this local cloud. */
  endpoints() {
    return {
      container: this.container.address,
      compute: this.compute.url,
      gkehub: this.hub.url,
      resourcemanager: this.hub.url,
      connectGateway: `${this.gatewayUrl}/{location}`,
      token: SANDBOX_TOKEN,
    };
  }

  /** The whole local cloud as plain JSON (served at GET /state). */
  state() {
    const clusters = this.container.store
      .listClusters({})
      .map((c) => c as unknown as Record<string, unknown>);
    const kubernetes: Record<string, unknown> = {};
    for (const [key, kube] of this.kubes) {
      const store = kube.api.store;
      kubernetes[key] = {
        namespaces: store.list('namespaces').map((o) => o.metadata.name),
        services: store.list('services').map((o) => ({
          namespace: o.metadata.namespace,
          name: o.metadata.name,
          labels: o.metadata.labels ?? {},
        })),
        serviceexports: store.list('serviceexports').map((o) => ({
          namespace: o.metadata.namespace,
          name: o.metadata.name,
          labels: o.metadata.labels ?? {},
        })),
        serviceimports: store.list('serviceimports').map((o) => ({
          namespace: o.metadata.namespace,
          name: o.metadata.name,
          ports: (o.spec as { ports?: unknown } | undefined)?.ports,
        })),
        events: store.list('events').map((o) => ({
          namespace: o.metadata.namespace,
          name: o.metadata.name,
          reason: (o as { reason?: string }).reason,
          message: (o as { message?: string }).message,
        })),
      };
    }
    return {
      projects: this.options.projects,
      fleetProject: this.options.fleetProject,
      clusters,
      networks: this.compute.store.list(),
      fleet: this.hub.store.list(),
      kubernetes,
      faults: this.faults.rules(),
      counters: this.faults.counters(),
    };
  }

  /** The clusters the MCS controller serves: READY members of a fleet with the feature, whose CRDs are installed. */
  private mcsMembers(): McsMember[] {
    const { memberships, features } = this.hub.store.list();
    const mcsFleets = this.mcsFleets(features);
    const members: McsMember[] = [];
    for (const m of memberships) {
      const fleet = m.name.split('/')[1];
      const key = refKeyOfLink(m.endpoint?.gkeCluster?.resourceLink);
      const kube = key && this.kubes.get(key);
      if (m.state.code !== 'READY' || !mcsFleets.has(fleet) || !kube || !kube.api.servesMcs) continue;
      members.push({ key, fleet, membership: m.name.split('/').pop() ?? '', store: kube.api.store });
    }
    return members;
  }

  private mcsFleets(features: Array<{ name: string; resourceState: { state: string } }>): Set<string> {
    return new Set(
      features
        .filter(
          (f) =>
            f.resourceState.state === 'ACTIVE' && f.name.endsWith('/features/multiclusterservicediscovery'),
        )
        .map((f) => f.name.split('/')[1]),
    );
  }

  /**
   * GKE installs the MCS CRDs in a cluster some time after it is a (READY) member of a fleet that has the
   * `multiclusterservicediscovery` feature: schedule that for every cluster that qualifies now.
   */
  private syncMcs(): void {
    const { memberships, features } = this.hub.store.list();
    const mcsFleets = this.mcsFleets(features);
    // Membership changes change which clusters get imports.
    this.mcs.schedule();
    for (const [key, kube] of this.kubes) {
      if (kube.api.servesMcs || this.mcsTimers.has(key)) continue;
      const member = memberships.some(
        (m) =>
          m.state.code === 'READY' &&
          mcsFleets.has(m.name.split('/')[1]) &&
          refKeyOfLink(m.endpoint?.gkeCluster?.resourceLink) === key,
      );
      if (!member) continue;
      const timer = setTimeout(
        () => {
          this.mcsTimers.delete(key);
          kube.api.serveMcs();
          this.mcs.schedule();
        },
        this.options.timing?.draw('mcsResourcesArrival') ?? this.options.mcsDelayMs ?? 100,
      );
      timer.unref();
      this.mcsTimers.set(key, timer);
    }
  }

  async close(): Promise<void> {
    this.mcs.close();
    for (const unsubscribe of this.mcsUnsubscribes) unsubscribe();
    for (const timer of this.mcsTimers.values()) clearTimeout(timer);
    this.mcsTimers.clear();
    for (const kube of this.kubes.values()) await kube.close().catch(() => undefined);
    this.kubes.clear();
    for (const server of this.servers.reverse()) await server.close().catch(() => undefined);
    this.servers = [];
    for (const server of [this.gatewayServer, this.adminServer]) {
      if (server) await new Promise((resolve) => server.close(() => resolve(undefined)));
      server?.closeAllConnections();
    }
  }

  private async startAll(): Promise<void> {
    const { options, faults } = this;
    const timing = options.timing?.realistic ? options.timing : undefined;
    this.compute = await startComputeServer({
      faults,
      peeringOpMs: timing ? () => timing.draw('peeringUpdate') ?? 0 : options.peeringOpMs,
    });
    this.servers.push(this.compute);
    this.hub = await startGkeHubServer({
      faults,
      projects: options.projects,
      opDelayMs: timing
        ? (verb: string, target: string) => timing.hubOperationMs(verb, target) ?? 0
        : options.hubOpDelayMs,
    });
    this.servers.push(this.hub);
    this.hub.store.onChange = () => this.syncMcs();
    this.container = await startContainerServer({
      faults,
      audit: this.sink,
      provisionDelayMs: options.provisionDelayMs,
      operationMs: timing
        ? (type, pool, cluster) =>
            timing.gkeOperationMs(
              type,
              pool,
              cluster && `projects/${cluster.project}/locations/${cluster.location}/clusters/${cluster.name}`,
            )
        : undefined,
      principalFor: (token) => (token && this.principals[token]) || 'developer@example.com',
      hooks: {
        provisionKube: async (ref) => {
          const kube = await startKubeServer({
            cluster: ref,
            faults,
            audit: this.sink,
            principalFor: (token) => this.principals[token],
            mcsServed: this.options.mcsAtStart === true,
          });
          this.kubes.set(refKey(ref), kube);
          this.mcsUnsubscribes.push(
            kube.api.store.subscribe((change) => {
              if (MCS_INPUTS.has(change.resource.resource)) this.mcs.schedule();
            }),
          );
          this.syncMcs();
          return { endpoint: new URL(kube.url).host, caCertificate: kube.caCertificate };
        },
        releaseKube: async (ref) => {
          await this.kubes.get(refKey(ref))?.close();
          this.kubes.delete(refKey(ref));
          this.mcs.schedule();
        },
        addPeering: async (project, network, peeringName) => {
          if (!this.compute.store.getNetwork(project, network)) {
            throw Object.assign(new Error(`network ${network} not found in ${project}`), { code: 5 });
          }
          // GKE's side of the peering lives in a Google-owned tenant project.
          await this.compute.store.addPeering(project, network, {
            name: peeringName,
            peerNetwork: `projects/gke-tenant-${project}/global/networks/${peeringName.replace(/-peer$/, '-net')}`,
          });
        },
        removePeering: async (project, network, peeringName) => {
          await this.compute.store.removePeering(project, network, peeringName).catch(() => undefined);
        },
        registerFleetMembership: async (ref, fleetProject) => {
          const region = ref.location.replace(/-[a-z]$/, '');
          const membership = this.hub.store.registerMembership(fleetProject, region, ref.name, ref);
          return `//gkehub.googleapis.com/${membership.name}`;
        },
        unregisterFleetMembership: async (_ref, membership) => {
          this.hub.store.deleteMembership(membership.replace(/^\/\/gkehub\.googleapis\.com\//, ''));
        },
      },
    });
    this.servers.push(this.container as unknown as { close(): Promise<void> });
    this.gatewayServer = await listen((req, res) => this.routeGateway(req, res));
    this.gatewayUrl = `http://127.0.0.1:${port(this.gatewayServer)}`;
    this.adminServer = await listen((req, res) => this.routeAdmin(req, res));
    this.adminUrl = `http://127.0.0.1:${port(this.adminServer)}`;
  }

  /**
   * Connect gateway: one host per location, as Google runs it (`connectgateway.googleapis.com` for `global`,
   * `LOCATION-connectgateway.googleapis.com` for a region). Here each host is a path prefix:
   * `/HOST_LOCATION/v1/projects/NUMBER/locations/L/gkeMemberships/ID/<kubernetes path>` → that membership's
   * cluster. Like the real gateway it resolves the membership by project number, so a cluster without one, a
   * project id in place of the number, or a membership of another location than the host's, is a 404.
   */
  private routeGateway(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const match =
      /^\/([^/]+)\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/gkeMemberships\/([^/]+)(\/.*)?$/.exec(
        url.pathname,
      );
    const [, host, number, location, id, rest] = match ?? [];
    const project =
      match && host === location ? this.options.projects.find((p) => p.number === number) : undefined;
    const membership =
      project &&
      this.hub.store.getMembership(`projects/${project.id}/locations/${location}/memberships/${id}`);
    const link = membership?.endpoint?.gkeCluster?.resourceLink ?? '';
    const ref = /projects\/([^/]+)\/(?:locations|zones)\/([^/]+)\/clusters\/([^/]+)$/.exec(link);
    const kube = ref && this.kubes.get(`${ref[1]}/${ref[2]}/${ref[3]}`);
    if (!kube) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 404, status: 'NOT_FOUND', message: `no membership or cluster for ${url.pathname}` },
        }),
      );
      return;
    }
    kube.api.handle(req, res, `${rest ?? '/'}${url.search}`);
  }

  /** GET /state, GET /counters, GET|PUT /faults (body: {pattern: rule} — replaces all rules), DELETE /faults. */
  private routeAdmin(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const routes: Record<string, () => unknown> = {
      'GET /state': () => this.state(),
      'GET /counters': () => this.faults.counters(),
      'GET /faults': () => this.faults.rules(),
      'DELETE /faults': () => {
        this.faults.clearRules();
        return {};
      },
    };
    const route = routes[`${req.method} ${path}`];
    if (route) {
      send(200, route());
      return;
    }
    if (req.method === 'PUT' && path === '/faults') {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        try {
          const rules = JSON.parse(body) as Record<string, FaultRule>;
          this.faults.clearRules();
          for (const [pattern, rule] of Object.entries(rules)) this.faults.setRule(pattern, rule);
          send(200, this.faults.rules());
        } catch (error) {
          send(400, { error: String(error) });
        }
      });
      return;
    }
    send(404, { error: `no route ${req.method} ${path}` });
  }
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function port(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
