/**
 * In-process reliability harness: one LocalCloud (every stand-in on loopback, the real client libraries talking to
 * them) and the production app — createApp(config, {cloud: createCloud(config, log)}) — without child processes.
 *
 * Audit entries the stand-ins emit are not delivered by themselves: they land in a QueueSink and the test decides
 * when, how often and in which order each one reaches the handlers. Delivery calls the production handlers
 * (functions/audit.ts handleAuditLogEvent, functions/reconcile.ts handleReconcileRequest) with a CloudEvent built
 * here, shaped like the one functions-framework hands a function for an Eventarc Pub/Sub delivery
 * (sandbox/audit/delivery.ts): our decoding of the Pub/Sub message, parsing, routing and the ack/retry mapping run;
 * functions-framework's own HTTP-to-CloudEvent conversion does not (hostile.test.ts and the e2e suites go through
 * it). A handler that throws is "not acknowledged": deliverUntilAcked redelivers it, like Pub/Sub.
 */
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { CloudEvent } from '@google-cloud/functions-framework';
import fc from 'fast-check';
import { handleAuditLogEvent } from '../../functions/audit';
import { handleReconcileRequest } from '../../functions/reconcile';
import { newMessageId, pushBody } from '../../sandbox/audit/delivery';
import type { AuditSink } from '../../sandbox/audit/sink';
import { containerClientOptions } from '../../sandbox/container/client-options';
import { type FaultRule, seededRandom } from '../../sandbox/faults';
import {
  AUDIT_TOPIC,
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  RECONCILE_TOPIC,
  type Sandbox,
  sandboxConfig,
  seedNetworks,
} from '../../sandbox/harness';
import { DEVELOPER_TOKEN, LocalCloud, SANDBOX_TOKEN } from '../../sandbox/local-cloud';
import { developerKube } from '../../sandbox/scenario';
import { type App, createApp } from '../../shared/app';
import { createCloud } from '../../shared/cloud';
import { type Config, type ConfigInput, parseConfig } from '../../shared/config';
import type { ClusterRef, LogEntry } from '../../shared/events/types';
import { createLogger, type LogLevel } from '../../shared/log';

export { DEMO_PROJECT, DEMO_PROJECT_2 };

/** One Pub/Sub message as a subscriber sees it. */
export interface Message {
  topic: 'audit' | 'reconcile';
  messageId: string;
  publishTime: string;
  data: Buffer;
  attributes: Record<string, string>;
}

export function auditMessage(entry: LogEntry | Buffer): Message {
  return {
    topic: 'audit',
    messageId: newMessageId(),
    publishTime: new Date().toISOString(),
    data: Buffer.isBuffer(entry) ? entry : Buffer.from(JSON.stringify(entry)),
    attributes: {},
  };
}

export function reconcileMessage(request: Record<string, unknown> | Buffer): Message {
  return {
    topic: 'reconcile',
    messageId: newMessageId(),
    publishTime: new Date().toISOString(),
    data: Buffer.isBuffer(request) ? request : Buffer.from(JSON.stringify(request)),
    attributes: {},
  };
}

/**
 * The CloudEvent functions-framework builds from an Eventarc binary-mode delivery (ce-* headers + the push body),
 * as sandbox/audit/delivery.ts sends it: what the registered function receives.
 */
