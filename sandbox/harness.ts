/**
 * The whole system on one machine: the local cloud, both functions under functions-framework serving the built
 * bundle, and the event path between them — direct Eventarc-style delivery (default) or the real Pub/Sub
 * emulator with push subscriptions. Used by `npm start`, `npm run sandbox` and the end-to-end tests.
 *
 * Project and fleet reconcile requests fan out as in production (`reconcileTopic`): the reconcile function
 * publishes one cluster request per cluster with @google-cloud/pubsub — to the emulator in Pub/Sub mode, to the
 * Publish stand-in (sandbox/pubsub/publisher.ts) in direct mode, whose messages the direct delivery POSTs back to
 * the reconcile function. A Cloud Logging stand-in serves the functions' log lines through `entries.list`, for
 * `spokefleet reconcile --wait`.
 */
import { randomBytes } from 'node:crypto';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { ConfigInput } from '../shared/config';
import { CloudEventDelivery, type PublishedMessage } from './audit/delivery';
import { type AviatrixStandIn, type AviatrixVpc, startAviatrix } from './aviatrix';
import { containerClientOptions } from './container/client-options';
import { type FunctionProcess, startFunction } from './functions';
import type { RestServer } from './google-rest';
import { DEVELOPER_TOKEN, LocalCloud, type SandboxProject } from './local-cloud';
import { startLoggingServer } from './logging/server';
import { type PublishStandIn, startPublishStandIn } from './pubsub/publisher';
import { type Emulator, PubsubSink, pushTopic, startEmulator } from './pubsub-emulator';
import { Timing, type TimingOptions } from './timing';

export const DEMO_PROJECT: SandboxProject = { id: 'spokefleet-demo', number: '123456789012' };
export const DEMO_PROJECT_2: SandboxProject = { id: 'spokefleet-demo-two', number: '210987654321' };
export const SPOKES = ['gcp-spoke100-us-east4', 'gcp-spoke200-us-east4'];
export const NON_SPOKE = 'shared-services-us-east4';
export const AUDIT_TOPIC = 'spokefleet-audit';
export const RECONCILE_TOPIC = 'spokefleet-reconcile';
/** The reconcile topic's full name, as `reconcileTopic` holds it. */
export const RECONCILE_TOPIC_NAME = `projects/${DEMO_PROJECT.id}/topics/${RECONCILE_TOPIC}`;
const AUDIT_TOPIC_NAME = `projects/${DEMO_PROJECT.id}/topics/${AUDIT_TOPIC}`;
/**
 * Reconcile requests the direct delivery has POSTed and not yet seen answered, at most: a push subscription feeding a
 * function that runs a bounded number of instances (the one sandbox process stands for all of them). Below the
 * deployed default (max_instances × request_concurrency = 80): one process on a laptop's cores is not 20 instances.
 */
export const RECONCILE_IN_FLIGHT = 32;

export interface SandboxOptions {
  delivery?: 'direct' | 'pubsub';
  /** Overrides merged into the generated SPOKEFLEET_CONFIG. */
  config?: Partial<ConfigInput>;
  provisionDelayMs?: number;
  /** How long GKE takes to serve the MCS resources once a cluster is a member of an MCS fleet. */
  mcsDelayMs?: number;
  /**
   * Start the Aviatrix Controller stand-in (one spoke gateway per seed spoke VPC, empty include lists) and turn
   * on `aviatrix` with `advertise` in the generated config. An object sets the stand-in's latency per call.
   */
  aviatrix?: boolean | { latencyMs?: number; sessionTtlMs?: number };
  /**
   * The timing profile (default instant). `realistic` draws every operation's duration from the table of typical
   * GCP durations times `scale`, and scales the functions' invocation budget (config `timeScale`) and the direct
   * delivery's retry backoff and request timeout (the function timeout) with it.
   */
  timing?: Timing | TimingOptions;
  /** Reconcile requests in flight at most (direct delivery; default RECONCILE_IN_FLIGHT). */
  reconcileInFlight?: number;
}

