/**
 * The local cloud as the benchmarks need it: started with short operation delays, seeded directly through the
 * stand-ins' stores (no API calls, nothing counted), and the events and counters the benchmarks read.
 *
 * A *converged* cluster is what Spokefleet leaves behind: workload identity on with the fleet pool, a global
 * membership carrying the managed-by label, custom routes exported on the control-plane peering (when it has
 * one), the seed namespace, and a ServiceExport for every labelled Service.
 */
import { rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { generate } from 'selfsigned';
import { handleAuditLogEvent } from '../functions/audit';
import { newMessageId } from '../sandbox/audit/delivery';
import { clusterAuditEntry, serviceAuditEntry } from '../sandbox/audit/entries';
import type { ClusterSpec } from '../sandbox/container/shapes';
import type { MethodCounter } from '../sandbox/faults';
import {
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  NON_SPOKE,
  SPOKES,
  sandboxConfig,
  seedNetworks,
} from '../sandbox/harness';
import { LocalCloud } from '../sandbox/local-cloud';
import type { App } from '../shared/app';
import { type ConfigInput, parseConfig } from '../shared/config';
import type { ClusterRef, LogEntry } from '../shared/events/types';
import { sleep } from './common';

export { quietLogger } from './common';

export const FLEET = DEMO_PROJECT.id;
export const REGION = 'us-east4';
export const NAMESPACE = 'mcs-common';
export const EXPORT_LABEL = 'spokefleet.io/export';
export const MANAGED = { 'app.kubernetes.io/managed-by': 'spokefleet', 'spokefleet.io/owner': 'spokefleet' };
export { NON_SPOKE, SPOKES };

export interface WorldOptions {
  /** Stand-in operation delays (ms); short so LRO polls are few, but not zero (operations stay asynchronous). */
  opDelayMs?: number;
}

export async function startWorld(options: WorldOptions = {}): Promise<LocalCloud> {
  const opDelayMs = options.opDelayMs ?? 5;
  const cloud = await LocalCloud.start({
    projects: [DEMO_PROJECT, DEMO_PROJECT_2],
    fleetProject: FLEET,
    provisionDelayMs: opDelayMs,
    peeringOpMs: opDelayMs,
    hubOpDelayMs: opDelayMs,
    // GKE's MCS controller imports minutes after an export: the benches count Spokefleet's calls, with no
    // controller writing imports and conditions between two measured events.
    mcsImportDelayMs: 3_600_000,
  });
  seedNetworks(cloud);
  return cloud;
}

export interface TlsGateway {
  /** `https://127.0.0.1:PORT`, for endpoints.connectGateway. */
  url: string;
  /** PEM of its certificate, for NODE_EXTRA_CA_CERTS of the process that calls it. */
  caFile: string;
  close(): Promise<void>;
}

/**
 * The Connect gateway over HTTPS with a certificate the caller trusts through NODE_EXTRA_CA_CERTS: a proxy in
 * front of the local cloud's plain-HTTP gateway. With it the Kubernetes client is configured exactly as against
 * Google's gateway (https, no CA data, no skipTLSVerify), so it takes the same code path: client-node's shared
 * connection pool. Against the plain-HTTP gateway, skipTLSVerify makes client-node build a new undici Agent, with
 * its own connection, for every request (as it does for any cluster CA, i.e. kubeAccess `endpoint`).
 */
export async function startTlsGateway(cloud: LocalCloud): Promise<TlsGateway> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const caFile = join(tmpdir(), `spokefleet-bench-gateway-${process.pid}-${Date.now()}.pem`);
  writeFileSync(caFile, pems.cert);
  const upstream = new URL(cloud.gatewayUrl);
  const agent = new http.Agent({ keepAlive: true });
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFile,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
      rmSync(caFile, { force: true });
    },
  };
}

/** SPOKEFLEET_CONFIG for this cloud (the sandbox's, 30 s retry budget); `overrides` merged in. */
export function benchConfig(cloud: LocalCloud, overrides: Partial<ConfigInput> = {}): ConfigInput {
  return sandboxConfig(cloud, { retryBudgetMs: 30_000, logLevel: 'info', ...overrides });
}

export const clusterRef = (name: string, project = FLEET): ClusterRef => ({
  project,
  location: REGION,
  name,
});

