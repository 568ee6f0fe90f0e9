/**
 * KubePort on @kubernetes/client-node 2, for one cluster, reached either through the Connect gateway (default: no
 * network path to the control plane needed, authorised by IAM + RBAC) or directly at the cluster endpoint with
 * its CA (needs VPC egress). Every call is retried in process for transient errors (shared/errors).
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  type RequestContext,
  type V1Namespace,
} from '@kubernetes/client-node';
import { type CallCaps, DEFAULT_CALL_CAP_MS, timedCall } from '../calls';
import {
  httpStatus,
  isAlreadyExists,
  kubeStatus,
  orUndefined,
  type RetryOptions,
  TransientError,
  withRetry,
} from '../errors';
import type {
  KubeEventSpec,
  KubePort,
  KubeService,
  KubeServiceExport,
  KubeServiceImport,
  ObjectMeta,
} from './ports';

const MCS = { group: 'net.gke.io', version: 'v1', plural: 'serviceexports' } as const;
const IMPORTS = { group: 'net.gke.io', version: 'v1', plural: 'serviceimports' } as const;

export interface KubeEndpoint {
  /** `https://connectgateway.googleapis.com/v1/projects/N/locations/L/gkeMemberships/ID` or `https://IP`. */
  server: string;
  /** Base64 PEM of the cluster CA (endpoint mode); the gateway uses public roots. */
  caCertificate?: string;
  token: string;
  /** Plain-HTTP stand-ins on loopback only. */
  insecure?: boolean;
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * client-node 2 makes a new undici Agent (a connection pool of its own) for every request that carries TLS options
 * — a cluster CA, or skipTLSVerify — and never closes it, so each call opened a new connection (TLS handshake
 * included) that lingered until keep-alive expired: about two sockets left behind per event, and 371 MiB peak RSS
 * for a fleet reconcile of 100 clusters (test/reliability/resources.test.ts). One pool per origin (the Connect
 * gateway serves every cluster from one) and TLS setting, for the life of the instance, reuses connections across
 * calls and events. The token is not part of the pool: it is set per request.
 *
 * This relies on client-node internals (the version is pinned exactly in package.json): KubeConfig's
 * `applySecurityAuthentication` puts its Agent on the RequestContext with `setDispatcher`, and the fetch library
 * sends with `getDispatcher()`. test/unit/kube-pool.test.ts fails when either changes.
 */
const pools = new Map<string, Dispatcher>();

/** Closes every pooled connection (a process that ends its use of Kubernetes: tests, the sandbox). */
export async function closeKubePools(): Promise<void> {
  const open = [...pools.values()];
  pools.clear();
  await Promise.all(open.map((pool) => pool.close()));
}

/** The abort signal of the call in progress (KubeAdapter.call), for the request it makes. */
const callSignal = new AsyncLocalStorage<AbortSignal>();

class PooledKubeConfig extends KubeConfig {
  constructor(private readonly poolKey: string) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // client-node hands this signal to fetch: the request, its connection and the body read end on time.
    const signal = callSignal.getStore();
    if (signal) context.setSignal(signal);
    // The Agent just made has opened nothing yet; the pooled one replaces it, and it is closed at once.
    const made = context.getDispatcher();
    if (!made) return;
    const pooled = pools.get(this.poolKey);
    if (!pooled) {
      pools.set(this.poolKey, made);
      return;
    }
    context.setDispatcher(pooled);
    await made.close();
  }
}

export function kubeConfigFor(endpoint: KubeEndpoint): KubeConfig {
  const kc = new PooledKubeConfig(
    JSON.stringify([
      new URL(endpoint.server).origin,
      endpoint.caCertificate ?? '',
      endpoint.insecure === true,
    ]),
  );
  kc.loadFromOptions({
    clusters: [
      {
        name: 'target',
        server: endpoint.server,
        caData: endpoint.caCertificate,
        skipTLSVerify: endpoint.insecure === true,
      },
    ],
    users: [{ name: 'spokefleet', token: endpoint.token }],
    contexts: [{ name: 'target', cluster: 'target', user: 'spokefleet' }],
    currentContext: 'target',
  });
  return kc;
}

type Meta = {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: Date | string;
  deletionTimestamp?: Date | string;
};

