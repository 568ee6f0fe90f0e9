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
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { ConfigInput } from '../shared/config';
import { CloudEventDelivery, type PublishedMessage } from './audit/delivery';
import { containerClientOptions } from './container/client-options';
import { type FunctionProcess, startFunction } from './functions';
import type { RestServer } from './google-rest';
import { DEVELOPER_TOKEN, LocalCloud, type SandboxProject } from './local-cloud';
import { startLoggingServer } from './logging/server';
import { type PublishStandIn, startPublishStandIn } from './pubsub/publisher';
import { type Emulator, PubsubSink, pushTopic, startEmulator } from './pubsub-emulator';

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
 * function that runs a bounded number of instances (the one sandbox process stands for all of them).
 */
export const RECONCILE_IN_FLIGHT = 32;

export interface SandboxOptions {
  delivery?: 'direct' | 'pubsub';
  /** Overrides merged into the generated SPOKEFLEET_CONFIG. */
  config?: Partial<ConfigInput>;
  provisionDelayMs?: number;
}

export interface Sandbox {
  cloud: LocalCloud;
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
  /** Publishes a reconcile request through the configured event path. */
  requestReconcile(request: Record<string, unknown>): Promise<void>;
  /** Waits until every event emitted so far has been delivered and answered (direct mode) or published (Pub/Sub). */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Networks of the seed topology (DESIGN §6) in both sandbox projects. */
export function seedNetworks(cloud: LocalCloud): void {
  for (const project of [DEMO_PROJECT, DEMO_PROJECT_2]) {
    for (const name of [...SPOKES, NON_SPOKE]) {
      cloud.compute.store.addNetwork(project.id, name, {
        subnetworks: [`regions/us-east4/subnetworks/${name}`],
      });
    }
  }
}

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
  const cloud = await LocalCloud.start({
    projects: [DEMO_PROJECT, DEMO_PROJECT_2],
    fleetProject: DEMO_PROJECT.id,
    provisionDelayMs: options.provisionDelayMs ?? 100,
  });
  const stops: Array<() => Promise<void>> = [() => cloud.close()];
  try {
    seedNetworks(cloud);
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
      ...options.config,
      endpoints: { ...base.endpoints, pubsub: pubsubHost, ...options.config?.endpoints },
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
      await pushTopic(running, AUDIT_TOPIC, audit.url);
      // A fanned-out cluster request can take longer than the default 10 s under load; not worth a redelivery.
      await pushTopic(running, RECONCILE_TOPIC, reconcile.url, { ackDeadlineSeconds: 60 });
      const pubsubSink = new PubsubSink(running, AUDIT_TOPIC);
      cloud.setAuditSinks(pubsubSink);
      return {
        cloud,
        config,
        audit,
        reconcile,
        emulator: running,
        pubsubSink,
        logging,
        gke,
        async requestReconcile(request) {
          await running.pubsub.topic(RECONCILE_TOPIC).publishMessage({ json: request });
        },
        settle: () => pubsubSink.flushed(),
        stop: () => stopAll(stops),
      };
    }

    const auditDelivery = new CloudEventDelivery({ url: audit.url, topic: AUDIT_TOPIC_NAME });
    const reconcileDelivery = new CloudEventDelivery({
      url: reconcile.url,
      topic: RECONCILE_TOPIC_NAME,
      maxInFlight: RECONCILE_IN_FLIGHT,
    });
    routes.set(AUDIT_TOPIC_NAME, (message) => auditDelivery.accept(message));
    routes.set(RECONCILE_TOPIC_NAME, (message) => reconcileDelivery.accept(message));
    cloud.setAuditSinks(auditDelivery);
    return {
      cloud,
      config,
      audit,
      reconcile,
      auditDelivery,
      reconcileDelivery,
      publisher,
      logging,
      gke,
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
    connectGateway: cloud.gatewayUrl,
    admin: cloud.adminUrl,
    state: `${cloud.adminUrl}/state`,
    functions: { onAuditLogEvent: sandbox.audit.url, onReconcileRequest: sandbox.reconcile.url },
    pubsub: sandbox.emulator
      ? { emulatorHost: sandbox.emulator.host, auditTopic: AUDIT_TOPIC, reconcileTopic: RECONCILE_TOPIC }
      : undefined,
    /** Cloud Logging `entries.list` over the functions' log lines, for `spokefleet reconcile --wait`. */
    logging: { url: sandbox.logging.url, project: DEMO_PROJECT.id },
    developerToken: DEVELOPER_TOKEN,
    config: sandbox.config,
  };
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
