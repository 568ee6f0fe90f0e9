/**
 * The error classifier against the errors each client stack really throws: the real client libraries against the
 * local stand-ins, with faults injected (sandbox/faults.ts), a refused port, a reset socket and a connection that
 * never answers. Every stack puts a different meaning into a numeric `code` (a gRPC status in gax, an HTTP status in
 * client-node and gaxios), so each row checks what the classifier makes of one real error: its stack, the class
 * (transient → retried and redelivered, permanent → logged and acknowledged), and the not-found / already-exists /
 * resource-exhausted predicates the adapters and steps branch on.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { NetworksClient } from '@google-cloud/compute/build/src/v1/networks_client';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { PubSub } from '@google-cloud/pubsub';
import { CoreV1Api } from '@kubernetes/client-node';
import { PassThroughClient } from 'google-auth-library';
import { gkehub } from 'googleapis/build/src/apis/gkehub';
import { MemorySink } from '../../sandbox/audit/sink';
import { containerClientOptions } from '../../sandbox/container/client-options';
import { FaultInjector, type FaultKind } from '../../sandbox/faults';
import { DEMO_PROJECT, seedNetworks } from '../../sandbox/harness';
import { type KubeServer, startKubeServer } from '../../sandbox/kube';
import { LocalCloud, SANDBOX_TOKEN } from '../../sandbox/local-cloud';
import { PUBLISH_METHOD, type PublishStandIn, startPublishStandIn } from '../../sandbox/pubsub/publisher';
import { kubeConfigFor } from '../../shared/cloud/kube';
import { PubsubPublisher } from '../../shared/cloud/publisher';
import { secretReader } from '../../shared/cloud/secrets';
import { parseConfig } from '../../shared/config';
import {
  classify,
  type ErrorClass,
  type ErrorSignal,
  HttpStatusError,
  isAlreadyExists,
  isNotFound,
  isResourceExhausted,
  readError,
} from '../../shared/errors';

const P = DEMO_PROJECT.id;
/** gax retries UNAVAILABLE and DEADLINE_EXCEEDED itself by default; the row wants the first error as thrown. */
const NO_RETRY = { retry: null };
const NETWORK = 'gcp-spoke200-us-east4';

interface Expect {
  kind: ErrorSignal['kind'];
  cls: ErrorClass;
  notFound?: boolean;
  exists?: boolean;
  exhausted?: boolean;
}

/** The assertions every row makes on one real error. */
function check(error: unknown, expected: Expect): void {
  assert.ok(error !== undefined, 'the call failed');
  const signal = readError(error);
  assert.equal(signal.kind, expected.kind, `stack recognised (${String(error)})`);
  assert.equal(classify(error), expected.cls, 'class');
  assert.equal(isNotFound(error), expected.notFound ?? false, 'not found');
  assert.equal(isAlreadyExists(error), expected.exists ?? false, 'already exists');
  assert.equal(isResourceExhausted(error), expected.exhausted ?? false, 'resource exhausted');
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => assert.fail('the call succeeded'),
    (error: unknown) => error,
  );