export function cloudEventFor(message: Message): CloudEvent<unknown> {
  const topic = message.topic === 'audit' ? AUDIT_TOPIC : RECONCILE_TOPIC;
  return {
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/projects/${DEMO_PROJECT.id}/topics/${topic}`,
    id: message.messageId,
    time: message.publishTime,
    data: pushBody(message, `projects/${DEMO_PROJECT.id}/subscriptions/eventarc-reliability`),
  } as CloudEvent<unknown>;
}

/** Audit entries queue here until the test delivers them; `listeners` see each entry as it is emitted. */
export class QueueSink implements AuditSink {
  readonly queue: Message[] = [];
  emitted = 0;
  private readonly listeners = new Set<(entry: LogEntry) => void>();

  emit(entry: LogEntry): void {
    this.emitted++;
    this.queue.push(auditMessage(entry));
    for (const listener of this.listeners) listener(entry);
  }

  /** Everything queued so far, removed from the queue. */
  drain(): Message[] {
    return this.queue.splice(0);
  }

  /** Resolves with the first entry emitted from now on that matches. */
  next(match: (entry: LogEntry) => boolean, timeoutMs = 10_000): Promise<LogEntry> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error('no matching audit entry in time'));
      }, timeoutMs);
      const listener = (entry: LogEntry) => {
        if (!match(entry)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(entry);
      };
      this.listeners.add(listener);
    });
  }
}

/**
 * Every log line the app writes: kept (bounded) for assertions, and checked as it is written for strings that
 * must never appear (tokens, secrets). `leaks` counts lines that contained one.
 */
export class LogCapture {
  lines: string[] = [];
  scanned = 0;
  readonly leaks: string[] = [];

  constructor(
    readonly forbidden: string[],
    private readonly keep = 20_000,
  ) {}

  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      this.scanned++;
      if (this.forbidden.some((secret) => line.includes(secret))) this.leaks.push(line);
      if (this.lines.length < this.keep) this.lines.push(line);
    }
    return true;
  }

  /** Parsed lines from line index `from` on, the logging library's own diagnostics left out. */
  records(from = 0): Array<Record<string, unknown>> {
    return this.lines
      .slice(from)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => !('logging.googleapis.com/diagnostic' in r));
  }

  clear(): void {
    this.lines = [];
  }
}

/** Strings no log line may contain: both tokens of the local cloud and the literal word an auth header starts with. */
export const FORBIDDEN_IN_LOGS = [SANDBOX_TOKEN, DEVELOPER_TOKEN, 'Bearer'];

export interface RelCloud {
  cloud: LocalCloud;
  sink: QueueSink;
  /** The developer's GKE client (insecure gRPC to the stand-in, as README shows). */
  gke: ClusterManagerClient;
  close(): Promise<void>;
}

export async function startRelCloud(options: { provisionDelayMs?: number } = {}): Promise<RelCloud> {
  const cloud = await LocalCloud.start({
    projects: [DEMO_PROJECT, DEMO_PROJECT_2],
    fleetProject: DEMO_PROJECT.id,
    provisionDelayMs: options.provisionDelayMs ?? 1,
    hubOpDelayMs: 1,
    peeringOpMs: 1,
    // The model lets developers own ServiceExports in any cluster at any time; the late arrival of the MCS
    // resources is proven by the wire and e2e suites.
    mcsAtStart: true,
    // The model attributes every change during a handler to Spokefleet: GKE's MCS controller (ServiceImports,
    // export conditions) is held back here; test/wire/mcs-controller.test.ts and test/e2e/mcs.test.ts prove it.
    mcsImportDelayMs: 3_600_000,
  });
  seedNetworks(cloud);
  const sink = new QueueSink();
  cloud.setAuditSinks(sink);
  const gke = new ClusterManagerClient(containerClientOptions(cloud.container.address));
  return {
    cloud,
    sink,
    gke,
    async close() {
      await gke.close().catch(() => undefined);
      await cloud.close();
    },
  };
}

export interface DeliveryResult {
  acked: boolean;
  error?: unknown;
  durationMs: number;
}

export interface Harness {
  app: App;
  config: Config;
  logs: LogCapture;
  /** One delivery through the production entry point; a throw means "not acknowledged". */
  deliver(message: Message): Promise<DeliveryResult>;
  /** Pub/Sub-style: redeliver until acknowledged (or `maxAttempts`); the attempts it took. */
  deliverUntilAcked(
    message: Message,
    options?: { maxAttempts?: number; backoffMs?: number },
  ): Promise<number>;
}

export function createHarness(
  rel: RelCloud,
  overrides: Partial<ConfigInput> = {},
  options: {
    logLevel?: LogLevel;
    forbidden?: string[];
    /** Applied after validation: lets a test scale a bound below what the schema allows (e.g. a 1 s deadline). */
    patch?: Partial<Config>;
  } = {},
): Harness {
  const config: Config = {
    ...parseConfig({
      ...sandboxConfig(rel.cloud),
      retryBudgetMs: 2_000,
      logLevel: options.logLevel ?? 'debug',
      ...overrides,
    }),
    ...options.patch,
  };
  const logs = new LogCapture(options.forbidden ?? FORBIDDEN_IN_LOGS);
  const log = createLogger({ level: config.logLevel, transport: logs });
  const app = createApp(config, { cloud: createCloud(config, log), log });
  const deliver = async (message: Message): Promise<DeliveryResult> => {
    const started = performance.now();
    const event = cloudEventFor(message);
    try {
      if (message.topic === 'audit') await handleAuditLogEvent(event, app);
      else await handleReconcileRequest(event, app);
      return { acked: true, durationMs: performance.now() - started };
    } catch (error) {
      return { acked: false, error, durationMs: performance.now() - started };
    }
  };
  return {
    app,
    config,
    logs,
    deliver,
    async deliverUntilAcked(message, { maxAttempts = 50, backoffMs = 0 } = {}) {
      for (let attempt = 1; ; attempt++) {
        const result = await deliver(message);
        if (result.acked) return attempt;
        if (attempt >= maxAttempts) throw result.error;
        if (backoffMs > 0) await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    },
  };
}

const clusterPath = (ref: ClusterRef) =>
  `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

const isLastEntryFor = (method: string, ref: ClusterRef) => (entry: LogEntry) =>
  entry.operation?.last === true &&
  String(entry.protoPayload?.methodName).endsWith(`.${method}`) &&
  entry.resource?.labels?.cluster_name === ref.name &&
  entry.resource?.labels?.project_id === ref.project &&
  entry.resource?.labels?.location === ref.location;

/**
 * Creates a cluster with the real GKE client and resolves when its operation is done — the moment the stand-in
 * emits the `last` audit entry (event-driven, unlike sandbox/scenario's polling, which costs 25 ms a step).
 */
export async function createClusterNow(
  rel: RelCloud,
  ref: ClusterRef,
  spec: Record<string, unknown>,
): Promise<void> {
  const done = rel.sink.next(isLastEntryFor('CreateCluster', ref));
  await rel.gke.createCluster({
    parent: `projects/${ref.project}/locations/${ref.location}`,
    cluster: { ...spec, name: ref.name },
  });
  await done;
}

export async function deleteClusterNow(rel: RelCloud, ref: ClusterRef): Promise<void> {
  const done = rel.sink.next(isLastEntryFor('DeleteCluster', ref));
  await rel.gke.deleteCluster({ name: clusterPath(ref) });
  await done;
}

export type DeveloperClients = ReturnType<typeof developerKube>;

/** A developer's Kubernetes clients for a cluster (sandbox/scenario's, which needs only the `cloud` of a Sandbox). */
export function developerClients(rel: RelCloud, ref: ClusterRef): DeveloperClients {
  return developerKube({ cloud: rel.cloud } as unknown as Sandbox, ref);
}

/** Served writes per method (calls minus faults), from the stand-ins' counters. */
export function writeCounts(cloud: LocalCloud): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [method, c] of Object.entries(cloud.faults.counters())) {
    if (c.kind === 'write' && c.calls - c.faults > 0) out[method] = c.calls - c.faults;
  }
  return out;
}

