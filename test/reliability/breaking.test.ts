/**
 * Findings from trying to break a running Spokefleet, each pinned by a test on the local cloud with the production
 * entry points:
 * - nothing outside `projects` is read or written: a property over random configs and requests, counting every
 *   call the stand-ins serve by the project it names (Shared VPC clusters whose network lives in the other project);
 * - a catastrophic `networkPattern` answers at once;
 * - an 8 MiB message is refused by size, through functions-framework's own server;
 * - bodies functions-framework cannot turn into a CloudEvent never reach the function and are not acknowledged.
 */
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import fc from 'fast-check';
import sinon from 'sinon';
import { handleAuditLogEvent } from '../../functions/audit';
import { clusterAuditEntry } from '../../sandbox/audit/entries';
import type { ContainerStore } from '../../sandbox/container/server';
import { AUDIT_TOPIC, SPOKES } from '../../sandbox/harness';
import type { ConfigInput } from '../../shared/config';
import type { ClusterRef } from '../../shared/events/types';
import {
  auditMessage,
  CLUSTER_SLOTS,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  type Harness,
  type Message,
  type RelCloud,
  reconcileMessage,
  startRelCloud,
  writeCounts,
} from './harness';

const P1 = DEMO_PROJECT.id; // also the fleet project
const P2 = DEMO_PROJECT_2.id;

/** Private (peering-based) clusters; two of them use the other project's VPC (Shared VPC). */
const CLUSTERS: Array<{ ref: ClusterRef; spec: Record<string, unknown> }> = [
  {
    ref: { project: P1, location: 'us-east4', name: 'own-vpc-1' },
    spec: { ...CLUSTER_SLOTS[0].spec, privateClusterConfig: peered(32) },
  },
  {
    ref: { project: P1, location: 'us-east4', name: 'hosted-in-2' },
    spec: sharedVpc(P2, SPOKES[0], 48),
  },
  {
    ref: { project: P2, location: 'us-east4', name: 'hosted-in-1' },
    spec: sharedVpc(P1, SPOKES[1], 64),
  },
  {
    ref: { project: P2, location: 'us-east4', name: 'own-vpc-2' },
    spec: { ...CLUSTER_SLOTS[2].spec, privateClusterConfig: peered(80) },
  },
];

/** A control plane on a /28 of its own: GKE peers the VPC with it (the peering Spokefleet exports routes over). */
function peered(offset: number) {
  return { enablePrivateNodes: true, masterIpv4CidrBlock: `172.16.0.${offset}/28` };
}

function sharedVpc(host: string, network: string, offset: number): Record<string, unknown> {
  return {
    network: `projects/${host}/global/networks/${network}`,
    subnetwork: `projects/${host}/regions/us-east4/subnetworks/${network}`,
    ipAllocationPolicy: { useIpAliases: true },
    privateClusterConfig: peered(offset),
    initialNodeCount: 1,
  };
}

interface Call {
  api: 'container' | 'compute' | 'gkehub' | 'gateway' | 'kube';
  project: string;
  what: string;
}

/**
 * Every call the stand-ins serve, by the project it names: REST paths (Compute, GKE Hub, Resource Manager, the
 * Connect gateway, the clusters' Kubernetes APIs) seen by the servers' `http.server.request.start` channel; the GKE
 * API (gRPC) through the container stand-in's store, which every one of its methods goes through.
 */