export interface Sandbox {
  cloud: LocalCloud;
  timing: Timing;
  config: ConfigInput;
  audit: FunctionProcess;
  reconcile: FunctionProcess;
  /** Direct delivery of audit entries (direct mode). */
  auditDelivery?: CloudEventDelivery;
  /** Direct delivery of reconcile requests (direct mode), also of the cluster requests a fan-out publishes. */
  reconcileDelivery?: CloudEventDelivery;
  /** The Publish stand-in the functions publish fanned-out requests to (direct mode). */
  publisher?: PublishStandIn;
  /** Cloud Logging `entries.list` over both functions' log lines. */
  logging: RestServer;
  emulator?: Emulator;
  pubsubSink?: PubsubSink;
  /** A ClusterManagerClient on the local GKE, as a user would have. */
  gke: ClusterManagerClient;
  /** The Aviatrix Controller stand-in and its login, with the `aviatrix` option. */
  aviatrix?: { controller: AviatrixStandIn; username: string; password: string };
  /** Publishes a reconcile request through the configured event path. */
  requestReconcile(request: Record<string, unknown>): Promise<void>;
  /** Waits until every event emitted so far has been delivered and answered (direct mode) or published (Pub/Sub). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Primary range of each seed network's one subnetwork (us-east4), per project; outside GKE's 10.0.0.0/8 picks. */
const SEED_SUBNET_RANGES: Record<string, [string, string]> = {
  'gcp-spoke100-us-east4': ['192.168.100.0/24', '192.168.101.0/24'],
  'gcp-spoke200-us-east4': ['192.168.200.0/24', '192.168.201.0/24'],
  [NON_SPOKE]: ['192.168.50.0/24', '192.168.51.0/24'],
};

/** Networks of the seed topology in both sandbox projects, each with one subnetwork of the same name. */
export function seedNetworks(cloud: LocalCloud): void {
  for (const [index, project] of [DEMO_PROJECT, DEMO_PROJECT_2].entries()) {
    for (const name of [...SPOKES, NON_SPOKE]) {
      cloud.compute.store.addNetwork(project.id, name);
      cloud.compute.subnetworks.add(project.id, 'us-east4', name, {
        network: name,
        ipCidrRange: SEED_SUBNET_RANGES[name][index],
      });
    }
  }
}

/** The seed spokes' gateways as the Controller lists them: one per spoke VPC, nothing customised yet. */
export function seedGateways(): AviatrixVpc[] {
  return [DEMO_PROJECT, DEMO_PROJECT_2].flatMap((project, index) =>
    SPOKES.map((network) => ({
      vpc_id: `${network}~-~${project.id}`,
      cloud_type: 4,
      vpc_name: `${network.replace(/^gcp-/, '')}-gw${index === 0 ? '' : '-2'}`,
      vpc_region: 'us-east4',
      global_vpc: false,
      include_cidr_list: [],
    })),
  );
}

const AVIATRIX_USERNAME = 'spokefleet';

export function sandboxConfig(cloud: LocalCloud, overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    fleetProject: DEMO_PROJECT.id,
    projects: [DEMO_PROJECT.id, DEMO_PROJECT_2.id],
    spokes: SPOKES.map((network) => ({ network })),
    namespaces: ['mcs-common'],
    selfPrincipals: [cloud.selfPrincipal],
    concurrency: 4,
    retryBudgetMs: 5_000,
    endpoints: cloud.endpoints(),
    ...overrides,
  };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // The sandbox's own clients (the emulator's admin client, the GKE client) talk to loopback only: without this,
  // google-auth-library looks for the GCP metadata server (a DNS lookup off the machine, and a
  // MetadataLookupWarning on the terminal).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const timing = options.timing instanceof Timing ? options.timing : new Timing(options.timing);
  const cloud = await LocalCloud.start({
    projects: [DEMO_PROJECT, DEMO_PROJECT_2],
    fleetProject: DEMO_PROJECT.id,
    provisionDelayMs: options.provisionDelayMs ?? 100,
    mcsDelayMs: options.mcsDelayMs,
    timing,
  });
  const stops: Array<() => Promise<void>> = [() => cloud.close()];
  try {
    seedNetworks(cloud);
    let aviatrix: Sandbox['aviatrix'];
    const overrides: Partial<ConfigInput> = {
      ...(timing.realistic ? { timeScale: timing.configScale } : {}),
      ...options.config,
    };
    if (options.aviatrix) {
      const tuning = typeof options.aviatrix === 'object' ? options.aviatrix : {};
      const password = randomBytes(12).toString('base64url');
      const controller = await startAviatrix({
        username: AVIATRIX_USERNAME,
        password,
        vpcs: seedGateways(),
        ...tuning,
      });
      stops.push(() => controller.close());
      aviatrix = { controller, username: AVIATRIX_USERNAME, password };
      overrides.aviatrix = {
        controllerUrl: controller.url,
        username: AVIATRIX_USERNAME,
        passwordSecret: controller.secretName,
        // Sandbox users add gateways while it runs: always ask.
        cacheSeconds: 0,
        advertise: { controlPlane: true, pods: true, services: false, verifyDelayMs: 200 },
        ...options.config?.aviatrix,
      };
      overrides.endpoints = {
        ...cloud.endpoints(),
        secretmanager: controller.url,
        ...options.config?.endpoints,
      };
    }
    const pubsubMode = (options.delivery ?? 'direct') === 'pubsub';
    // Where the functions publish: the emulator, or the Publish stand-in routing to the direct deliveries below.
    const routes = new Map<string, (message: PublishedMessage) => void>();
    let emulator: Emulator | undefined;
    let publisher: PublishStandIn | undefined;
    if (pubsubMode) {
      emulator = await startEmulator(DEMO_PROJECT.id);
      const started = emulator;
      stops.push(() => started.stop());
    } else {
      publisher = await startPublishStandIn({ topic: (name) => routes.get(name), faults: cloud.faults });
      const started = publisher;
      stops.push(() => started.close());
    }
    const pubsubHost = emulator?.host ?? publisher?.host ?? '';
    const base = sandboxConfig(cloud, { reconcileTopic: RECONCILE_TOPIC_NAME });
    const config = sandboxConfig(cloud, {
      reconcileTopic: RECONCILE_TOPIC_NAME,
      ...overrides,
      endpoints: { ...base.endpoints, pubsub: pubsubHost, ...overrides.endpoints },
    });
    const [audit, reconcile] = await Promise.all([
      startFunction('onAuditLogEvent', config),
      startFunction('onReconcileRequest', config),
    ]);
    stops.push(
      () => audit.stop(),
      () => reconcile.stop(),
    );
    const logging = await startLoggingServer({
      project: DEMO_PROJECT.id,
      faults: cloud.faults,
      sources: () => [
        { service: 'onauditlogevent', lines: audit.logs },
        { service: 'onreconcilerequest', lines: reconcile.logs },
      ],
    });
    stops.push(() => logging.close());
    const gke = new ClusterManagerClient(containerClientOptions(cloud.container.address));
    stops.push(() => gke.close());

    if (emulator) {
      const running = emulator;
      const backoff = (which: 'audit' | 'reconcile') => {
        const policy = timing.delivery(which);
        return policy ? { backoffMs: { minimum: policy.backoffMs, maximum: policy.maxBackoffMs } } : {};
      };
      await pushTopic(running, AUDIT_TOPIC, audit.url, backoff('audit'));
      // A fanned-out cluster request can take longer than the default 10 s under load; not worth a redelivery.
      await pushTopic(running, RECONCILE_TOPIC, reconcile.url, {
        ackDeadlineSeconds: 60,
        ...backoff('reconcile'),
      });
      const pubsubSink = new PubsubSink(running, AUDIT_TOPIC);
      cloud.setAuditSinks(pubsubSink);
      return {
        cloud,
        timing,
        config,
        audit,
        reconcile,
        emulator: running,
        pubsubSink,
        logging,
        gke,
        aviatrix,
        async requestReconcile(request) {
          await running.pubsub.topic(RECONCILE_TOPIC).publishMessage({ json: request });
        },
        settle: () => pubsubSink.flushed(),
        stop: () => stopAll(stops),
      };
    }

    const auditDelivery = new CloudEventDelivery({
      url: audit.url,
      topic: AUDIT_TOPIC_NAME,
      ...timing.delivery('audit'),
    });
    const reconcileDelivery = new CloudEventDelivery({
      url: reconcile.url,
      topic: RECONCILE_TOPIC_NAME,
      maxInFlight: options.reconcileInFlight ?? RECONCILE_IN_FLIGHT,
      ...timing.delivery('reconcile'),
    });
    routes.set(AUDIT_TOPIC_NAME, (message) => auditDelivery.accept(message));
    routes.set(RECONCILE_TOPIC_NAME, (message) => reconcileDelivery.accept(message));
    cloud.setAuditSinks(auditDelivery);
    return {
      cloud,
      timing,
      config,
      audit,
      reconcile,
      auditDelivery,
      reconcileDelivery,
      publisher,
      logging,
      gke,
      aviatrix,
      async requestReconcile(request) {
        reconcileDelivery.publish(Buffer.from(JSON.stringify(request)));
      },
      async settle() {
        await auditDelivery.idle();
        await reconcileDelivery.idle();
      },
      stop: () => stopAll(stops),
    };
  } catch (error) {
    await stopAll(stops);
    throw error;
  }
}