/** A loopback port that was just free: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A loopback TCP server that accepts and never answers (a black-holed API). */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('wire: errors are classified by the stack that threw them', function () {
  this.timeout(30_000);
  let local: LocalCloud;
  before(async () => {
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    local = await LocalCloud.start({ projects: [DEMO_PROJECT], fleetProject: P, provisionDelayMs: 10 });
    seedNetworks(local);
  });
  afterEach(() => local.faults.clearRules());
  after(() => local.close());

  const faults: Array<[FaultKind, Omit<Expect, 'kind'>]> = [
    ['unavailable', { cls: 'transient' }],
    ['rate-limited', { cls: 'transient', exhausted: true }],
    ['internal', { cls: 'transient' }],
    ['deadline', { cls: 'transient' }],
    ['reset', { cls: 'transient' }],
    ['permission-denied', { cls: 'permanent' }],
    ['invalid-argument', { cls: 'permanent' }],
  ];

  describe('container: gax over gRPC (grpc-js ServiceError, gRPC code)', () => {
    let gke: ClusterManagerClient;
    before(() => {
      gke = new ClusterManagerClient(containerClientOptions(local.container.address));
    });
    after(() => gke.close());
    const get = (name = 'absent') =>
      failure(gke.getCluster({ name: `projects/${P}/locations/us-east4/clusters/${name}` }, NO_RETRY));

    for (const [fault, expected] of [...faults, ['aborted', { cls: 'transient' }] as const]) {
      it(`${fault} → ${expected.cls}`, async () => {
        local.faults.setRule('container.GetCluster', { errorRate: 1, faults: [fault] });
        check(await get(), { kind: 'grpc', ...expected });
      });
    }
    it('a missing cluster → NOT_FOUND, permanent, not found', async () => {
      check(await get(), { kind: 'grpc', cls: 'permanent', notFound: true });
    });
    it('nothing listening → UNAVAILABLE, transient', async () => {
      const client = new ClusterManagerClient(containerClientOptions(`127.0.0.1:${await closedPort()}`));
      try {
        check(
          await failure(client.getCluster({ name: `projects/${P}/locations/us-east4/clusters/x` }, NO_RETRY)),
          {
            kind: 'grpc',
            cls: 'transient',
          },
        );
      } finally {
        await client.close();
      }
    });
  });

  describe('compute: gax REST fallback (GoogleError, HTTP status mapped to a gRPC code)', () => {
    let networks: NetworksClient;
    before(() => {
      const { hostname, port } = new URL(local.compute.url);
      networks = new NetworksClient({
        apiEndpoint: hostname,
        port: Number(port),
        protocol: 'http',
        fallback: true,
        authClient: new PassThroughClient(),
      });
    });
    after(() => networks.close());
    const get = (network = NETWORK) => failure(networks.get({ project: P, network }, NO_RETRY));

    for (const [fault, expected] of [...faults, ['aborted', { cls: 'transient' }] as const]) {
      it(`${fault} → ${expected.cls}`, async () => {
        local.faults.setRule('compute.networks.get', { errorRate: 1, faults: [fault] });
        check(await get(), { kind: 'grpc', ...expected });
      });
    }
    it('a missing network → 404 as NOT_FOUND, permanent, not found', async () => {
      check(await get('absent'), { kind: 'grpc', cls: 'permanent', notFound: true });
    });
    it('"peering operation in progress" (a 400 that means later) → transient', async () => {
      local.faults.setRule('compute.networks.updatePeering', {
        errorRate: 1,
        faults: ['peering-in-progress'],
      });
      const error = await failure(
        networks.updatePeering({
          project: P,
          network: NETWORK,
          networksUpdatePeeringRequestResource: { networkPeering: { name: 'x', exportCustomRoutes: true } },
        }),
      );
      check(error, { kind: 'grpc', cls: 'transient' });
      assert.match(String((error as Error).message), /peering operation in progress/i);
    });
  });

  describe('gkehub: googleapis (GaxiosError, HTTP status and Google JSON body)', () => {
    const hub = () =>
      gkehub({ version: 'v1', retry: false, rootUrl: `${local.hub.url.replace(/\/$/, '')}/` });
    const parent = `projects/${P}/locations/global`;
    const list = () => failure(hub().projects.locations.memberships.list({ parent }));

    for (const [fault, expected] of faults) {
      it(`${fault} → ${expected.cls}`, async () => {
        local.faults.setRule('gkehub.memberships.list', { errorRate: 1, faults: [fault] });
        // A reset socket gets no HTTP answer: the transport's code decides.
        check(await list(), { kind: fault === 'reset' ? 'transport' : 'http', ...expected });
      });
    }
    it('409 ABORTED → transient, not "already exists"', async () => {
      local.faults.setRule('gkehub.memberships.list', { errorRate: 1, faults: ['aborted'] });
      check(await list(), { kind: 'http', cls: 'transient' });
    });
    it('a missing membership → 404, permanent, not found', async () => {
      check(
        await failure(hub().projects.locations.memberships.get({ name: `${parent}/memberships/absent` })),
        {
          kind: 'http',
          cls: 'permanent',
          notFound: true,
        },
      );
    });
    it('creating an existing feature → 409 ALREADY_EXISTS, permanent, already exists', async () => {
      const create = () =>
        hub().projects.locations.features.create({
          parent,
          featureId: 'multiclusterservicediscovery',
          requestBody: {},
        });
      await create();
      check(await failure(create()), { kind: 'http', cls: 'permanent', exists: true });
    });
    it('nothing listening → connection refused, transient', async () => {
      const api = gkehub({ version: 'v1', retry: false, rootUrl: `http://127.0.0.1:${await closedPort()}/` });
      check(await failure(api.projects.locations.memberships.list({ parent })), {
        kind: 'transport',
        cls: 'transient',
      });
    });
    it('no answer within the timeout → timeout, transient', async () => {
      const hole = await blackHole();
      try {
        const api = gkehub({ version: 'v1', retry: false, rootUrl: `${hole.url}/`, timeout: 200 });
        check(await failure(api.projects.locations.memberships.list({ parent })), {
          kind: 'timeout',
          cls: 'transient',
        });
      } finally {
        await hole.close();
      }
    });
  });

  describe('kubernetes: client-node (ApiException, HTTP status in code, Status body)', () => {
    const kubeFaults = new FaultInjector();
    let server: KubeServer;
    let core: CoreV1Api;
    before(async () => {
      server = await startKubeServer({
        cluster: { project: P, location: 'us-east4', name: 'errors-1' },
        faults: kubeFaults,
        audit: new MemorySink(),
        principalFor: (token) => (token === SANDBOX_TOKEN ? 'spokefleet@example.iam' : undefined),
        tls: false,
      });
      core = kubeConfigFor({ server: server.url, token: SANDBOX_TOKEN, insecure: true }).makeApiClient(
        CoreV1Api,
      );
    });
    afterEach(() => kubeFaults.clearRules());
    after(() => server.close());
    const read = (name = 'default') => failure(core.readNamespace({ name }));

    for (const [fault, expected] of faults) {
      it(`${fault} → ${expected.cls}`, async () => {
        kubeFaults.setRule('kube.namespaces.get', { errorRate: 1, faults: [fault] });
        // client-node reads with fetch: a reset socket is TypeError "fetch failed", the undici error its cause.
        check(await read(), { kind: fault === 'reset' ? 'transport' : 'http', ...expected });
      });
    }
    it('409 Conflict (a stale resourceVersion) → transient, not "already exists"', async () => {
      const ns = await core.readNamespace({ name: 'default' });
      await core.replaceNamespace({ name: 'default', body: ns });
      const stale = await failure(core.replaceNamespace({ name: 'default', body: ns }));
      check(stale, { kind: 'http', cls: 'transient' });
    });
    it('creating an existing namespace → 409 AlreadyExists, permanent, already exists', async () => {
      check(await failure(core.createNamespace({ body: { metadata: { name: 'default' } } })), {
        kind: 'http',
        cls: 'permanent',
        exists: true,
      });
    });
    it('a missing namespace → 404, permanent, not found', async () => {
      check(await read('absent'), { kind: 'http', cls: 'permanent', notFound: true });
    });
    it('a bad token → 401, permanent', async () => {
      const denied = kubeConfigFor({ server: server.url, token: 'nobody', insecure: true }).makeApiClient(
        CoreV1Api,
      );
      check(await failure(denied.readNamespace({ name: 'default' })), { kind: 'http', cls: 'permanent' });
    });
    it('nothing listening → fetch failed, ECONNREFUSED cause, transient', async () => {
      const refused = kubeConfigFor({
        server: `http://127.0.0.1:${await closedPort()}`,
        token: SANDBOX_TOKEN,
        insecure: true,
      }).makeApiClient(CoreV1Api);
      check(await failure(refused.readNamespace({ name: 'default' })), {
        kind: 'transport',
        cls: 'transient',
      });
    });
  });

  describe('pubsub: gax over gRPC (the publisher)', () => {
    const publishFaults = new FaultInjector();
    let standIn: PublishStandIn;
    let client: PubSub;
    const topic = `projects/${P}/topics/reconcile`;
    before(async () => {
      standIn = await startPublishStandIn({
        faults: publishFaults,
        topic: (name) => (name === topic ? () => undefined : undefined),
      });
      client = new PubSub({ projectId: P, apiEndpoint: standIn.host, emulatorMode: true });
    });
    afterEach(() => publishFaults.clearRules());
    after(async () => {
      await client.close();
      await standIn.close();
    });
    const publish = async (to = topic) => {
      const [outcome] = await new PubsubPublisher(to, () => client, 5_000).publish([{ cluster: 'x' }]);
      assert.ok('error' in outcome, 'the publish failed');
      return outcome.error;
    };

    for (const [fault, expected] of faults.filter(([f]) => f !== 'reset')) {
      it(`${fault} → ${expected.cls}`, async () => {
        publishFaults.setRule(PUBLISH_METHOD, { errorRate: 1, faults: [fault] });
        check(await publish(), { kind: 'grpc', ...expected });
      });
    }
    it('a missing topic → NOT_FOUND, permanent, not found', async () => {
      check(await publish(`projects/${P}/topics/absent`), { kind: 'grpc', cls: 'permanent', notFound: true });
    });
  });

  describe('fetch (the Aviatrix Controller client, the local secret reader)', () => {
    it('nothing listening → TypeError fetch failed, ECONNREFUSED cause, transient', async () => {
      check(await failure(fetch(`http://127.0.0.1:${await closedPort()}/`)), {
        kind: 'transport',
        cls: 'transient',
      });
    });
    it('no answer within AbortSignal.timeout → TimeoutError, transient', async () => {
      const hole = await blackHole();
      try {
        check(await failure(fetch(hole.url, { signal: AbortSignal.timeout(100) })), {
          kind: 'timeout',
          cls: 'transient',
        });
      } finally {
        await hole.close();
      }
    });
    it('the secret reader: an HTTP answer it reads itself is an HttpStatusError with that status', async () => {
      const answers = new Map([
        ['/v1/projects/p/secrets/gone/versions/1:access', 404],
        ['/v1/projects/p/secrets/busy/versions/1:access', 503],
        ['/v1/projects/p/secrets/denied/versions/1:access', 403],
      ]);
      const http = await import('node:http');
      const server = http.createServer((req, res) => {
        res.writeHead(answers.get(req.url ?? '') ?? 500).end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as { port: number };
        const read = secretReader(
          parseConfig({
            fleetProject: P,
            projects: [P],
            spokes: [{ network: NETWORK }],
            retryBudgetMs: 0,
            endpoints: { secretmanager: `http://127.0.0.1:${port}`, token: SANDBOX_TOKEN },
          }),
          { budgetMs: 0 },
        );
        const gone = await failure(read('projects/p/secrets/gone/versions/1'));
        assert.ok(gone instanceof HttpStatusError);
        check(gone, { kind: 'http', cls: 'permanent', notFound: true });
        check(await failure(read('projects/p/secrets/busy/versions/1')), { kind: 'http', cls: 'transient' });
        check(await failure(read('projects/p/secrets/denied/versions/1')), {
          kind: 'http',
          cls: 'permanent',
        });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