class CallsByProject {
  readonly calls: Call[] = [];
  recording = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly rel: RelCloud) {
    const onRequest = (message: unknown) => {
      if (this.recording) this.restCall((message as { request: IncomingMessage }).request);
    };
    dc.subscribe('http.server.request.start', onRequest);
    this.unsubscribe = () => dc.unsubscribe('http.server.request.start', onRequest);
    const store = rel.cloud.container.store as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of [
      'getCluster',
      'listClusters',
      'listOperations',
      'getOperation',
      'startUpdate',
      'startUpdateNodePool',
    ] as const satisfies ReadonlyArray<keyof ContainerStore>) {
      const original = store[method].bind(store);
      store[method] = (...args: unknown[]) => {
        const scope = args[0] as { project?: string } | undefined;
        if (this.recording && scope?.project)
          this.calls.push({ api: 'container', project: scope.project, what: method });
        return original(...args);
      };
    }
  }

  close(): void {
    this.unsubscribe();
  }

  private restCall(request: IncomingMessage): void {
    const port = request.socket.localPort;
    const url = request.url ?? '/';
    const endpoints = this.rel.cloud.endpoints();
    const portOf = (u: string) => Number(new URL(u.replace('{location}', 'x')).port);
    const idOf = (p: string) => this.rel.cloud.options.projects.find((x) => x.number === p)?.id ?? p;
    const inPath = /\/projects\/([^/?]+)/.exec(url)?.[1];
    if (port === portOf(endpoints.compute) && inPath) {
      this.calls.push({ api: 'compute', project: idOf(inPath), what: url });
    } else if (port === portOf(endpoints.gkehub) && inPath) {
      this.calls.push({ api: 'gkehub', project: idOf(inPath), what: url });
    } else if (port === portOf(this.rel.cloud.gatewayUrl)) {
      // The gateway names the fleet project; the cluster it reaches is the membership's.
      const m = /\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/gkeMemberships\/([^/]+)/.exec(url);
      const membership =
        m &&
        this.rel.cloud.hub.store.getMembership(
          `projects/${idOf(m[1])}/locations/${m[2]}/memberships/${m[3]}`,
        );
      const link = membership?.endpoint?.gkeCluster?.resourceLink ?? '';
      const cluster = /projects\/([^/]+)\//.exec(link)?.[1] ?? 'unknown';
      this.calls.push({ api: 'gateway', project: m ? idOf(m[1]) : 'unknown', what: url });
      this.calls.push({ api: 'kube', project: cluster, what: url });
    } else {
      for (const [key, kube] of this.rel.cloud.kubes) {
        if (portOf(kube.url) === port)
          this.calls.push({ api: 'kube', project: key.split('/')[0], what: url });
      }
    }
  }
}