export interface ClusterShape {
  network?: string;
  /** Control plane over VPC peering (GKE adds a peering to the VPC) rather than Private Service Connect. */
  peering?: boolean;
  workloadIdentity?: boolean;
}

export function clusterSpec(shape: ClusterShape = {}): ClusterSpec {
  const network = shape.network ?? SPOKES[0];
  return {
    network,
    subnetwork: network,
    ipAllocationPolicy: { useIpAliases: true },
    privateClusterConfig: shape.peering
      ? { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' }
      : { enablePrivateNodes: true },
    workloadIdentityConfig: shape.workloadIdentity ? { workloadPool: `${FLEET}.svc.id.goog` } : undefined,
    initialNodeCount: 1,
  };
}

/** A RUNNING cluster, straight into the store (with its Kubernetes API and, if asked, its peering). */
export async function seedCluster(cloud: LocalCloud, ref: ClusterRef, shape: ClusterShape = {}) {
  return cloud.container.store.seedCluster(ref, clusterSpec(shape));
}

/** Turns custom-route export on for a peering, waiting out the stand-in's "peering operation in progress". */
export async function exportRoutes(cloud: LocalCloud, ref: ClusterRef): Promise<void> {
  const cluster = cloud.container.store.getCluster(ref);
  const peeringName = cluster?.privateClusterConfig?.peeringName;
  if (!cluster || !peeringName) return;
  const project = cluster.networkConfig.network.split('/')[1];
  for (let attempt = 0; ; attempt++) {
    try {
      cloud.compute.store.updatePeeringOp(project, cluster.network, {
        networkPeering: { name: peeringName, exportCustomRoutes: true },
      });
      break;
    } catch (error) {
      if (attempt > 1000) throw error;
      await sleep(2);
    }
  }
  // The update applies when its operation finishes.
  for (;;) {
    const network = cloud.compute.store.getNetwork(project, cluster.network);
    if (network?.peerings?.find((p) => p.name === peeringName)?.exportCustomRoutes) return;
    await sleep(2);
  }
}

/** The MCS feature in the fleet project, as Spokefleet creates it. */
export async function seedFeature(cloud: LocalCloud): Promise<void> {
  cloud.hub.store.createFeature(FLEET, 'global', 'multiclusterservicediscovery', {
    labels: { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' },
  });
}

/** A global membership for the cluster, as Spokefleet creates it (id = the cluster name). */
export function seedMembership(cloud: LocalCloud, ref: ClusterRef): void {
  cloud.hub.store.registerMembership(FLEET, 'global', ref.name, ref);
}

export function putNamespace(cloud: LocalCloud, ref: ClusterRef, name = NAMESPACE): void {
  cloud.kube(ref).api.store.put({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...MANAGED } },
  });
}

export function putService(
  cloud: LocalCloud,
  ref: ClusterRef,
  name: string,
  labelled: boolean,
  namespace = NAMESPACE,
): void {
  cloud.kube(ref).api.store.put({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name, ...(labelled ? { [EXPORT_LABEL]: 'true' } : {}) } },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  });
}

export function putExport(cloud: LocalCloud, ref: ClusterRef, name: string, namespace = NAMESPACE): void {
  cloud.kube(ref).api.store.put({
    apiVersion: 'net.gke.io/v1',
    kind: 'ServiceExport',
    metadata: { name, namespace, labels: { ...MANAGED } },
  });
}

export interface FleetShape {
  clusters: number;
  servicesPerCluster: number;
  /** Labelled Services per cluster (the first ones), each with its export unless drift says otherwise. */
  labelledPerCluster: number;
  /** Every `driftEvery`-th cluster gets one labelled Service without an export and one managed export whose
   * Service lost its label: one create and one delete for the reconcile to do. 0 = no drift. */
  driftEvery: number;
  /** Cluster name prefix (distinct fleets in one cloud). */
  prefix?: string;
}

