/**
 * Hostile input: hundreds of malformed or hostile messages against both functions, through
 * functions-framework's own HTTP server (getTestServer) in process, with the production handlers and the
 * adapters on the local cloud. Expected: 0 crashes, 0 writes on any stand-in, every message acknowledged (2xx)
 * with a reason in a log line carrying its event id, and the function still serving a valid event afterwards.
 * Malformed resource names and resource labels must be refused by the parser with the reason code that names the
 * fault (outcome `refused`), and well-formed look-alikes must get past it: a parser that lets a bad name through
 * fails here even when nothing downstream happens to write.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import fc from 'fast-check';
import sinon from 'sinon';
import { handleAuditLogEvent } from '../../functions/audit';
import { handleReconcileRequest } from '../../functions/reconcile';
import { clusterAuditEntry, serviceAuditEntry } from '../../sandbox/audit/entries';
import {
  AUDIT_TOPIC as AUDIT_TOPIC_NAME,
  RECONCILE_TOPIC as RECONCILE_TOPIC_NAME,
} from '../../sandbox/harness';
import type { ClusterRef, LogEntry } from '../../shared/events/types';
import {
  CLUSTER_SLOTS,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  DEMO_PROJECT_2,
  developerClients,
  EXPORT_LABEL,
  type Harness,
  type RelCloud,
  startRelCloud,
  writeCounts,
} from './harness';

const CLUSTER: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'hostile-a' };

interface Case {
  target: 'audit' | 'reconcile';
  what: string;
  /** Message data (bytes) in a well-formed Eventarc delivery, or a whole hostile body/header set. */
  data?: Buffer;
  body?: unknown;
  headers?: Record<string, string>;
  /** Delivered as a raw Pub/Sub push (the emulator's path) instead of an Eventarc binary CloudEvent. */
  push?: boolean;
  /** Not JSON: refused with 400 by functions-framework's body parser; the function never runs. */
  frameworkRejects?: boolean;
  /**
   * The parser must refuse it before any work: a log line with outcome `refused` and this reason code. `null`: a
   * well-formed name, so it must get past the parser (no `refused` line from the parser's reasons).
   */
  refused?: string | null;
}

const b = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function setPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
  return copy;
}

function serviceEntry(
  namespace: string,
  name: string,
  overrides: Partial<Parameters<typeof serviceAuditEntry>[0]> = {},
): LogEntry {
  return serviceAuditEntry({
    verb: 'patch',
    cluster: CLUSTER,
    namespace,
    name,
    principal: 'developer@example.com',
    ...overrides,
  });
}

function withResourceName(entry: LogEntry, resourceName: unknown): LogEntry {
  return setPath(entry as Record<string, unknown>, 'protoPayload.resourceName', resourceName) as LogEntry;
}