describe('reliability: found by trying to break it', function () {
  this.timeout(300_000);
  let rel: RelCloud;
  let calls: CallsByProject;
  const created: Message[] = [];

  before(async () => {
    rel = await startRelCloud();
    for (const { ref, spec } of CLUSTERS) await createClusterNow(rel, ref, spec);
    created.push(...rel.sink.drain().filter((m) => m.data.toString().includes('"last":true')));
    calls = new CallsByProject(rel);
  });
  after(async () => {
    calls?.close();
    await rel?.close();
  });

  it("a Shared VPC cluster whose host project is not in projects: its network's peering is neither read nor written", async () => {
    const hosted = CLUSTERS[1].ref; // in P1, on P2's network
    const peeringName = (
      await rel.gke.getCluster({
        name: `projects/${hosted.project}/locations/${hosted.location}/clusters/${hosted.name}`,
      })
    )[0].privateClusterConfig?.peeringName;
    assert.ok(peeringName);
    const network = rel.cloud.compute.store.getNetwork(P2, SPOKES[0]);
    const peering = () => network?.peerings?.find((p) => p.name === peeringName);
    assert.equal(peering()?.exportCustomRoutes, false, 'GKE creates the peering without custom-route export');
    const harness = createHarness(rel, { projects: [P1], spokes: [{ network: SPOKES[0] }] });
    calls.calls.length = 0;
    calls.recording = true;
    const before = writeCounts(rel.cloud);
    try {
      await harness.deliverUntilAcked(
        reconcileMessage({ scope: 'cluster', project: P1, location: hosted.location, cluster: hosted.name }),
      );
    } finally {
      calls.recording = false;
    }
    assert.equal(peering()?.exportCustomRoutes, false, "the foreign network's peering is untouched");
    assert.deepEqual(
      calls.calls.filter((c) => c.project === P2),
      [],
    );
    assert.deepEqual(writeCounts(rel.cloud), before, 'nothing written');
    assert.ok(
      harness.logs
        .records()
        .some((r) =>
          /is in project spokefleet-demo-two, which is not in the allowed projects/.test(String(r.reason)),
        ),
    );
  });

  it('property: whatever the config and the request, no stand-in serves a call naming a project outside projects', async () => {
    const spoke = fc.oneof(
      fc.record({ network: fc.constantFrom(...SPOKES) }),
      fc.record({ network: fc.constantFrom(...SPOKES), project: fc.constantFrom(P1, P2) }),
      fc.record({ networkPattern: fc.constantFrom('^gcp-spoke', 'spoke\\d+-us', '.*') }),
    );
    const request = fc.oneof(
      fc.constant<Record<string, unknown>>({ scope: 'fleet' }),
      fc.constantFrom(P1, P2).map((project) => ({ scope: 'project', project })),
      fc.constantFrom(...CLUSTERS).map(({ ref }) => ({
        scope: 'cluster',
        project: ref.project,
        location: ref.location,
        cluster: ref.name,
      })),
    );
    let served = 0;
    let runs = 0;
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.constantFrom(P1, P2), { minLength: 1 }),
        fc.array(spoke, { minLength: 1, maxLength: 3 }),
        fc.oneof(
          request.map((r) => reconcileMessage(r)),
          fc.constantFrom(...created.keys()).map((i) => created[i]),
        ),
        async (projects, spokes, message) => {
          // A spoke naming a project outside projects is refused at config load: keep configs that load.
          fc.pre(spokes.every((s) => !('project' in s) || projects.includes(s.project)));
          runs++;
          const harness = createHarness(rel, {
            projects,
            spokes,
            retryBudgetMs: 100,
          } as Partial<ConfigInput>);
          calls.calls.length = 0;
          calls.recording = true;
          try {
            await harness.deliver(message);
          } finally {
            calls.recording = false;
          }
          served += calls.calls.length;
          for (const c of calls.calls) seen.add(`${c.api} ${c.project}`);
          const outside = calls.calls.filter((c) =>
            c.api === 'gkehub' || c.api === 'gateway' ? c.project !== P1 : !projects.includes(c.project),
          );
          assert.deepEqual(
            outside,
            [],
            `projects ${projects.join(',')}, spokes ${JSON.stringify(spokes)}: calls outside them`,
          );
          assert.deepEqual(harness.logs.leaks, []);
        },
      ),
      { numRuns: 40, seed: 14, endOnFailure: true },
    );
    // The property saw real work: clusters onboarded in both projects, peerings of both kinds.
    assert.ok(runs >= 20 && served > 100, `${runs} runs, ${served} calls`);
    for (const api of ['container', 'compute', 'kube'])
      for (const project of [P1, P2])
        assert.ok(seen.has(`${api} ${project}`), `no ${api} call in ${project}`);
    console.log(`      ${runs} random configs × requests, ${served} stand-in calls, none outside projects`);
  });
});