/** A converged fleet of `shape.clusters` clusters (half peering-based, half Private Service Connect). */
export async function seedFleet(cloud: LocalCloud, shape: FleetShape): Promise<ClusterRef[]> {
  const prefix = shape.prefix ?? 'fleet';
  const refs = Array.from({ length: shape.clusters }, (_, i) =>
    clusterRef(`${prefix}-${String(i).padStart(4, '0')}`),
  );
  if (!cloud.hub.store.list().features.length) await seedFeature(cloud);
  // One network per spoke: peerings on one network are applied one at a time, so seed the spokes side by side.
  const lanes = SPOKES.map((network, lane) =>
    refs.filter((_, i) => i % SPOKES.length === lane).map((ref) => ({ ref, network })),
  );
  await Promise.all(
    lanes.map(async (lane) => {
      for (const [i, { ref, network }] of lane.entries()) {
        await seedCluster(cloud, ref, { network, peering: i % 2 === 0, workloadIdentity: true });
        await exportRoutes(cloud, ref);
      }
    }),
  );
  for (const [i, ref] of refs.entries()) {
    seedMembership(cloud, ref);
    putNamespace(cloud, ref);
    const drift = shape.driftEvery > 0 && i % shape.driftEvery === 0;
    for (let s = 0; s < shape.servicesPerCluster; s++) {
      const name = `svc-${String(s).padStart(3, '0')}`;
      const labelled = s < shape.labelledPerCluster;
      putService(cloud, ref, name, labelled);
      // Drift: the first labelled Service has no export yet...
      if (labelled && !(drift && s === 0)) putExport(cloud, ref, name);
    }
    // ...and a managed export outlived its label.
    if (drift && shape.servicesPerCluster > shape.labelledPerCluster) {
      putExport(cloud, ref, `svc-${String(shape.labelledPerCluster).padStart(3, '0')}`);
    }
  }
  return refs;
}

// ---- events ----

const AUDIT_TOPIC = `projects/${FLEET}/topics/spokefleet-audit`;

/** The CloudEvent functions-framework hands the function for a Pub/Sub message carrying `entry`. */
export function auditCloudEvent(entry: LogEntry | Record<string, unknown>): CloudEvent<unknown> {
  const id = newMessageId();
  const time = new Date().toISOString();
  return {
    specversion: '1.0',
    id,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/${AUDIT_TOPIC}`,
    time,
    data: {
      message: {
        data: Buffer.from(JSON.stringify(entry)).toString('base64'),
        messageId: id,
        publishTime: time,
        attributes: {},
      },
      subscription: `projects/${FLEET}/subscriptions/eventarc-bench`,
    },
  } as CloudEvent<unknown>;
}

/** The `last` CreateCluster entry: what routes to ClusterReady. */
export function clusterCreatedEntry(ref: ClusterRef): LogEntry {
  return clusterAuditEntry({
    method: 'CreateCluster',
    phase: 'last',
    cluster: ref,
    operationId: newMessageId(),
  });
}

/** A developer's `kubectl label svc` (merge patch) on a Service. */
export function servicePatchedEntry(ref: ClusterRef, name: string, namespace = NAMESPACE): LogEntry {
  return serviceAuditEntry({
    verb: 'patch',
    cluster: ref,
    namespace,
    name,
    principal: 'developer@example.com',
  });
}

/** Delivers one event in process, the way functions-framework calls the function; resolves = acknowledged. */
export function deliver(app: App, event: CloudEvent<unknown>): Promise<void> {
  return handleAuditLogEvent(event, app);
}

// ---- counters ----

export type Counters = Record<string, MethodCounter>;

export interface CallCounts {
  /** Served calls per method (faulted ones left out). */
  byMethod: Record<string, { kind: 'read' | 'write'; calls: number }>;
  reads: number;
  writes: number;
  /** Calls answered with a fault (e.g. 429). */
  faults: number;
}

/** Calls since `before`, per method. */
export function callsSince(cloud: LocalCloud, before: Counters): CallCounts {
  const out: CallCounts = { byMethod: {}, reads: 0, writes: 0, faults: 0 };
  for (const [method, c] of Object.entries(cloud.faults.counters())) {
    const prior = before[method];
    const served = c.calls - c.faults - ((prior?.calls ?? 0) - (prior?.faults ?? 0));
    out.faults += c.faults - (prior?.faults ?? 0);
    if (served <= 0) continue;
    out.byMethod[method] = { kind: c.kind, calls: served };
    if (c.kind === 'read') out.reads += served;
    else out.writes += served;
  }
  return out;
}

/** Validated config, for in-process apps. */
export const configOf = (input: ConfigInput) => parseConfig(input);
