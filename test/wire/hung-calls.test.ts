/**
 * A hung connection ends the invocation before its deadline. Each endpoint below is a loopback TCP server that
 * accepts connections and never answers a byte — the shape of a black-holed API. The event goes through the real
 * handler path (functions/ → createApp → reconcile → adapters) and the real client libraries (gax gRPC and REST,
 * googleapis REST, client-node over HTTP), with an invocation budget of two seconds. Each test asserts that the
 * handler gave up before the deadline with a transient failure (Pub/Sub redelivers) and that exactly one log line
 * names the call that hung. Without the per-call timeouts (shared/cloud/call-timeouts.ts, shared/cloud/kube.ts),
 * each test runs into mocha's timeout instead.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { handleAuditLogEvent } from '../../functions/audit';
import { newMessageId } from '../../sandbox/audit/delivery';
import { clusterAuditEntry, serviceAuditEntry } from '../../sandbox/audit/entries';
import { DEMO_PROJECT, DEMO_PROJECT_2, SPOKES, sandboxConfig, seedNetworks } from '../../sandbox/harness';
import { LocalCloud } from '../../sandbox/local-cloud';
import { createApp } from '../../shared/app';
import { CallTimeoutError } from '../../shared/calls';
import { secretReader } from '../../shared/cloud/secrets';
import { type ConfigInput, parseConfig } from '../../shared/config';
import { withDeadline } from '../../shared/deadline';
import { classify } from '../../shared/errors';
import type { ClusterRef, LogEntry } from '../../shared/events/types';
import { createLogger, MemoryTransport } from '../../shared/log';
import { AviatrixController } from '../../shared/policy/aviatrix';
import { auditMessage, cloudEventFor } from '../reliability/harness';

const BUDGET_MS = 4_000;
/**
 * The function timeout the budget stands for: a deployment's budget is 480 s of a 540 s timeout, so the answer may
 * come up to an eighth of the budget after it (the last call's timeout, then the answer) and still be in time.
 */
const TIMEOUT_MS = (BUDGET_MS * 540) / 480;
const REF: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'hung-1' };