describe('reliability: hostile patterns and bodies (functions-framework test server)', function () {
  this.timeout(120_000);
  let rel: RelCloud;
  let harness: Harness;
  let server: Server;
  let url: string;
  const invoked: string[] = [];

  before(async () => {
    rel = await startRelCloud();
    harness = createHarness(rel, { spokes: [{ networkPattern: '^([a-z0-9]+-?)*-spoke$' }] });
    cloudEvent('breakingOnAuditLogEvent', async (event: CloudEvent<unknown>) => {
      invoked.push(event.id);
      await handleAuditLogEvent(event, harness.app);
    });
    server = getTestServer('breakingOnAuditLogEvent');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections?.();
    await new Promise((resolve) => server?.close(resolve));
    await rel?.close();
  });

  const ceHeaders = (id: string) => ({
    'ce-specversion': '1.0',
    'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
    'ce-source': `//pubsub.googleapis.com/projects/${DEMO_PROJECT.id}/topics/${AUDIT_TOPIC}`,
    'ce-id': id,
    'ce-time': new Date().toISOString(),
  });
  const envelope = (id: string, data: string) =>
    JSON.stringify({
      message: { data, messageId: id, publishTime: new Date().toISOString(), attributes: {} },
      subscription: `projects/${DEMO_PROJECT.id}/subscriptions/eventarc`,
    });

  it('a catastrophic networkPattern on a 41-character network name: the event is answered at once', async () => {
    const network = `${'a'.repeat(39)}-x`;
    assert.equal(network.length, 41);
    rel.cloud.compute.store.addNetwork(P1, network);
    rel.cloud.compute.subnetworks.add(P1, 'us-east4', network, { network, ipCidrRange: '192.168.60.0/24' });
    const ref: ClusterRef = { project: P1, location: 'us-east4', name: 'long-vpc' };
    await createClusterNow(rel, ref, {
      network,
      subnetwork: network,
      ipAllocationPolicy: { useIpAliases: true },
      initialNodeCount: 1,
    });
    rel.sink.drain();
    const message = auditMessage(
      clusterAuditEntry({
        method: 'CreateCluster',
        cluster: ref,
        phase: 'last',
        operationId: 'operation-long-vpc',
      }),
    );
    const started = performance.now();
    const result = await harness.deliver(message);
    const ms = performance.now() - started;
    assert.equal(result.acked, true);
    assert.ok(ms < 2_000, `${Math.round(ms)} ms`);
    assert.ok(harness.logs.records().some((r) => /is not a configured spoke/.test(String(r.reason))));
  });

  it('8 MiB of base64 data: acknowledged as too large (2xx), with a reason, in well under a second', async () => {
    const data = Buffer.alloc(6 * 1024 * 1024, 7).toString('base64');
    const mark = harness.logs.lines.length;
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...ceHeaders('too-large-1'), 'content-type': 'application/json' },
      body: envelope('too-large-1', data),
    });
    await response.arrayBuffer();
    const ms = performance.now() - started;
    assert.equal(response.status, 204);
    const records = harness.logs.records(mark).filter((r) => r.eventId === 'too-large-1');
    assert.deepEqual(
      records.map((r) => r.reason),
      ['payload-too-large'],
    );
    assert.ok(!JSON.stringify(records).includes('call stack'));
    assert.ok(ms < 1_500, `${Math.round(ms)} ms`);
  });

  it('bodies functions-framework cannot convert (text/plain, no content type) never reach the function: 500, not acknowledged', async () => {
    const frameworkErrors = sinon.stub(console, 'error');
    const answers: Record<string, number> = {};
    try {
      const body = envelope('plain-1', Buffer.from('{}').toString('base64'));
      for (const [what, contentType] of [
        ['text/plain', 'text/plain'],
        ['no content type', undefined],
      ] as const) {
        invoked.length = 0;
        const headers: Record<string, string> = ceHeaders(`plain-${what}`);
        if (contentType) headers['content-type'] = contentType;
        // fetch adds text/plain to a string body: a stream body goes without a content type.
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: contentType ? body : new Blob([body]).stream(),
          duplex: 'half',
        } as RequestInit);
        await response.arrayBuffer();
        answers[what] = response.status;
        assert.deepEqual(invoked, [], `${what}: the function never ran`);
      }
    } finally {
      frameworkErrors.restore();
    }
    assert.deepEqual(answers, { 'text/plain': 500, 'no content type': 500 });

    // A body the framework can hand over (raw bytes) reaches the function and is refused with a reason.
    invoked.length = 0;
    const mark = harness.logs.lines.length;
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...ceHeaders('octets-1'), 'content-type': 'application/octet-stream' },
      body: envelope('octets-1', Buffer.from('{}').toString('base64')),
    });
    await response.arrayBuffer();
    assert.equal(response.status, 204);
    assert.deepEqual(invoked, ['octets-1']);
    assert.deepEqual(
      harness.logs
        .records(mark)
        .filter((r) => r.eventId === 'octets-1')
        .map((r) => r.reason),
      ['data-not-object'],
    );
  });
});
