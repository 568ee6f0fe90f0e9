/**
 * The whole system on one machine: the local cloud, both functions under functions-framework serving the built
 * bundle, and the event path between them — direct Eventarc-style delivery (default) or the real Pub/Sub
 * emulator with push subscriptions. Used by `npm start`, `npm run sandbox` and the end-to-end tests.
 */
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { ConfigInput } from '../shared/config';
import { CloudEventDelivery } from './audit/delivery';
import { containerClientOptions } from './container/client-options';
import { type FunctionProcess, startFunction } from './functions';
import { DEVELOPER_TOKEN, LocalCloud, type SandboxProject } from './local-cloud';
import { type Emulator, PubsubSink, pushTopic, startEmulator } from './pubsub-emulator';

export const DEMO_PROJECT: SandboxProject = { id: 'spokefleet-demo', number: '123456789012' };
export const DEMO_PROJECT_2: SandboxProject = { id: 'spokefleet-demo-two', number: '210987654321' };
export const SPOKES = ['gcp-spoke100-us-east4', 'gcp-spoke200-us-east4'];
export const NON_SPOKE = 'shared-services-us-east4';
export const AUDIT_TOPIC = 'spokefleet-audit';
export const RECONCILE_TOPIC = 'spokefleet-reconcile';

export interface SandboxOptions {
  delivery?: 'direct' | 'pubsub';
  /** Overrides merged into the generated SPOKEFLEET_CONFIG. */
  config?: Partial<ConfigInput>;
  provisionDelayMs?: number;
  /** How long GKE takes to serve the MCS resources once a cluster is a member of an MCS fleet. */
  mcsDelayMs?: number;
}

export interface Sandbox {
  cloud: LocalCloud;
  config: ConfigInput;
  audit: FunctionProcess;
  reconcile: FunctionProcess;
  /** Direct delivery of audit entries (direct mode). */
  auditDelivery?: CloudEventDelivery;
  /** Direct delivery of reconcile requests (direct mode). */
  reconcileDelivery?: CloudEventDelivery;
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
    mcsDelayMs: options.mcsDelayMs,
  });
  const stops: Array<() => Promise<void>> = [() => cloud.close()];
  try {
    seedNetworks(cloud);
    const config = sandboxConfig(cloud, options.config);
    const [audit, reconcile] = await Promise.all([
      startFunction('onAuditLogEvent', config),
      startFunction('onReconcileRequest', config),
    ]);
    stops.push(
      () => audit.stop(),
      () => reconcile.stop(),
    );
    const gke = new ClusterManagerClient(containerClientOptions(cloud.container.address));
    stops.push(() => gke.close());

    if ((options.delivery ?? 'direct') === 'pubsub') {
      const emulator = await startEmulator(DEMO_PROJECT.id);
      stops.push(() => emulator.stop());
      await pushTopic(emulator, AUDIT_TOPIC, audit.url);
      await pushTopic(emulator, RECONCILE_TOPIC, reconcile.url);
      const pubsubSink = new PubsubSink(emulator, AUDIT_TOPIC);
      cloud.setAuditSinks(pubsubSink);
      return {
        cloud,
        config,
        audit,
        reconcile,
        emulator,
        pubsubSink,
        gke,
        async requestReconcile(request) {
          await emulator.pubsub.topic(RECONCILE_TOPIC).publishMessage({ json: request });
        },
        settle: () => pubsubSink.flushed(),
        stop: () => stopAll(stops),
      };
    }

    const auditDelivery = new CloudEventDelivery({
      url: audit.url,
      topic: `projects/${DEMO_PROJECT.id}/topics/${AUDIT_TOPIC}`,
    });
    const reconcileDelivery = new CloudEventDelivery({
      url: reconcile.url,
      topic: `projects/${DEMO_PROJECT.id}/topics/${RECONCILE_TOPIC}`,
    });
    cloud.setAuditSinks(auditDelivery);
    return {
      cloud,
      config,
      audit,
      reconcile,
      auditDelivery,
      reconcileDelivery,
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
    connectGateway: `${cloud.gatewayUrl}/{location}`,
    admin: cloud.adminUrl,
    state: `${cloud.adminUrl}/state`,
    functions: { onAuditLogEvent: sandbox.audit.url, onReconcileRequest: sandbox.reconcile.url },
    pubsub: sandbox.emulator
      ? { emulatorHost: sandbox.emulator.host, auditTopic: AUDIT_TOPIC, reconcileTopic: RECONCILE_TOPIC }
      : undefined,
    developerToken: DEVELOPER_TOKEN,
    config: sandbox.config,
  };
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