interface BlackHole {
  /** `127.0.0.1:PORT` */
  host: string;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never writes, reads past, or closes them. */
async function blackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const hole = { host: '', accepted: 0 } as BlackHole;
  const server: Server = createServer((socket) => {
    hole.accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  hole.host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  hole.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return hole;
}

/** The CloudEvent functions-framework hands the audit function for `entry` (the reliability suites' builder). */
const cloudEvent = (entry: LogEntry): CloudEvent<unknown> => cloudEventFor(auditMessage(entry));

const clusterReady = (ref: ClusterRef) =>
  cloudEvent(
    clusterAuditEntry({ method: 'CreateCluster', phase: 'last', cluster: ref, operationId: newMessageId() }),
  );

/**
 * Delivers `event` as functions-framework would and returns how it ended: the handler must reject (transient, so
 * the framework answers 500 and Pub/Sub redelivers) before the invocation's deadline.
 */
async function deliverExpectingTimeout(config: ConfigInput, event: CloudEvent<unknown>) {
  const transport = new MemoryTransport();
  const log = createLogger({ transport, level: 'info' });
  const app = createApp(parseConfig(config), { log, invocationBudgetMs: BUDGET_MS });
  const started = Date.now();
  let thrown: unknown;
  try {
    await handleAuditLogEvent(event, app);
  } catch (error) {
    thrown = error;
  }
  const elapsedMs = Date.now() - started;
  assert.ok(thrown, 'the handler returned normally: the event would have been acknowledged');
  assert.equal(classify(thrown), 'transient');
  assert.ok(elapsedMs < TIMEOUT_MS, `the invocation ran ${elapsedMs} ms, past its ${TIMEOUT_MS} ms timeout`);
  assert.ok(elapsedMs >= BUDGET_MS / 2, `gave up after ${elapsedMs} ms: the call did not wait at all`);
  const lines = transport.records();
  const hung = lines.filter((l) => /did not answer within/.test(JSON.stringify(l)));
  return { lines, hung, elapsedMs };
}

describe('wire: a black-holed endpoint ends the invocation before its deadline', function () {
  // Generous: a test that fails does so by hanging until this timeout.
  this.timeout(10_000);
  let hole: BlackHole;
  let cloud: LocalCloud | undefined;

  before(() => {
    // Loaded up front: a client library's first load takes most of a second on a busy machine, which would eat
    // into the short budget before the call under test is even made (the budget is 480 s in production).
    require('@google-cloud/container/build/src/v1');
    require('@google-cloud/compute/build/src/v1/networks_client');
    require('googleapis/build/src/apis/gkehub');
    require('googleapis/build/src/apis/cloudresourcemanager');
    require('@kubernetes/client-node');
  });
  beforeEach(async () => {
    hole = await blackHole();
  });
  afterEach(async () => {
    await hole.close();
    await cloud?.close();
    cloud = undefined;
  });

  async function localCloud(options: { peering?: boolean } = {}): Promise<LocalCloud> {
    cloud = await LocalCloud.start({
      projects: [DEMO_PROJECT, DEMO_PROJECT_2],
      fleetProject: DEMO_PROJECT.id,
      provisionDelayMs: 1,
      hubOpDelayMs: 1,
    });
    seedNetworks(cloud);
    await cloud.container.store.seedCluster(REF, {
      network: SPOKES[0],
      subnetwork: SPOKES[0],
      ipAllocationPolicy: { useIpAliases: true },
      workloadIdentityConfig: { workloadPool: `${DEMO_PROJECT.id}.svc.id.goog` },
      // With a master range the control plane is reached over VPC peering, which GKE adds to the VPC.
      privateClusterConfig: options.peering
        ? { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' }
        : { enablePrivateNodes: true },
      initialNodeCount: 1,
    });
    return cloud;
  }

  it('GKE over gRPC: GetCluster hangs → one line names container.GetCluster', async () => {
    const config: ConfigInput = {
      fleetProject: DEMO_PROJECT.id,
      projects: [DEMO_PROJECT.id],
      spokes: [{ network: SPOKES[0] }],
      endpoints: { container: hole.host },
    };
    const { hung } = await deliverExpectingTimeout(config, clusterReady(REF));
    assert.ok(hole.accepted >= 1, 'the client never connected to the black hole');
    assert.equal(hung.length, 1, JSON.stringify(hung));
    assert.equal(hung[0].step, 'spoke');
    assert.match(String(hung[0].reason), /^container\.GetCluster did not answer within \d+ ms$/);
  });

  it('GKE Hub over REST: the membership list hangs → one line names gkehub.memberships.list', async () => {
    const local = await localCloud();
    const config = sandboxConfig(local, {
      endpoints: { ...local.endpoints(), gkehub: `http://${hole.host}` },
    });
    const { hung, lines } = await deliverExpectingTimeout(config, clusterReady(REF));
    assert.equal(hung.length, 1, JSON.stringify(hung));
    assert.equal(hung[0].step, 'membership');
    assert.match(String(hung[0].reason), /^gkehub\.memberships\.list did not answer within \d+ ms$/);
    // The steps after it were not started: the deadline had come.
    const later = lines.filter((l) => l.step === 'mcs-feature' || l.step === 'peering');
    assert.ok(later.length > 0 && later.every((l) => /deadline was reached/.test(String(l.reason))));
  });

  it('Compute over REST: reading the peering hangs → one line names compute.networks.get', async () => {
    const local = await localCloud({ peering: true });
    local.hub.store.registerMembership(DEMO_PROJECT.id, 'global', REF.name, REF);
    const config = sandboxConfig(local, {
      endpoints: { ...local.endpoints(), compute: `http://${hole.host}` },
    });
    const { hung } = await deliverExpectingTimeout(config, clusterReady(REF));
    assert.equal(hung.length, 1, JSON.stringify(hung));
    assert.equal(hung[0].step, 'peering');
    assert.match(String(hung[0].reason), /^compute\.networks\.get did not answer within \d+ ms$/);
  });

  it('Kubernetes through the Connect gateway: the Service read hangs → one line names the kube call', async () => {
    const local = await localCloud();
    local.hub.store.registerMembership(DEMO_PROJECT.id, 'global', REF.name, REF);
    const config = sandboxConfig(local, {
      endpoints: { ...local.endpoints(), connectGateway: `http://${hole.host}/{location}` },
    });
    const event = cloudEvent(
      serviceAuditEntry({
        verb: 'patch',
        cluster: REF,
        namespace: 'mcs-common',
        name: 'api',
        principal: 'developer@example.com',
      }),
    );
    const { hung } = await deliverExpectingTimeout(config, event);
    assert.ok(hole.accepted >= 1, 'the Kubernetes client never connected to the black hole');
    assert.equal(hung.length, 1, JSON.stringify(hung));
    assert.equal(hung[0].step, 'exports');
    assert.match(
      String(hung[0].reason),
      /^kube\.(services|serviceexports)\.get did not answer within \d+ ms$/,
    );
  });
});

describe('wire: the Aviatrix Controller and Secret Manager fetches end within the time left', function () {
  this.timeout(10_000);
  let hole: BlackHole;
  beforeEach(async () => {
    hole = await blackHole();
  });
  afterEach(() => hole.close());

  it('a Controller that never answers: aviatrix.get_api_token times out by the deadline', async () => {
    const directory = new AviatrixController({
      controllerUrl: `http://${hole.host}`,
      username: 'spokefleet',
      password: async () => 'unused',
      cacheSeconds: 0,
    });
    const started = Date.now();
    await assert.rejects(
      withDeadline(1_000, () => directory.listSpokes()),
      (e) => e instanceof CallTimeoutError && e.call === 'aviatrix.get_api_token',
    );
    assert.ok(Date.now() - started < 1_000);
  });

  it('a Secret Manager that never answers: secretmanager.versions.access times out by the deadline', async () => {
    const config = parseConfig({
      fleetProject: DEMO_PROJECT.id,
      projects: [DEMO_PROJECT.id],
      spokes: [{ network: SPOKES[0] }],
      endpoints: { secretmanager: `http://${hole.host}` },
    });
    const read = secretReader(config, { budgetMs: 60_000 });
    const started = Date.now();
    await assert.rejects(
      withDeadline(1_000, () => read(`projects/${DEMO_PROJECT.id}/secrets/aviatrix/versions/1`)),
      (e) => e instanceof CallTimeoutError && e.call === 'secretmanager.versions.access',
    );
    assert.ok(Date.now() - started < 1_000);
  });
});