/** Every hostile message: fuzzed bytes, hostile JSON, path tricks, look-alikes, forged fields, broken envelopes. */
function hostileCases(selfPrincipal: string): Case[] {
  const cases: Case[] = [];
  const audit = (what: string, data: Buffer, push = false, refused?: string | null) =>
    cases.push({ target: 'audit', what, data, push, refused });
  const reconcile = (what: string, data: Buffer) => cases.push({ target: 'reconcile', what, data });

  // Fuzzed bytes and random JSON, seeded.
  for (const [i, bytes] of fc.sample(fc.uint8Array({ maxLength: 4096 }), { numRuns: 50, seed: 8 }).entries())
    audit(`random bytes #${i}`, Buffer.from(bytes), i % 5 === 0);
  for (const [i, bytes] of fc.sample(fc.uint8Array({ maxLength: 512 }), { numRuns: 15, seed: 9 }).entries())
    reconcile(`random bytes #${i}`, Buffer.from(bytes));
  for (const [i, value] of fc.sample(fc.jsonValue({ maxDepth: 6 }), { numRuns: 25, seed: 10 }).entries())
    audit(`random JSON #${i}`, b(value));
  for (const [i, value] of fc.sample(fc.jsonValue({ maxDepth: 4 }), { numRuns: 15, seed: 11 }).entries())
    reconcile(`random JSON #${i}`, b(value));

  // Deep and huge JSON.
  audit('[ nested 100 000 deep', b('['.repeat(100_000)));
  audit(
    '{"a": nested 70 deep inside protoPayload.request',
    b(
      setPath(
        serviceEntry('mcs-common', 'api') as Record<string, unknown>,
        'protoPayload.request',
        JSON.parse(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`),
      ),
    ),
  );
  audit(
    '600 KiB LogEntry (over the 512 KiB limit)',
    b(
      setPath(
        serviceEntry('mcs-common', 'api') as Record<string, unknown>,
        'protoPayload.request.blob',
        'x'.repeat(600 * 1024),
      ),
    ),
  );
  audit('7 MiB of JSON string', b(`"${'y'.repeat(7 * 1024 * 1024)}"`));
  audit(
    'a 400 KiB label value',
    b(
      setPath(
        serviceEntry('mcs-common', 'api') as Record<string, unknown>,
        'resource.labels.cluster_name',
        'c'.repeat(400 * 1024),
      ),
    ),
  );
  const manyLabels: Record<string, string> = {};
  for (let i = 0; i < 5000; i++) manyLabels[`label-${i}`] = `value-${i}`;
  audit(
    '5 000 resource labels',
    b(
      setPath(serviceEntry('mcs-common', 'nope') as Record<string, unknown>, 'resource.labels', {
        ...manyLabels,
        project_id: CLUSTER.project,
        location: CLUSTER.location,
        cluster_name: CLUSTER.name,
      }),
    ),
  );
  audit(
    '__proto__ pollution in protoPayload',
    b(
      '{"protoPayload":{"__proto__":{"polluted":true},"@type":"type.googleapis.com/google.cloud.audit.AuditLog"},"logName":"projects/spokefleet-demo/logs/cloudaudit.googleapis.com%2Factivity"}',
    ),
  );
  reconcile('[ nested 50 deep', b('['.repeat(50)));
  reconcile('17 KiB request', b({ scope: 'fleet', requestId: 'r'.repeat(17 * 1024) }));

  // Wrong types at every field the router reads, on a valid Service entry and a valid CreateCluster last entry.
  const service = serviceEntry('mcs-common', 'api') as Record<string, unknown>;
  const created = clusterAuditEntry({
    method: 'CreateCluster',
    phase: 'last',
    cluster: CLUSTER,
    operationId: 'operation-1',
  }) as Record<string, unknown>;
  const paths = [
    'protoPayload',
    'protoPayload.@type',
    'protoPayload.methodName',
    'protoPayload.serviceName',
    'protoPayload.resourceName',
    'protoPayload.status',
    'protoPayload.status.code',
    'protoPayload.authenticationInfo',
    'protoPayload.authenticationInfo.principalEmail',
    'resource',
    'resource.type',
    'resource.labels',
    'resource.labels.project_id',
    'resource.labels.location',
    'resource.labels.cluster_name',
    'operation',
    'operation.last',
    'timestamp',
    'logName',
  ];
  const values: unknown[] = [
    null,
    0,
    -1,
    1e308,
    true,
    '',
    [],
    {},
    ['a'],
    'z'.repeat(10_000),
    '\u0000',
    { $ne: null },
  ];
  for (const [i, path] of paths.entries()) {
    audit(
      `Service entry, ${path} = ${JSON.stringify(values[i % values.length]).slice(0, 20)}`,
      b(setPath(service, path, values[i % values.length])),
    );
    audit(
      `CreateCluster entry, ${path} = ${JSON.stringify(values[(i + 5) % values.length]).slice(0, 20)}`,
      b(setPath(created, path, values[(i + 5) % values.length])),
    );
  }

  // Path tricks and look-alikes in resourceName, for the onboarded cluster.
  const svc = serviceEntry('mcs-common', 'api');
  const malformed = 'malformed-resource-name';
  const badService = 'invalid-service-name';
  const badNamespace = 'invalid-namespace';
  const names: Array<[string, string | null]> = [
    ['core/v1/namespaces/../services/api', malformed],
    ['core/v1/namespaces/mcs-common/services/api/status', malformed],
    ['core/v1/namespaces/mcs-common/services/api/../../../secrets/token', malformed],
    ['core/v1/namespaces/mcs-common/services/', malformed],
    ['/core/v1/namespaces/mcs-common/services/api', malformed],
    ['core/v1/namespaces/mcs-common/services/api%2F..%2Fother', badService],
    ['core/v1/namespaces/mcs-common/services/api?watch=true', badService],
    ['core/v1/namespaces/mcs-common/services/api#fragment', badService],
    ['core/v1/namespaces/mcs-common/services/api\u0000', badService],
    ['core/v1/namespaces/mcs-common/services/ api', badService],
    ['core/v1/namespaces/mcs-common/secrets/api', malformed],
    ['apps/v1/namespaces/mcs-common/deployments/api', malformed],
    ['core/v1/namespaces/mcs-common/services/API', badService],
    ['core/v1/namespaces/m\u0441s-common/services/api', badNamespace], // Cyrillic с
    ['core/v1/namespaces/mcs-common/services/\u0430pi', badService], // Cyrillic а
    ['core/v1/namespaces/\uff4d\uff43\uff53-common/services/api', badNamespace], // fullwidth
    [`core/v1/namespaces/mcs-common/services/${'a'.repeat(64)}`, badService],
    [`core/v1/namespaces/${'n'.repeat(64)}/services/api`, badNamespace],
    ['core/v1/namespaces/-bad-/services/api', badNamespace],
    ['core/v1/namespaces/mcs-common/services/1api', badService],
    [`core/v1/namespaces/mcs-common/services/${'x/'.repeat(300)}`, malformed],
    // Well-formed names: past the parser, then the policy decides (forbidden namespaces, nothing labelled).
    ['core/v1/namespaces/kube-system/services/kube-dns', null],
    ['core/v1/namespaces/default/services/kubernetes', null],
    ['core/v1/namespaces/default/services/api', null],
    ['core/v1/namespaces/kube-system/services/api', null],
  ];
  for (const [name, refused] of names)
    audit(
      `Service resourceName ${JSON.stringify(name).slice(0, 60)}`,
      b(withResourceName(svc, name)),
      name.includes('kube'),
      refused,
    );
  const mismatch = 'resource-name-mismatch';
  const clusterNames: Array<[string, string | null]> = [
    ['projects/spokefleet-demo/zones/../clusters/hostile-a', malformed],
    ['projects/spokefleet-demo/locations/us-east4/clusters/hostile-a/nodePools/x', malformed],
    ['projects/evil-project-1/locations/us-east4/clusters/hostile-a', mismatch],
    ['projects/spokefleet-demo/locations/us-east4/clusters/other-cluster', mismatch],
    ['//container.googleapis.com/projects/spokefleet-demo/locations/us-east4/clusters/hostile-a', malformed],
    ['projects/spokefleet-demo/locations/us-east4/clusters/', malformed],
    ['projects/spokefleet-demo/zones/us-east4/clusters/hostile-a', null],
  ];
  for (const [name, refused] of clusterNames)
    audit(
      `cluster resourceName ${name}`,
      b(setPath(created, 'protoPayload.resourceName', name)),
      false,
      refused,
    );

  // Names and projects that are wrong, too long, or look alike; clusters that are not allowed or not there.
  const labelCases: Array<[string, Record<string, unknown>, string | undefined]> = [
    ['cluster name of 41 characters', { cluster_name: `c${'x'.repeat(40)}` }, 'invalid-cluster-name'],
    ['cluster name of 64 characters', { cluster_name: `c${'x'.repeat(63)}` }, 'invalid-cluster-name'],
    ['cluster name with a Cyrillic letter', { cluster_name: 'hostile-\u0430' }, 'invalid-cluster-name'],
    ['cluster name with a slash', { cluster_name: 'hostile-a/../b' }, 'invalid-cluster-name'],
    ['uppercase cluster name', { cluster_name: 'HOSTILE-A' }, 'invalid-cluster-name'],
    ['project not allowed', { project_id: 'evil-project-1' }, undefined],
    ['project id with a fullwidth letter', { project_id: 'spokefleet-d\uff45mo' }, 'invalid-project-id'],
    ['project id too long', { project_id: `p${'x'.repeat(40)}` }, 'invalid-project-id'],
    ['location with a path', { location: 'us-east4/../../x' }, 'invalid-location'],
    ['location of 80 characters', { location: `us-east${'4'.repeat(73)}` }, 'invalid-location'],
    ['a cluster that does not exist', { cluster_name: 'nobody-here' }, undefined],
    [
      'the other project, no such cluster',
      { project_id: DEMO_PROJECT_2.id, cluster_name: 'hostile-a' },
      undefined,
    ],
  ];
  for (const [what, labels, refused] of labelCases) {
    for (const [kind, entry] of [
      ['Service', service],
      ['CreateCluster', created],
    ] as const) {
      const base = entry.resource as { labels: Record<string, string> };
      // A cluster resourceName that no longer matches the changed labels is refused as a mismatch first.
      const clusterRefused =
        kind === 'CreateCluster' && refused === undefined ? 'resource-name-mismatch' : refused;
      audit(
        `${kind} entry, ${what}`,
        b(setPath(entry, 'resource.labels', { ...base.labels, ...labels })),
        false,
        clusterRefused,
      );
    }
  }
  audit(
    'DeleteCluster of a cluster that exists (a forged or late entry)',
    b(clusterAuditEntry({ method: 'DeleteCluster', phase: 'last', cluster: CLUSTER, operationId: 'op-x' })),
  );
  audit(
    'DeleteCluster in a project not allowed',
    b(
      clusterAuditEntry({
        method: 'DeleteCluster',
        phase: 'last',
        cluster: { ...CLUSTER, project: 'evil-project-1' },
        operationId: 'op-y',
      }),
    ),
  );

  // Forged or odd principals, an old event, log injection.
  audit(
    "Service entry under Spokefleet's own principal",
    b(serviceEntry('mcs-common', 'api', { principal: selfPrincipal })),
  );
  audit(
    'principal with a newline and a fake log line',
    b(
      serviceEntry('mcs-common', 'nope', {
        principal: 'evil@example.com\n{"severity":"ERROR","message":"forged"}',
      }),
    ),
  );
  audit(
    'principal of 100 KiB',
    b(serviceEntry('mcs-common', 'nope', { principal: `${'p'.repeat(100 * 1024)}@example.com` })),
  );
  audit(
    'event from 2001',
    b(serviceEntry('mcs-common', 'api', { timestamp: new Date('2001-01-01T00:00:00Z') })),
  );
  audit('timestamp not RFC 3339', b(setPath(service, 'timestamp', 'yesterday')));
  audit(
    'a failed CreateCluster',
    b(
      clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        cluster: CLUSTER,
        operationId: 'op-z',
        statusCode: 7,
      }),
    ),
  );
  audit(
    'request body claims labels (level-based: ignored)',
    b(serviceEntry('mcs-common', 'nope', { request: { metadata: { labels: { [EXPORT_LABEL]: 'true' } } } })),
  );

  // Reconcile requests: wrong shapes, wrong values, and valid ones that must not write.
  const requests: Array<[string, unknown]> = [
    ['scope galaxy', { scope: 'galaxy' }],
    ['no scope', { project: DEMO_PROJECT.id }],
    ['scope as a number', { scope: 1 }],
    ['project invalid', { scope: 'project', project: 'EVIL' }],
    ['project with a path', { scope: 'project', project: 'spokefleet-demo/../x' }],
    ['project look-alike', { scope: 'project', project: 'spokefleet-d\u0435mo' }],
    [
      'location with a path',
      { scope: 'cluster', project: DEMO_PROJECT.id, location: '../us-east4', cluster: 'hostile-a' },
    ],
    [
      'cluster of 64 characters',
      { scope: 'cluster', project: DEMO_PROJECT.id, location: 'us-east4', cluster: `c${'x'.repeat(63)}` },
    ],
    ['cluster missing', { scope: 'cluster', project: DEMO_PROJECT.id, location: 'us-east4' }],
    ['unknown key (dryrun)', { scope: 'fleet', dryrun: true }],
    ['dryRun as a string', { scope: 'fleet', dryRun: 'true' }],
    ['requestId with control characters', { scope: 'fleet', requestId: 'a\u0000\nb' }],
    ['requestId of 129 characters', { scope: 'fleet', requestId: 'r'.repeat(129) }],
    ['__proto__ key', JSON.parse('{"scope":"fleet","__proto__":{"polluted":true}}')],
    ['constructor key', { scope: 'fleet', constructor: { prototype: { polluted: true } } }],
    ['an array', [{ scope: 'fleet' }]],
    ['null', null],
    ['a string', 'fleet'],
    ['nested 5 deep', { scope: 'fleet', requestId: { a: { b: { c: { d: 1 } } } } }],
    ['valid: a project that is not allowed', { scope: 'project', project: 'evil-project-1' }],
    [
      'valid: a cluster that does not exist',
      { scope: 'cluster', project: DEMO_PROJECT.id, location: 'us-east4', cluster: 'nobody-here' },
    ],
    ['valid: the other project, dry run', { scope: 'project', project: DEMO_PROJECT_2.id, dryRun: true }],
    ['valid: the fleet, dry run', { scope: 'fleet', dryRun: true, requestId: 'hostile-dry-run' }],
    [
      'valid: the onboarded cluster (already converged)',
      { scope: 'cluster', project: DEMO_PROJECT.id, location: 'us-east4', cluster: 'hostile-a' },
    ],
  ];
  for (const [what, value] of requests) reconcile(what, b(value));

  // Broken envelopes: what reaches the function is not what Pub/Sub or Eventarc send.
  const good = b(svc).toString('base64');
  const envelope = (message: unknown, extra: Record<string, unknown> = {}) => ({
    message,
    subscription: 'projects/p/subscriptions/s',
    ...extra,
  });
  const envelopes: Array<[string, unknown, Record<string, string>?]> = [
    ['data not base64', envelope({ data: '!!!not base64!!!', messageId: '1' })],
    ['data missing', envelope({ messageId: '1' })],
    ['data a number', envelope({ data: 42, messageId: '1' })],
    ['data an object', envelope({ data: { a: 1 }, messageId: '1' })],
    ['message missing', { subscription: 'projects/p/subscriptions/s' }],
    ['message an array', envelope([good])],
    ['message a string', envelope(good)],
    ['messageId of 10 KiB', envelope({ data: good, messageId: 'm'.repeat(10 * 1024) })],
    ['messageId a number', envelope({ data: good, messageId: 7 })],
    ['attributes an array', envelope({ data: good, messageId: '1', attributes: ['a'] })],
    ['attributes with a number', envelope({ data: good, messageId: '1', attributes: { a: 1 } })],
    ['publishTime not a time', envelope({ data: good, messageId: '1', publishTime: 'soon' })],
    ['body an array', [envelope({ data: good })]],
    ['body empty object', {}],
    [
      'wrong CloudEvent type',
      envelope({ data: good, messageId: '1' }),
      { 'ce-type': 'google.cloud.storage.object.v1.finalized' },
    ],
    [
      'wrong CloudEvent source',
      envelope({ data: good, messageId: '1' }),
      { 'ce-source': '//evil.example.com/topics/x' },
    ],
    ['no ce-source (structured)', envelope({ data: good, messageId: '1' }), { 'ce-source': '' }],
  ];
  for (const [what, body, headers] of envelopes) {
    cases.push({ target: 'audit', what: `envelope: ${what}`, body, headers });
    cases.push({ target: 'reconcile', what: `envelope: ${what}`, body, headers });
  }
  // Not JSON objects at all: functions-framework's strict body parser answers 400 before any function runs.
  // Neither Eventarc nor a Pub/Sub push ever sends such a body.
  for (const body of ['hello', null, 42])
    for (const target of ['audit', 'reconcile'] as const)
      cases.push({ target, what: `envelope: body ${JSON.stringify(body)}`, body, frameworkRejects: true });
  return cases;
}

describe('reliability: hostile input against both functions (functions-framework test server)', function () {
  this.timeout(120_000);
  let rel: RelCloud;
  let harness: Harness;
  const servers: Record<'audit' | 'reconcile', { server: Server; url: string }> = {} as never;

  before(async () => {
    rel = await startRelCloud();
    harness = createHarness(rel);
    cloudEvent('reliabilityOnAuditLogEvent', (event: CloudEvent<unknown>) =>
      handleAuditLogEvent(event, harness.app),
    );
    cloudEvent('reliabilityOnReconcileRequest', (event: CloudEvent<unknown>) =>
      handleReconcileRequest(event, harness.app),
    );
    for (const [target, name] of [
      ['audit', 'reliabilityOnAuditLogEvent'],
      ['reconcile', 'reliabilityOnReconcileRequest'],
    ] as const) {
      const server = getTestServer(name);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers[target] = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }
    // An onboarded spoke cluster with an exported Service: the target of the hostile Service events.
    await createClusterNow(rel, CLUSTER, CLUSTER_SLOTS[0].spec);
    for (const message of rel.sink.drain()) await harness.deliverUntilAcked(message);
    await developerClients(rel, CLUSTER).core.createNamespacedService({
      namespace: 'mcs-common',
      body: {
        metadata: { name: 'api', labels: { [EXPORT_LABEL]: 'true' } },
        spec: { ports: [{ port: 80 }] },
      },
    });
    for (const message of rel.sink.drain()) await harness.deliverUntilAcked(message);
    assert.ok(rel.cloud.kube(CLUSTER).api.store.get('serviceexports', 'mcs-common', 'api'));
  });
  after(async () => {
    for (const { server } of Object.values(servers)) {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    }
    await rel?.close();
  });

  let counter = 0;
  async function post(c: Case): Promise<{ id: string; status: number }> {
    const id = `hostile-${++counter}`;
    const topic = c.target === 'audit' ? AUDIT_TOPIC_NAME : RECONCILE_TOPIC_NAME;
    const { url } = servers[c.target];
    const publishTime = new Date().toISOString();
    let target = url;
    let headers: Record<string, string> = { 'content-type': 'application/json' };
    let body: unknown;
    if (c.push) {
      // A raw Pub/Sub push, as the emulator sends it; functions-framework converts it (the id is the messageId).
      target = `${url}/projects/${DEMO_PROJECT.id}/topics/${topic}`;
      body = {
        message: { data: c.data?.toString('base64'), messageId: id, publishTime, attributes: {} },
        subscription: `projects/${DEMO_PROJECT.id}/subscriptions/push`,
      };
    } else {
      headers = {
        ...headers,
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${DEMO_PROJECT.id}/topics/${topic}`,
        'ce-id': id,
        'ce-time': publishTime,
        ...c.headers,
      };
      for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
      body =
        c.data !== undefined
          ? {
              message: {
                data: c.data.toString('base64'),
                messageId: id,
                message_id: id,
                publishTime,
                attributes: {},
              },
              subscription: `projects/${DEMO_PROJECT.id}/subscriptions/eventarc`,
            }
          : c.body;
    }
    // Envelopes name message 1: make it this case's id, so the log lines can be matched whichever id is used.
    const text = JSON.stringify(body).replaceAll('"messageId":"1"', `"messageId":"${id}"`);
    const response = await fetch(target, { method: 'POST', headers, body: text });
    await response.arrayBuffer();
    return { id, status: response.status };
  }

  it('≥ 200 hostile messages: all acknowledged (2xx) with a reason, 0 crashes, 0 writes, the functions keep serving', async () => {
    const cases = hostileCases(rel.cloud.selfPrincipal);
    assert.ok(cases.length >= 200, `${cases.length} cases`);
    const crashes: unknown[] = [];
    const onCrash = (error: unknown) => crashes.push(error);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    // functions-framework prints its own complaints (body-parser errors, push URLs without a topic) on the console.
    const framework = sinon.stub(console, 'warn');
    const frameworkErrors = sinon.stub(console, 'error');
    const writesBefore = writeCounts(rel.cloud);
    const mark = harness.logs.lines.length;
    const started = performance.now();
    const answers: Array<{ c: Case; id: string; status: number }> = [];
    try {
      // Eight at a time, as one instance with request concurrency 8 would get them.
      for (let i = 0; i < cases.length; i += 8) {
        const batch = cases.slice(i, i + 8);
        const results = await Promise.all(batch.map((c) => post(c)));
        for (const [j, r] of results.entries()) answers.push({ c: batch[j], ...r });
      }
    } finally {
      framework.restore();
      frameworkErrors.restore();
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
    const ms = performance.now() - started;
    assert.deepEqual(crashes, []);
    const notAcked = answers
      .filter((a) => !a.c.frameworkRejects && (a.status < 200 || a.status >= 300))
      .map((a) => `${a.c.target} ${a.c.what}: ${a.status}`);
    assert.deepEqual(notAcked, []);
    const rejected = answers.filter((a) => a.c.frameworkRejects);
    assert.ok(
      rejected.every((a) => a.status === 400),
      'non-JSON bodies: 400 from functions-framework',
    );
    assert.deepEqual(writeCounts(rel.cloud), writesBefore, 'no stand-in served a write');

    // Each one has a log line with its event id and a reason.
    const records = harness.logs.records(mark);
    const byId = new Map<string, Array<Record<string, unknown>>>();
    for (const r of records) {
      const id = String(r.eventId ?? '');
      if (!byId.has(id)) byId.set(id, []);
      byId.get(id)?.push(r);
    }
    const severities: Record<string, number> = {};
    const unexplained: string[] = [];
    // A raw push whose message has no data is not converted by functions-framework: the function gets no
    // CloudEvent id, so its refusal line has none either; those are matched by count below.
    let withoutId = 0;
    for (const a of answers) {
      if (a.c.frameworkRejects) continue;
      const explains = (r: Record<string, unknown>) =>
        (typeof r.reason === 'string' && r.reason !== '') || r.message === 'reconcile request done';
      const lines = (byId.get(a.id) ?? []).filter(explains);
      if (lines.length === 0 && a.c.push && a.c.data?.length === 0) {
        withoutId++;
        continue;
      }
      if (lines.length === 0) unexplained.push(`${a.c.target} ${a.c.what}`);
      const worst =
        ['ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'].find((s) => lines.some((l) => l.severity === s)) ??
        'none';
      severities[worst] = (severities[worst] ?? 0) + 1;
    }
    assert.deepEqual(
      unexplained,
      [],
      'every message is explained by a log line with its event id and a reason',
    );
    // Refused by the parser, with the reason that names what is wrong, and never processed; well-formed names go on.
    const parserReasons = new Set(cases.flatMap((c) => (c.refused ? [c.refused] : [])));
    const misjudged: string[] = [];
    for (const a of answers) {
      if (a.c.refused === undefined) continue;
      const refusals = (byId.get(a.id) ?? []).filter(
        (r) => r.outcome === 'refused' && parserReasons.has(String(r.reason)),
      );
      const got = refusals.map((r) => r.reason).join(',') || 'not refused';
      if (a.c.refused === null ? refusals.length > 0 : got !== a.c.refused)
        misjudged.push(`${a.c.what}: ${got}, want ${a.c.refused ?? 'past the parser'}`);
    }
    assert.deepEqual(misjudged, [], 'the parser refuses exactly the malformed names, each with its reason');
    const anonymous = (byId.get('') ?? []).filter(
      (r) => r.severity === 'ERROR' && typeof r.reason === 'string',
    );
    assert.ok(
      anonymous.length >= withoutId,
      `${withoutId} pushes without data, ${anonymous.length} refusals without an id`,
    );
    assert.deepEqual(harness.logs.leaks, []);
    console.log(
      `      ${answers.length} hostile messages (${answers.filter((a) => a.c.target === 'audit').length} audit, ` +
        `${answers.filter((a) => a.c.target === 'reconcile').length} reconcile, ${rejected.length} non-JSON bodies refused by ` +
        `functions-framework with 400) in ${Math.round(ms)} ms; ` +
        `most severe line per message: ${JSON.stringify(severities)}`,
    );

    // Still serving: a real label change, delivered through the same server, is exported.
    await developerClients(rel, CLUSTER).core.createNamespacedService({
      namespace: 'mcs-common',
      body: {
        metadata: { name: 'web', labels: { [EXPORT_LABEL]: 'true' } },
        spec: { ports: [{ port: 80 }] },
      },
    });
    const [entry] = rel.sink.drain();
    const after = await post({ target: 'audit', what: 'valid', data: entry.data });
    assert.equal(after.status, 204);
    assert.ok(
      rel.cloud.kube(CLUSTER).api.store.get('serviceexports', 'mcs-common', 'web'),
      'the valid event after the barrage worked',
    );
  });
});