/** Typed objects carry Dates (client-node's deserializer), custom objects the JSON string. */
const timestampOf = (t: Date | string | undefined) =>
  t === undefined ? undefined : t instanceof Date ? t.toISOString() : String(t);

function meta(m: Meta | undefined): ObjectMeta {
  return {
    name: m?.name ?? '',
    namespace: m?.namespace,
    labels: m?.labels ?? {},
    annotations: m?.annotations,
    uid: m?.uid,
    resourceVersion: m?.resourceVersion,
    creationTimestamp: timestampOf(m?.creationTimestamp),
    deletionTimestamp: m?.deletionTimestamp ? String(m.deletionTimestamp) : undefined,
  };
}

interface RawExport {
  metadata?: Meta;
  status?: { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

function toExport(raw: RawExport): KubeServiceExport {
  return {
    metadata: meta(raw.metadata),
    conditions: (raw.status?.conditions ?? []).map((c) => ({
      type: c.type ?? '',
      status: c.status ?? '',
      reason: c.reason,
      message: c.message,
    })),
  };
}

interface RawImport {
  metadata?: Meta;
  spec?: { ips?: string[]; ports?: Array<{ name?: string; port?: number; protocol?: string }> };
  status?: { clusters?: Array<{ cluster?: string }> };
}

function toImport(raw: RawImport): KubeServiceImport {
  return {
    metadata: meta(raw.metadata),
    ips: raw.spec?.ips ?? [],
    ports: (raw.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port ?? 0, protocol: p.protocol })),
    clusters: (raw.status?.clusters ?? []).flatMap((c) => (c.cluster ? [c.cluster] : [])),
  };
}

/**
 * A 404 for the resource type itself — the API server's "the server could not find the requested resource", whose
 * Status names no object — rather than for an object. On GKE the `net.gke.io` CRDs are installed some minutes
 * after the cluster joins a fleet with Multi-Cluster Services, so until then ServiceExport calls end this way.
 */
function isTypeNotServed(error: unknown): boolean {
  if (httpStatus(error) !== 404) return false;
  const status = kubeStatus(error);
  return status?.kind === 'Status' && status.reason === 'NotFound' && !status.details?.name;
}

const MCS_NOT_SERVED =
  'the cluster does not serve ServiceExports yet (GKE installs the net.gke.io resources some minutes after the cluster joins a fleet with Multi-Cluster Services)';

export class KubeAdapter implements KubePort {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  /** A CustomObjectsApi used only for `net.gke.io` ServiceImports (reads), so each client method has one use. */
  private readonly imports: CustomObjectsApi;
  private readonly discovery: DiscoveryV1Api;

  constructor(
    kc: KubeConfig,
    private readonly retry: RetryOptions = {},
    private readonly caps: CallCaps = { capMs: DEFAULT_CALL_CAP_MS },
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.imports = kc.makeApiClient(CustomObjectsApi);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
  }