/** Per-method difference of two count snapshots (only methods that changed). */
export function diffCounts(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [method, n] of Object.entries(after)) {
    const d = n - (before[method] ?? 0);
    if (d !== 0) out[method] = d;
  }
  return out;
}

/** Calls (faulted or not) per method. */
export function callCounts(cloud: LocalCloud): Record<string, number> {
  return Object.fromEntries(Object.entries(cloud.faults.counters()).map(([m, c]) => [m, c.calls]));
}

// ---------------------------------------------------------------------------------------------------------------
// Delivery semantics: random sequences over a small fleet, checked against a simple model.
// ---------------------------------------------------------------------------------------------------------------

export const EXPORT_LABEL = 'spokefleet.io/export';
const MANAGED_K8S = 'app.kubernetes.io/managed-by';
const MANAGED_GCP = 'managed-by';
const FLEET = DEMO_PROJECT.id;
const FORBIDDEN_NAMESPACES = new Set(['default', 'kube-system']);

export interface ClusterSlot {
  key: string;
  project: string;
  location: string;
  spoke: boolean;
  spec: Record<string, unknown>;
}

/** Four clusters in two projects: PSC, VPC-peered, zonal, and one in a VPC that is not a spoke. */
export const CLUSTER_SLOTS: readonly ClusterSlot[] = [
  {
    key: 'a',
    project: DEMO_PROJECT.id,
    location: 'us-east4',
    spoke: true,
    spec: {
      network: 'gcp-spoke100-us-east4',
      subnetwork: 'gcp-spoke100-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true },
      initialNodeCount: 1,
    },
  },
  {
    key: 'b',
    project: DEMO_PROJECT.id,
    location: 'us-east4',
    spoke: true,
    spec: {
      network: 'gcp-spoke200-us-east4',
      subnetwork: 'gcp-spoke200-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' },
      initialNodeCount: 1,
    },
  },
  {
    key: 'c',
    project: DEMO_PROJECT_2.id,
    location: 'us-east4-b',
    spoke: true,
    spec: {
      network: 'gcp-spoke100-us-east4',
      subnetwork: 'gcp-spoke100-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      initialNodeCount: 1,
    },
  },
  {
    key: 'd',
    project: DEMO_PROJECT_2.id,
    location: 'us-east4',
    spoke: false,
    spec: {
      network: 'shared-services-us-east4',
      subnetwork: 'shared-services-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      initialNodeCount: 1,
    },
  },
];

export interface ServiceSlot {
  namespace: string;
  name: string;
  /** The developer keeps a ServiceExport of their own (no managed-by label) next to this Service. */
  userExport?: boolean;
}

/** Same names in several namespaces and clusters (so the cross-project rule is exercised), one in `default`. */
export const SERVICE_SLOTS: readonly ServiceSlot[] = [
  { namespace: 'mcs-common', name: 'api' },
  { namespace: 'mcs-common', name: 'web' },
  { namespace: 'team-a', name: 'api' },
  { namespace: 'default', name: 'web' },
  { namespace: 'mcs-common', name: 'theirs', userExport: true },
];

export type Op =
  | { kind: 'createCluster'; c: number }
  | { kind: 'deleteCluster'; c: number }
  | { kind: 'putService'; c: number; s: number; labelled: boolean }
  | { kind: 'setLabel'; c: number; s: number; labelled: boolean }
  | { kind: 'deleteService'; c: number; s: number }
  | { kind: 'reconcile'; scope: 'cluster' | 'project' | 'fleet'; c: number }
  | { kind: 'deliver'; n: number; parallel: boolean };

export interface Sequence {
  /** Cluster c gets a membership registered by hand (unlabelled) right after it is created. */
  byHand: boolean;
  /** Drives every delivery choice: which queued message, how many copies (1–5), which copies come later. */
  deliverySeed: number;
  ops: Op[];
}

export interface RunStats {
  ops: number;
  deliveries: number;
  nacks: number;
  emitted: number;
  /** The model already held before the final fleet reconcile (events alone converged). */
  convergedBeforeFleetReconcile: boolean;
  /**
   * Where the model did not hold after the events alone, only because of a named exception (EVENT_EXCEPTIONS): the
   * fleet reconcile must repair these, and the post-reconcile check says whether it did.
   */
  excused: string[];
}

/**
 * The only states events alone may leave unconverged. A Service refused because another project already exported
 * its name gets no event of its own when that rival export goes away (the rival's events reach the rival's
 * cluster only), so it waits for the periodic reconcile.
 */
export const EVENT_EXCEPTIONS = {
  refusedRivalGone: 'refused for a rival project whose export has since gone; no event reaches it',
} as const;

export interface RunResult {
  /** Safety violations while handlers ran, and the model after the final fleet reconcile. */
  violations: string[];
  /** The model after the events alone (before the fleet reconcile), named exceptions left out. */
  eventViolations: string[];
  stats: RunStats;
}

interface SvcState {
  labelled: boolean;
}

/** Everything shared by the runs of one property check: one local cloud, one app instance (a warm function). */
export class PropertyEnv {
  private runs = 0;
  /** >0 while a handler runs: store changes then are Spokefleet's. */
  active = 0;
  violations: string[] = [];
  private readonly devClients = new Map<string, DeveloperClients>();

  private constructor(
    readonly rel: RelCloud,
    readonly harness: Harness,
  ) {}

  /** Fault rules in force while handlers run (never while the developer acts). */
  faultRules: Record<string, FaultRule> = {};
  /** Deliver the rest concurrently when quiescing (faster under faults, whose backoffs then overlap). */
  parallelQuiesce = false;

  static async start(
    overrides: Partial<ConfigInput> = {},
    options: { logLevel?: LogLevel } = {},
  ): Promise<PropertyEnv> {
    const rel = await startRelCloud();
    // info by default: the per-attempt debug lines of a long run would only cost time; every line is scanned.
    const harness = createHarness(rel, overrides, { logLevel: options.logLevel ?? 'info' });
    return new PropertyEnv(rel, harness);
  }