/** What `npm run sandbox` writes to .sandbox/endpoints.json, and what `spokefleet --sandbox` reads. */
export function sandboxEndpoints(sandbox: Sandbox) {
  const { cloud } = sandbox;
  return {
    projects: [DEMO_PROJECT.id],
    container: cloud.container.address,
    compute: cloud.compute.url,
    gkehub: cloud.hub.url,
    resourcemanager: cloud.hub.url,
    connectGateway: `${cloud.gatewayUrl}/{location}`,
    admin: cloud.adminUrl,
    state: `${cloud.adminUrl}/state`,
    functions: { onAuditLogEvent: sandbox.audit.url, onReconcileRequest: sandbox.reconcile.url },
    pubsub: sandbox.emulator
      ? { emulatorHost: sandbox.emulator.host, auditTopic: AUDIT_TOPIC, reconcileTopic: RECONCILE_TOPIC }
      : undefined,
    /** Cloud Logging `entries.list` over the functions' log lines, for `spokefleet reconcile --wait`. */
    logging: { url: sandbox.logging.url, project: DEMO_PROJECT.id },
    developerToken: DEVELOPER_TOKEN,
    aviatrix: sandbox.aviatrix
      ? {
          url: sandbox.aviatrix.controller.url,
          username: sandbox.aviatrix.username,
          password: sandbox.aviatrix.password,
        }
      : undefined,
    config: sandbox.config,
  };
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