  /** One call (`kube.<resource>.<verb>`, as the local cloud counts it): each attempt within its own timeout. */
  private call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const cap = this.caps.byCall?.[name] ?? this.caps.capMs;
    return withRetry(
      () => timedCall(name, cap, (timeoutMs) => callSignal.run(AbortSignal.timeout(timeoutMs), fn)),
      this.retry,
    );
  }

  async getNamespace(name: string) {
    const ns = await this.call('kube.namespaces.get', () =>
      orUndefined(() => this.core.readNamespace({ name })),
    );
    return ns ? { metadata: meta(ns.metadata) } : undefined;
  }

  async createNamespace(name: string, labels: Record<string, string>): Promise<void> {
    const body: V1Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
    await this.call('kube.namespaces.create', () => this.core.createNamespace({ body }));
  }

  async getService(namespace: string, name: string): Promise<KubeService | undefined> {
    const svc = await this.call('kube.services.get', () =>
      orUndefined(() => this.core.readNamespacedService({ namespace, name })),
    );
    return svc ? { metadata: meta(svc.metadata) } : undefined;
  }

  async listServices(labelSelector: string): Promise<KubeService[]> {
    const list = await this.call('kube.services.list', () =>
      this.core.listServiceForAllNamespaces({ labelSelector }),
    );
    return list.items.map((s) => ({ metadata: meta(s.metadata) }));
  }

  async getServiceExport(namespace: string, name: string): Promise<KubeServiceExport | undefined> {
    const raw = await this.call('kube.serviceexports.get', () =>
      orUndefined(
        () => this.custom.getNamespacedCustomObject({ ...MCS, namespace, name }) as Promise<RawExport>,
      ),
    );
    return raw ? toExport(raw) : undefined;
  }

  async listServiceExports(labelSelector?: string): Promise<KubeServiceExport[]> {
    const list = (await this.call('kube.serviceexports.list', async () => {
      try {
        return await this.custom.listClusterCustomObject({ ...MCS, labelSelector });
      } catch (error) {
        // Without the resource type there is no ServiceExport to count.
        if (isTypeNotServed(error)) return { items: [] };
        throw error;
      }
    })) as { items?: RawExport[] };
    return (list.items ?? []).map(toExport);
  }

  async createServiceExport(
    namespace: string,
    name: string,
    labels: Record<string, string>,
  ): Promise<KubeServiceExport> {
    const body = {
      apiVersion: `${MCS.group}/${MCS.version}`,
      kind: 'ServiceExport',
      metadata: { name, namespace, labels },
    };
    const created = (await this.call('kube.serviceexports.create', async () => {
      try {
        return await this.custom.createNamespacedCustomObject({ ...MCS, namespace, body });
      } catch (error) {
        // Transient: the type arrives by itself, and the export should land as soon as it does.
        if (isTypeNotServed(error))
          throw new TransientError(MCS_NOT_SERVED, 'mcs-not-served', { cause: error });
        throw error;
      }
    })) as RawExport;
    return toExport(created);
  }

  async deleteServiceExport(namespace: string, name: string): Promise<void> {
    await this.call('kube.serviceexports.delete', () =>
      this.custom.deleteNamespacedCustomObject({ ...MCS, namespace, name }),
    );
  }

  async listServiceImports(): Promise<KubeServiceImport[]> {
    const list = (await this.call('kube.serviceimports.list', async () => {
      try {
        return await this.imports.listClusterCustomObject({ ...IMPORTS });
      } catch (error) {
        if (isTypeNotServed(error)) return { items: [] };
        throw error;
      }
    })) as { items?: RawImport[] };
    return (list.items ?? []).map(toImport);
  }

  async listEventNames(reason: string): Promise<Set<string>> {
    const list = await this.call('kube.events.list', () =>
      this.core.listEventForAllNamespaces({
        fieldSelector: `reason=${reason},reportingComponent=spokefleet`,
      }),
    );
    return new Set(list.items.map((e) => `${e.metadata?.namespace}/${e.metadata?.name}`));
  }

  async countReadyEndpoints(namespace: string, service: string): Promise<number> {
    const slices = await this.call('kube.endpointslices.list', () =>
      this.discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
      }),
    );
    let ready = 0;
    for (const slice of slices.items) {
      // `ready` unset means ready, per the EndpointSlice API.
      for (const endpoint of slice.endpoints ?? []) if (endpoint.conditions?.ready !== false) ready++;
    }
    return ready;
  }

  /**
   * One Event per (object, reason, message), named deterministically from them: a repeat of the same refusal is
   * one read and no write, and concurrent deliveries cannot create two.
   */
  async recordEvent(
    spec: KubeEventSpec,
    known?: ReadonlySet<string>,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    const digest = createHash('sha256')
      .update(`${spec.involved.kind}/${spec.involved.name}/${spec.reason}/${spec.message}`)
      .digest('hex');
    const name = `${spec.involved.name.slice(0, 200)}.${digest.slice(0, 16)}`;
    const existing = known
      ? known.has(`${spec.namespace}/${name}`)
      : await this.call('kube.events.get', () =>
          orUndefined(() => this.core.readNamespacedEvent({ namespace: spec.namespace, name })),
        );
    if (existing) return 'unchanged';
    const now = new Date();
    const body: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: spec.namespace },
      involvedObject: { ...spec.involved, namespace: spec.namespace },
      reason: spec.reason,
      message: spec.message,
      type: spec.type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'spokefleet' },
      reportingComponent: 'spokefleet',
    };
    try {
      await this.call('kube.events.create', () =>
        this.core.createNamespacedEvent({ namespace: spec.namespace, body }),
      );
    } catch (error) {
      if (isAlreadyExists(error)) return 'unchanged';
      throw error;
    }
    return 'created';
  }
}