  async close(): Promise<void> {
    await this.rel.close();
  }

  /** Runs one sequence; returns the violations of the model (empty = the property holds) and figures. */
  async run(sequence: Sequence): Promise<RunResult> {
    const run = new SequenceRun(this, `r${++this.runs}`, sequence);
    try {
      return await run.execute();
    } finally {
      await run.cleanup();
      this.harness.logs.clear();
    }
  }

  developer(ref: ClusterRef): DeveloperClients {
    const server = this.rel.cloud.kube(ref);
    let client = this.devClients.get(server.url);
    if (!client) {
      client = developerClients(this.rel, ref);
      this.devClients.set(server.url, client);
    }
    return client;
  }

  forgetDeveloper(url: string): void {
    this.devClients.delete(url);
  }
}

const MCS = { group: 'net.gke.io', version: 'v1', plural: 'serviceexports' } as const;
const linkOf = (ref: ClusterRef) =>
  `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
const json = (value: unknown) => JSON.stringify(value);

class SequenceRun {
  private readonly refs: ClusterRef[];
  private readonly exists: boolean[];
  private readonly everExisted: boolean[];
  /** `${c}/${s}` → the Service as the developer left it. */
  private readonly services = new Map<string, SvcState>();
  /** Unmanaged objects and their JSON when seeded; compared byte for byte at the end. */
  private readonly userObjects: Array<{
    what: string;
    cluster?: number;
    read: () => unknown;
    snapshot: string;
  }> = [];
  private readonly random: () => number;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly stats: RunStats = {
    ops: 0,
    deliveries: 0,
    nacks: 0,
    emitted: 0,
    convergedBeforeFleetReconcile: false,
    excused: [],
  };
  private readonly violations: string[] = [];
  private readonly duplicates = new WeakSet<Message>();

  constructor(
    private readonly env: PropertyEnv,
    private readonly prefix: string,
    private readonly sequence: Sequence,
  ) {
    this.refs = CLUSTER_SLOTS.map((slot) => ({
      project: slot.project,
      location: slot.location,
      name: `${prefix}-${slot.key}`,
    }));
    this.exists = CLUSTER_SLOTS.map(() => false);
    this.everExisted = CLUSTER_SLOTS.map(() => false);
    this.random = seededRandom(sequence.deliverySeed);
  }

  private get rel() {
    return this.env.rel;
  }

  async execute(): Promise<RunResult> {
    const emittedBefore = this.rel.sink.emitted;
    this.seedUnrelatedMembership();
    for (const [i, op] of this.sequence.ops.entries()) {
      try {
        await this.apply(op);
      } catch (error) {
        // The developer's own call failed (not Spokefleet): say which, with the transport's cause.
        throw new Error(`operation ${i} ${JSON.stringify(op)} failed: ${describeChain(error)}`, {
          cause: error,
        });
      }
      this.stats.ops++;
    }
    await this.quiesce();
    const excused: string[] = [];
    const eventViolations = this.checkModel(false, excused);
    this.stats.convergedBeforeFleetReconcile = eventViolations.length === 0 && excused.length === 0;
    this.stats.excused = excused;
    await this.handle([reconcileMessage({ scope: 'fleet', requestId: `${this.prefix}-final` })], false, true);
    await this.quiesce();
    this.violations.push(...this.checkModel(true));
    this.stats.emitted = this.rel.sink.emitted - emittedBefore;
    return { violations: this.violations, eventViolations, stats: this.stats };
  }

  // ---- operations (the developer's and the scheduler's) ----

  private async apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'createCluster':
        return this.createCluster(op.c);
      case 'deleteCluster':
        return this.deleteCluster(op.c);
      case 'putService':
        return this.putService(op.c, op.s, op.labelled);
      case 'setLabel':
        return this.setLabel(op.c, op.s, op.labelled);
      case 'deleteService':
        return this.deleteService(op.c, op.s);
      case 'reconcile': {
        const ref = this.refs[op.c];
        const request =
          op.scope === 'fleet'
            ? { scope: 'fleet' }
            : op.scope === 'project'
              ? { scope: 'project', project: ref.project }
              : { scope: 'cluster', project: ref.project, location: ref.location, cluster: ref.name };
        this.rel.sink.queue.push(reconcileMessage(request));
        return;
      }
      case 'deliver':
        return this.deliverSome(op.n, op.parallel);
    }
  }

  private async createCluster(c: number): Promise<void> {
    if (this.exists[c]) return;
    const ref = this.refs[c];
    await createClusterNow(this.rel, ref, CLUSTER_SLOTS[c].spec);
    this.exists[c] = true;
    this.everExisted[c] = true;
    this.watchKube(c);
    if (CLUSTER_SLOTS[c].key === 'c' && this.sequence.byHand) {
      const id = `byhand-${ref.name}`;
      const name = `projects/${FLEET}/locations/global/memberships/${id}`;
      const hub = this.rel.cloud.hub.store;
      if (!hub.getMembership(name)) {
        hub.registerMembership(FLEET, 'global', id, ref);
        this.userObjects.push({
          what: `by-hand membership ${name}`,
          read: () => hub.getMembership(name),
          snapshot: json(hub.getMembership(name)),
        });
      }
    }
  }

  private async deleteCluster(c: number): Promise<void> {
    if (!this.exists[c]) return;
    const url = this.rel.cloud.kube(this.refs[c]).url;
    await deleteClusterNow(this.rel, this.refs[c]);
    this.env.forgetDeveloper(url);
    this.exists[c] = false;
    for (const key of [...this.services.keys()]) if (key.startsWith(`${c}/`)) this.services.delete(key);
  }

  private async ensureNamespace(c: number, namespace: string): Promise<void> {
    const store = this.rel.cloud.kube(this.refs[c]).api.store;
    if (store.get('namespaces', undefined, namespace)) return;
    await this.env.developer(this.refs[c]).core.createNamespace({ body: { metadata: { name: namespace } } });
    this.userObjects.push({
      what: `namespace ${namespace} the developer created`,
      cluster: c,
      read: () => store.get('namespaces', undefined, namespace),
      snapshot: json(store.get('namespaces', undefined, namespace)),
    });
  }

  private async putService(c: number, s: number, labelled: boolean): Promise<void> {
    if (!this.exists[c]) return;
    if (this.services.has(`${c}/${s}`)) return this.setLabel(c, s, labelled);
    const slot = SERVICE_SLOTS[s];
    const ref = this.refs[c];
    const store = this.rel.cloud.kube(ref).api.store;
    await this.ensureNamespace(c, slot.namespace);
    const dev = this.env.developer(ref);
    if (slot.userExport && !store.get('serviceexports', slot.namespace, slot.name)) {
      await dev.custom.createNamespacedCustomObject({
        ...MCS,
        namespace: slot.namespace,
        body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name: slot.name } },
      });
      this.userObjects.push({
        what: `user-owned ServiceExport ${slot.namespace}/${slot.name}`,
        cluster: c,
        read: () => store.get('serviceexports', slot.namespace, slot.name),
        snapshot: json(store.get('serviceexports', slot.namespace, slot.name)),
      });
    }
    await dev.core.createNamespacedService({
      namespace: slot.namespace,
      body: {
        metadata: {
          name: slot.name,
          labels: { app: slot.name, ...(labelled ? { [EXPORT_LABEL]: 'true' } : {}) },
        },
        spec: { selector: { app: slot.name }, ports: [{ port: 80 }] },
      },
    });
    this.services.set(`${c}/${s}`, { labelled });
  }

  private async setLabel(c: number, s: number, labelled: boolean): Promise<void> {
    const state = this.services.get(`${c}/${s}`);
    if (!this.exists[c] || !state) return;
    const slot = SERVICE_SLOTS[s];
    const { PatchStrategy, setHeaderOptions } =
      require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
    await this.env.developer(this.refs[c]).core.patchNamespacedService(
      {
        name: slot.name,
        namespace: slot.namespace,
        body: { metadata: { labels: { [EXPORT_LABEL]: labelled ? 'true' : null } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    state.labelled = labelled;
  }

  private async deleteService(c: number, s: number): Promise<void> {
    if (!this.exists[c] || !this.services.has(`${c}/${s}`)) return;
    const slot = SERVICE_SLOTS[s];
    await this.env
      .developer(this.refs[c])
      .core.deleteNamespacedService({ name: slot.name, namespace: slot.namespace });
    this.services.delete(`${c}/${s}`);
  }

  /** A membership someone registered by hand for a cluster Spokefleet cannot reach: never touched. */
  private seedUnrelatedMembership(): void {
    const hub = this.rel.cloud.hub.store;
    const ghost = { project: DEMO_PROJECT.id, location: 'us-east4', name: `${this.prefix}-ghost` };
    const name = `projects/${FLEET}/locations/global/memberships/user-${this.prefix}`;
    hub.registerMembership(FLEET, 'global', `user-${this.prefix}`, ghost);
    this.userObjects.push({
      what: `unrelated user membership ${name}`,
      read: () => hub.getMembership(name),
      snapshot: json(hub.getMembership(name)),
    });
  }

  // ---- delivery (Pub/Sub's at-least-once, any order) ----

  private async deliverSome(n: number, parallel: boolean): Promise<void> {
    const queue = this.rel.sink.queue;
    const batch: Message[] = [];
    for (let i = 0; i < n && queue.length > 0; i++) {
      batch.push(queue.splice(Math.floor(this.random() * queue.length), 1)[0]);
    }
    await this.handle(batch, parallel, false);
  }

  /** Delivers each message 1–5 times; some copies go back to the queue (delayed duplicates); nacks are redelivered later. */
  private async handle(batch: Message[], parallel: boolean, exactlyOnce: boolean): Promise<void> {
    const queue = this.rel.sink.queue;
    const copies: Message[] = [];
    for (const message of batch) {
      // A duplicate put back in the queue is one more delivery of the same message, not a new publication.
      const n = exactlyOnce || this.duplicates.has(message) ? 1 : 1 + Math.floor(this.random() * 5);
      for (let i = 0; i < n; i++) {
        if (i > 0 && this.random() < 0.4) {
          const duplicate = { ...message };
          this.duplicates.add(duplicate);
          queue.splice(Math.floor(this.random() * (queue.length + 1)), 0, duplicate);
        } else copies.push(message);
      }
    }
    for (let i = copies.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [copies[i], copies[j]] = [copies[j], copies[i]];
    }
    const hubBefore = this.membershipSnapshot();
    this.env.active++;
    const { faults } = this.rel.cloud;
    for (const [pattern, rule] of Object.entries(this.env.faultRules)) faults.setRule(pattern, rule);
    // A nacked message goes back once, however many of its copies were nacked: Pub/Sub redelivers a message, it
    // does not multiply it. (Requeueing every nacked copy, each delivered 1–5 times again, grew the queue
    // geometrically whenever most deliveries failed — on a slow machine the deadline made them fail — until the
    // process ran out of memory.)
    const nacked = new Set<Message>();
    try {
      const deliverOne = async (message: Message) => {
        const result = await this.env.harness.deliver(message);
        this.stats.deliveries++;
        if (!result.acked) {
          this.stats.nacks++;
          nacked.add(message);
        }
      };
      if (parallel) await Promise.all(copies.map(deliverOne));
      else for (const message of copies) await deliverOne(message);
    } finally {
      queue.push(...nacked);
      if (Object.keys(this.env.faultRules).length > 0) faults.clearRules();
      this.env.active--;
    }
    this.checkMembershipChanges(hubBefore, this.membershipSnapshot());
  }

  /** Delivers until nothing is queued: every message at least once, nacked ones again. */
  private async quiesce(): Promise<void> {
    for (let round = 0; this.rel.sink.queue.length > 0; round++) {
      if (round > 40) {
        this.violations.push(
          `no quiescence after ${round} rounds: ${this.rel.sink.queue.length} messages still queued`,
        );
        this.rel.sink.drain();
        return;
      }
      await this.handle(this.rel.sink.drain(), this.env.parallelQuiesce || this.random() < 0.5, false);
    }
  }

  // ---- watching what Spokefleet does ----

  private watchKube(c: number): void {
    const ref = this.refs[c];
    const stop = this.rel.cloud.kube(ref).api.store.subscribe((change) => {
      if (this.env.active === 0) return;
      const { metadata } = change.object;
      const what = `${ref.name}: ${change.type} ${change.resource.resource} ${metadata.namespace ?? ''}/${metadata.name}`;
      const managed = metadata.labels?.[MANAGED_K8S] === 'spokefleet';
      const resource = change.resource.resource;
      if (change.type === 'MODIFIED') this.violations.push(`Spokefleet modified an object: ${what}`);
      else if (change.type === 'DELETED' && !(resource === 'serviceexports' && managed))
        this.violations.push(`Spokefleet deleted an object it does not manage: ${what}`);
      else if (
        change.type === 'ADDED' &&
        !(resource === 'events' || (managed && ['namespaces', 'serviceexports'].includes(resource)))
      )
        this.violations.push(`Spokefleet created an unexpected object: ${what}`);
      else if (change.type === 'ADDED' && resource === 'namespaces' && !this.exists[c])
        this.violations.push(`namespace created in a deleted cluster: ${what}`);
    });
    this.unsubscribe.push(stop);
  }

  private membershipSnapshot(): Map<string, string> {
    return new Map(this.rel.cloud.hub.store.list().memberships.map((m) => [m.name, json(m)]));
  }

  private checkMembershipChanges(before: Map<string, string>, after: Map<string, string>): void {
    for (const [name, was] of before) {
      const managed =
        (JSON.parse(was) as { labels?: Record<string, string> }).labels?.[MANAGED_GCP] === 'spokefleet';
      const now = after.get(name);
      if (now === undefined && !managed)
        this.violations.push(`Spokefleet deleted an unmanaged membership ${name}`);
      if (now !== undefined && now !== was && !managed) {
        // A membership CREATING → READY is the Hub's own doing; anything else on an unmanaged one is ours.
        this.violations.push(`unmanaged membership ${name} changed: ${was} → ${now}`);
      }
    }
    for (const [name, now] of after) {
      if (before.has(name)) continue;
      const managed =
        (JSON.parse(now) as { labels?: Record<string, string> }).labels?.[MANAGED_GCP] === 'spokefleet';
      if (!managed) this.violations.push(`Spokefleet created an unlabelled membership ${name}`);
    }
  }

  // ---- the model ----

  /** The model's problems; with `excused`, those a named exception covers go there instead (events-alone check). */
  private checkModel(final: boolean, excused?: string[]): string[] {
    const problems: string[] = [];
    const { cloud } = this.rel;
    const memberships = cloud.hub.store.list().memberships;
    // Who exports what, for the cross-project rule.
    const exportingProjects = new Map<string, Set<string>>();
    for (const [c, ref] of this.refs.entries()) {
      if (!this.exists[c]) continue;
      for (const e of cloud.kube(ref).api.store.list('serviceexports')) {
        const key = `${e.metadata.namespace}/${e.metadata.name}`;
        const set = exportingProjects.get(key) ?? new Set<string>();
        set.add(ref.project);
        exportingProjects.set(key, set);
      }
    }
    for (const [c, ref] of this.refs.entries()) {
      const slot = CLUSTER_SLOTS[c];
      const mine = memberships.filter((m) => m.endpoint?.gkeCluster?.resourceLink === linkOf(ref));
      if (mine.length > 1) problems.push(`${ref.name}: ${mine.length} memberships`);
      if (!this.exists[c]) {
        if (mine.some((m) => m.labels?.[MANAGED_GCP] === 'spokefleet'))
          problems.push(`${ref.name}: deleted, but its managed membership is still there`);
        continue;
      }
      const cluster = cloud.container.store.getCluster(ref) as unknown as {
        workloadIdentityConfig?: { workloadPool?: string };
        nodePools?: Array<{ name: string; config?: { workloadMetadataConfig?: { mode?: string } } }>;
        network: string;
        privateClusterConfig?: { peeringName?: string };
      };
      const store = cloud.kube(ref).api.store;
      if (!slot.spoke) {
        if (mine.length > 0) problems.push(`${ref.name}: not a spoke, but has a membership`);
        if (cluster.workloadIdentityConfig?.workloadPool)
          problems.push(`${ref.name}: not a spoke, but its workload identity was set`);
        for (const kind of ['namespaces', 'serviceexports'])
          for (const o of store.list(kind))
            if (o.metadata.labels?.[MANAGED_K8S] === 'spokefleet')
              problems.push(`${ref.name}: not a spoke, but has managed ${kind} ${o.metadata.name}`);
        continue;
      }
      // GKE accepts only the pool of the cluster's own project.
      const ownPool = `${ref.project}.svc.id.goog`;
      if (cluster.workloadIdentityConfig?.workloadPool !== ownPool)
        problems.push(`${ref.name}: workload identity is not ${ownPool}`);
      for (const nodePool of cluster.nodePools ?? [])
        if (nodePool.config?.workloadMetadataConfig?.mode !== 'GKE_METADATA')
          problems.push(`${ref.name}: node pool ${nodePool.name} is not on the GKE metadata server`);
      if (mine.length !== 1) problems.push(`${ref.name}: ${mine.length} memberships, want 1`);
      if (
        this.sequence.byHand &&
        slot.key === 'c' &&
        mine.some((m) => m.labels?.[MANAGED_GCP] === 'spokefleet')
      )
        problems.push(`${ref.name}: has a by-hand membership and Spokefleet made a second one`);
      if (!store.get('namespaces', undefined, 'mcs-common')) problems.push(`${ref.name}: no mcs-common`);
      const peeringName = cluster.privateClusterConfig?.peeringName;
      if (peeringName) {
        const peering = cloud.compute.store
          .getNetwork(ref.project, cluster.network)
          ?.peerings?.find((p) => p.name === peeringName);
        if (peering?.exportCustomRoutes !== true)
          problems.push(`${ref.name}: peering ${peeringName} does not export custom routes`);
      }
      const wanted = new Set<string>();
      for (const [s, svc] of SERVICE_SLOTS.entries()) {
        const state = this.services.get(`${c}/${s}`);
        const key = `${svc.namespace}/${svc.name}`;
        const found = store.get('serviceexports', svc.namespace, svc.name);
        const managed = found?.metadata.labels?.[MANAGED_K8S] === 'spokefleet';
        if (!state?.labelled) continue;
        if (FORBIDDEN_NAMESPACES.has(svc.namespace)) {
          if (found) problems.push(`${ref.name}: ${key} in a forbidden namespace was exported`);
          const events = store
            .list('events', svc.namespace)
            .filter(
              (e) =>
                (e as { reason?: string }).reason === 'ExportRefused' &&
                (e as { involvedObject?: { name?: string } }).involvedObject?.name === svc.name,
            );
          if (final && events.length !== 1)
            problems.push(`${ref.name}: ${key} refused with ${events.length} Events, want 1`);
          continue;
        }
        if (svc.userExport) {
          if (managed)
            problems.push(`${ref.name}: ${key} has a user-owned export, but a managed one was made`);
          continue;
        }
        wanted.add(key);
        if (!found) {
          const others = [...(exportingProjects.get(key) ?? [])].filter((p) => p !== ref.project);
          const problem = `${ref.name}: labelled ${key} has no ServiceExport`;
          if (others.length > 0) continue;
          if (excused && this.refusedForAnotherProject(store, svc))
            excused.push(`${problem} (${EVENT_EXCEPTIONS.refusedRivalGone})`);
          else problems.push(problem);
        }
      }
      for (const e of store.list('serviceexports')) {
        const key = `${e.metadata.namespace}/${e.metadata.name}`;
        if (e.metadata.labels?.[MANAGED_K8S] === 'spokefleet' && !wanted.has(key))
          problems.push(`${ref.name}: managed ServiceExport ${key} outlives its label or Service`);
      }
    }
    for (const [key, projects] of exportingProjects) {
      const userOwned = SERVICE_SLOTS.some((s) => s.userExport && `${s.namespace}/${s.name}` === key);
      if (!userOwned && projects.size > 1)
        problems.push(`${key} is exported from ${projects.size} projects: ${[...projects].join(', ')}`);
    }
    const features = cloud.hub.store
      .list()
      .features.filter((f) => f.name.endsWith('/multiclusterservicediscovery'));
    if (this.everExisted.some((e, c) => e && CLUSTER_SLOTS[c].spoke) && features.length !== 1)
      problems.push(`${features.length} MCS features`);
    for (const object of this.userObjects) {
      if (object.cluster !== undefined && !this.exists[object.cluster]) continue;
      const now = json(object.read());
      if (now !== object.snapshot) problems.push(`${object.what} changed: ${object.snapshot} → ${now}`);
    }
    return problems;
  }

  /** Spokefleet recorded that it refused this Service because another project exports its name. */
  private refusedForAnotherProject(store: ReturnType<LocalCloud['kube']>['api']['store'], svc: ServiceSlot) {
    return store
      .list('events', svc.namespace)
      .some(
        (e) =>
          (e as { reason?: string }).reason === 'ExportRefused' &&
          (e as { involvedObject?: { name?: string } }).involvedObject?.name === svc.name &&
          String((e as { message?: string }).message).includes('already exported from another project'),
      );
  }

  /** Leaves the shared local cloud as it was: this run's clusters and memberships go, without audit entries. */
  async cleanup(): Promise<void> {
    for (const stop of this.unsubscribe) stop();
    const { cloud } = this.rel;
    for (const [c, ref] of this.refs.entries()) {
      if (!cloud.container.store.getCluster(ref)) continue;
      const url = cloud.kubes.get(`${ref.project}/${ref.location}/${ref.name}`)?.url;
      if (url) this.env.forgetDeveloper(url);
      // An operation may still run on it (e.g. a workload identity update): wait for it.
      for (let i = 0; i < 200; i++) {
        try {
          await cloud.container.store.deleteCluster(ref);
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      this.exists[c] = false;
    }
    for (const m of cloud.hub.store.list().memberships) {
      const link = m.endpoint?.gkeCluster?.resourceLink ?? '';
      if (link.includes(`/clusters/${this.prefix}-`)) cloud.hub.store.deleteMembership(m.name);
    }
    this.rel.sink.drain();
  }
}

/** An error and its causes on one line (fetch's "fetch failed" hides the socket error in `cause`). */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code, message } = e as { name?: string; code?: unknown; message?: string };
    parts.push([name, code, message].filter(Boolean).join(' '));
  }
  return parts.join(' ← ');
}

/**
 * Operations over the slots; weights favour Service changes and deliveries, as in a real fleet. Cluster and Service
 * choices lean towards one cluster in each project (`a` and `c`) and one Service name (`mcs-common/api`), so the
 * cases that matter — one name labelled in both projects, a rival withdrawn — come up in most sequences, not in 2
 * of 40 (delivery.test.ts measures this with classifySequence and fails when it drops).
 */
/** Cluster slots `a` (first project) and `c` (second) most of the time, any slot otherwise. */
function clusterChoice(): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0, 2) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: CLUSTER_SLOTS.length - 1 }) },
  );
}

export function opArbitrary(): fc.Arbitrary<Op> {
  const c = clusterChoice();
  const s = fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: SERVICE_SLOTS.length - 1 }) },
  );
  const labelled = fc.oneof(
    { weight: 2, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('createCluster' as const), c }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteCluster' as const), c }) },
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('putService' as const), c, s, labelled }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('setLabel' as const), c, s, labelled: fc.boolean() }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteService' as const), c, s }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('reconcile' as const),
        scope: fc.constantFrom('cluster' as const, 'project' as const, 'fleet' as const),
        c,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('deliver' as const),
        n: fc.integer({ min: 1, max: 6 }),
        parallel: fc.boolean(),
      }),
    },
  );
}

export function sequenceArbitrary(maxOps = 30): fc.Arbitrary<Sequence> {
  // Half the sequences have a contest somewhere: `mcs-common/api` labelled in a cluster of each project.
  const contest = fc.option(
    fc.tuple(fc.nat(), fc.boolean()).map(([at, firstA]): [number, Op[]] => {
      const [x, y] = firstA ? [0, 2] : [2, 0];
      return [
        at,
        [
          { kind: 'createCluster', c: x },
          { kind: 'createCluster', c: y },
          { kind: 'putService', c: x, s: 0, labelled: true },
          { kind: 'putService', c: y, s: 0, labelled: true },
        ],
      ];
    }),
    { freq: 2 },
  );
  return fc.record({
    byHand: fc.boolean(),
    deliverySeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    // Most sequences start by creating a few clusters, so the Service operations have somewhere to land.
    ops: fc
      .tuple(
        fc.array(clusterChoice(), { maxLength: 4, size: 'max' }),
        fc.array(opArbitrary(), { minLength: 1, maxLength: maxOps, size: 'max' }),
        contest,
      )
      .map(([creates, rest, inserted]) => {
        const ops = [...creates.map((c): Op => ({ kind: 'createCluster', c })), ...rest];
        if (inserted) ops.splice(inserted[0] % (ops.length + 1), 0, ...inserted[1]);
        return ops;
      }),
  });
}

/** What a sequence exercises, decided from its operations alone (the developer's side is deterministic). */
export interface Coverage {
  /** One exportable Service name labelled in spoke clusters of both projects at the same time. */
  crossProject: boolean;
  /** After that, the name stayed labelled in one project only (its rival unlabelled, deleted or its cluster gone). */
  rivalLeft: boolean;
  /** A labelled Service in a spoke cluster unlabelled or deleted (a managed export must go). */
  unexported: boolean;
  /** A spoke cluster deleted while it had a labelled Service. */
  clusterDeletedWhileLabelled: boolean;
}

export function classifySequence(sequence: Sequence): Coverage {
  const coverage: Coverage = {
    crossProject: false,
    rivalLeft: false,
    unexported: false,
    clusterDeletedWhileLabelled: false,
  };
  const exists = CLUSTER_SLOTS.map(() => false);
  const labels = new Map<string, boolean>();
  const contested = new Set<number>();
  const exportable = [...SERVICE_SLOTS.keys()].filter(
    (s) => !SERVICE_SLOTS[s].userExport && !FORBIDDEN_NAMESPACES.has(SERVICE_SLOTS[s].namespace),
  );
  const labelledSpoke = (c: number, s: number) =>
    CLUSTER_SLOTS[c].spoke && exists[c] && labels.get(`${c}/${s}`) === true;
  for (const op of sequence.ops) {
    switch (op.kind) {
      case 'createCluster':
        exists[op.c] = true;
        break;
      case 'deleteCluster':
        if (!exists[op.c]) break;
        if (SERVICE_SLOTS.some((_, s) => labelledSpoke(op.c, s))) coverage.clusterDeletedWhileLabelled = true;
        exists[op.c] = false;
        for (const key of [...labels.keys()]) if (key.startsWith(`${op.c}/`)) labels.delete(key);
        break;
      case 'putService':
      case 'setLabel': {
        const key = `${op.c}/${op.s}`;
        if (!exists[op.c] || (op.kind === 'setLabel' && !labels.has(key))) break;
        if (labelledSpoke(op.c, op.s) && !op.labelled) coverage.unexported = true;
        labels.set(key, op.labelled);
        break;
      }
      case 'deleteService':
        if (labelledSpoke(op.c, op.s)) coverage.unexported = true;
        labels.delete(`${op.c}/${op.s}`);
        break;
    }
    for (const s of exportable) {
      const projects = new Set(
        CLUSTER_SLOTS.flatMap((slot, c) => (labelledSpoke(c, s) ? [slot.project] : [])),
      );
      if (projects.size > 1) {
        coverage.crossProject = true;
        contested.add(s);
      } else if (projects.size === 1 && contested.has(s)) {
        coverage.rivalLeft = true;
        contested.delete(s);
      } else if (projects.size === 0) contested.delete(s);
    }
  }
  return coverage;
}

// ---------------------------------------------------------------------------------------------------------------
// Resource behaviour
// ---------------------------------------------------------------------------------------------------------------

/** process.getActiveResourcesInfo(), counted by type. */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1;
  return out;
}
