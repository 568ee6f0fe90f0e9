/**
 * The whole system on one machine: the local cloud, both functions under functions-framework serving the built
 * bundle, and the event path between them — direct Eventarc-style delivery (default) or the real Pub/Sub
 * emulator with push subscriptions. Used by `npm start`, `npm run sandbox` and the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { ConfigInput } from '../shared/config';
import { CloudEventDelivery } from './audit/delivery';
import { type AviatrixStandIn, type AviatrixVpc, startAviatrix } from './aviatrix';
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
  /**
   * Start the Aviatrix Controller stand-in (one spoke gateway per seed spoke VPC, empty include lists) and turn
   * on `aviatrix` with `advertise` in the generated config. An object sets the stand-in's latency per call.
   */
  aviatrix?: boolean | { latencyMs?: number; sessionTtlMs?: number };
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
  const cloud = await LocalCloud.start({
    projects: [DEMO_PROJECT, DEMO_PROJECT_2],
    fleetProject: DEMO_PROJECT.id,
    provisionDelayMs: options.provisionDelayMs ?? 100,
    mcsDelayMs: options.mcsDelayMs,
  });
  const stops: Array<() => Promise<void>> = [() => cloud.close()];
  try {
    seedNetworks(cloud);
    let aviatrix: Sandbox['aviatrix'];
    const overrides: Partial<ConfigInput> = { ...options.config };
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
    const config = sandboxConfig(cloud, overrides);
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
        aviatrix,
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
