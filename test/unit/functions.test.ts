/**
 * The two entry points: the built bundle registers both functions and fails fast on a bad
 * config; served by functions-framework, ignorable and malformed input is acknowledged (204) with the right log
 * lines, and no cloud API is called for it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import sinon from 'sinon';
import { ackOrRetry } from '../../functions/ack';
import { resetConfigCache } from '../../shared/config';
import { PermanentError, TransientError } from '../../shared/errors';
import { createLogger, MemoryTransport } from '../../shared/log';
import { gaxiosError, grpcError } from '../fakes/errors';

const ROOT = path.resolve(__dirname, '../..');
const DIST = path.join(ROOT, 'dist/index.js');
const run = promisify(execFile);
const REGISTRY = path.join(
  path.dirname(require.resolve('@google-cloud/functions-framework')),
  'function_registry.js',
);

const VALID_CONFIG = {
  fleetProject: 'fleet-host-prj',
  projects: ['spoke-prj-one'],
  spokes: [{ network: 'gcp-spoke100-us-east4' }],
};

const fixture = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures', name), 'utf8'));
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

/** Newest modification time of the files the bundle is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(path.join(ROOT, 'functions'));
  walk(path.join(ROOT, 'shared'));
  for (const file of ['scripts/build.mjs', 'package.json'])
    newest = Math.max(newest, statSync(path.join(ROOT, file)).mtimeMs);
  return newest;
}

/** `npm run build`, unless dist/index.js is newer than every source (npm test builds before testing). */
async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(DIST).mtimeMs;
  } catch {}
  if (built > newestSource()) return;
  await run(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT });
}

/** Requires the bundle in a fresh node, the way functions-framework loads it, and reports what got registered. */
async function requireBundle(config: string): Promise<{ code: number; report: Record<string, unknown> }> {
  const script = `
    let report;
    try {
      require(${JSON.stringify(DIST)});
      const { getFunction } = require('@google-cloud/functions-framework/testing');
      // Not exported by the package; the same file (and module state) the framework's index uses.
      const { getRegisteredFunction } = require(${JSON.stringify(REGISTRY)});
      const describe = (name) => ({ type: typeof getFunction(name), signature: getRegisteredFunction(name)?.signatureType });
      report = { ok: true, onAuditLogEvent: describe('onAuditLogEvent'), onReconcileRequest: describe('onReconcileRequest'), other: typeof getFunction('other') };
    } catch (error) {
      report = { ok: false, name: error.name, message: error.message };
    }
    process.stdout.write('\\n@@' + JSON.stringify(report) + '\\n');
    process.exitCode = report.ok ? 0 : 1;
  `;
  const env = { ...process.env, SPOKEFLEET_CONFIG: config, METADATA_SERVER_DETECTION: 'none' };
  let stdout: string;
  let code = 0;
  try {
    ({ stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, env, timeout: 15_000 }));
  } catch (error) {
    const failed = error as { stdout?: string; code?: number };
    stdout = failed.stdout ?? '';
    code = failed.code ?? -1;
  }
  const line = stdout.split('\n').find((l) => l.startsWith('@@'));
  assert.ok(line, `no report from the child: ${stdout}`);
  return { code, report: JSON.parse(line.slice(2)) };
}

describe('functions: the built bundle (dist/index.js)', function () {
  this.timeout(60_000);
  before(ensureBuilt);

  it('registers both cloudEvent functions with a valid config', async () => {
    const { code, report } = await requireBundle(JSON.stringify(VALID_CONFIG));
    assert.equal(code, 0, JSON.stringify(report));
    assert.deepEqual(report, {
      ok: true,
      onAuditLogEvent: { type: 'function', signature: 'cloudevent' },
      onReconcileRequest: { type: 'function', signature: 'cloudevent' },
      other: 'undefined',
    });
  });

  it('fails at load with every problem of an invalid config listed', async () => {
    const invalid = {
      fleetProject: 'Bad Project',
      projects: [],
      spokes: [{ networkPattern: '(' }],
      concurrency: 0,
      endpoints: { gkehub: 'http://169.254.169.254' },
      typo: 1,
    };
    const { code, report } = await requireBundle(JSON.stringify(invalid));
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(report.name, 'ConfigError');
    const lines = String(report.message).split('\n');
    assert.deepEqual(lines, [
      'invalid SPOKEFLEET_CONFIG (6 problems):',
      '- fleetProject: must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)',
      '- projects: list at least one project',
      '- spokes.0.networkPattern: must be a valid regular expression in RE2 syntax (no lookaround, no backreferences): missing closing ): `(`',
      '- concurrency: Too small: expected number to be >=1',
      '- endpoints.gkehub: endpoint overrides must point at loopback (127.0.0.0/8, localhost, [::1])',
      '- (root): Unrecognized key: "typo"',
    ]);
  });

  it('fails at load when SPOKEFLEET_CONFIG is not JSON', async () => {
    const { code, report } = await requireBundle('{not json');
    assert.equal(code, 1);
    assert.match(
      String(report.message),
      /^invalid SPOKEFLEET_CONFIG \(1 problem\):\n- SPOKEFLEET_CONFIG is not JSON: /,
    );
  });
});

/** Runs `fn` with process.stdout.write captured; returns the JSON log records written meanwhile. */
async function captureStdout<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; records: Array<Record<string, unknown>> }> {
  const chunks: string[] = [];
  const stub = sinon.stub(process.stdout, 'write').callsFake((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
  let result: T;
  try {
    result = await fn();
  } finally {
    stub.restore();
  }
  const records = chunks
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => !('logging.googleapis.com/diagnostic' in r));
  return { result, records };
}

describe('functions: served by functions-framework (in process)', () => {
  let trap: NetServer;
  let connections = 0;
  const servers: Record<string, { server: Server; url: string }> = {};
  const savedConfig = process.env.SPOKEFLEET_CONFIG;

  before(async () => {
    // Every adapter points here; any connection means an API was called.
    trap = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(trap.address() as AddressInfo).port}`;
    process.env.SPOKEFLEET_CONFIG = JSON.stringify({
      ...VALID_CONFIG,
      logLevel: 'debug',
      retryBudgetMs: 0,
      endpoints: {
        container: at,
        compute: `http://${at}`,
        gkehub: `http://${at}`,
        resourcemanager: `http://${at}`,
        connectGateway: `http://${at}/{location}`,
      },
    });
    resetConfigCache();
    const entry = require.resolve('../../functions/index.ts');
    delete require.cache[entry];
    require(entry);
    const { getTestServer } =
      require('@google-cloud/functions-framework/testing') as typeof import('@google-cloud/functions-framework/testing');
    for (const name of ['onAuditLogEvent', 'onReconcileRequest']) {
      const server = getTestServer(name);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers[name] = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }
  });

  after(async () => {
    for (const { server } of Object.values(servers)) await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => trap.close(resolve));
    if (savedConfig === undefined) delete process.env.SPOKEFLEET_CONFIG;
    else process.env.SPOKEFLEET_CONFIG = savedConfig;
    resetConfigCache();
  });

  afterEach(() => assert.equal(connections, 0, 'no cloud API may be called for this input'));

  const now = () => new Date().toISOString();
  const ceHeaders = (id: string, topic = 'spokefleet-audit') => ({
    'content-type': 'application/json',
    'ce-id': id,
    'ce-source': `//pubsub.googleapis.com/projects/acme-spokes-prod/topics/${topic}`,
    'ce-specversion': '1.0',
    'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
    'ce-time': now(),
  });
  /** Eventarc delivery: binary-mode CloudEvent, body = the Pub/Sub push body. */
  const binary = (fn: string, id: string, message: Record<string, unknown>, topic?: string) => ({
    fn,
    path: '/',
    headers: ceHeaders(id, topic),
    body: {
      message: { messageId: id, publishTime: now(), ...message },
      subscription: 'projects/acme-spokes-prod/subscriptions/eventarc-1',
    },
  });
  /** Pub/Sub emulator push subscription: a raw push to a URL naming the topic. */
  const push = (fn: string, id: string, message: Record<string, unknown>) => ({
    fn,
    path: '/projects/acme-spokes-prod/topics/spokefleet-audit',
    headers: { 'content-type': 'application/json' },
    body: {
      message: { messageId: id, publishTime: now(), attributes: {}, ...message },
      subscription: 'projects/acme-spokes-prod/subscriptions/push-1',
    },
  });

  async function post(request: { fn: string; path: string; headers: Record<string, string>; body: unknown }) {
    return captureStdout(async () => {
      const response = await fetch(`${servers[request.fn].url}${request.path}`, {
        method: 'POST',
        headers: request.headers,
        body: typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
      });
      await response.text();
      return response.status;
    });
  }

  const firstCreate = fixture('audit/create-cluster-v1-first-zonal.json');
  const computeInsert = fixture('audit/compute-instance-insert.json');

  const ignorable: Array<{
    name: string;
    request: () => Parameters<typeof post>[0];
    eventId: string;
    severity: string;
    reason: string;
  }> = [
    {
      name: 'Eventarc binary CloudEvent: the first CreateCluster entry',
      request: () => binary('onAuditLogEvent', 'ev-first', { data: b64(firstCreate) }),
      eventId: 'ev-first',
      severity: 'DEBUG',
      reason: 'operation-not-finished',
    },
    {
      name: 'Eventarc binary CloudEvent: an entry of an unrelated service',
      request: () => binary('onAuditLogEvent', 'ev-compute', { data: b64(computeInsert) }),
      eventId: 'ev-compute',
      severity: 'DEBUG',
      reason: 'unsupported-service',
    },
    {
      name: 'emulator-style raw push: the first CreateCluster entry',
      request: () => push('onAuditLogEvent', 'push-first', { data: b64(firstCreate) }),
      eventId: 'push-first',
      severity: 'DEBUG',
      reason: 'operation-not-finished',
    },
    {
      name: 'the recorded Eventarc request (a 2024 CreateCluster) is too old to act on',
      request: () => {
        const recorded = fixture('cloudevents/eventarc-binary.http.json');
        return { fn: 'onAuditLogEvent', path: '/', headers: recorded.headers, body: recorded.body };
      },
      eventId: '12938475061829374',
      severity: 'INFO',
      reason: 'too-old',
    },
    {
      name: 'the recorded emulator push (a 2024 Service patch) is too old to act on',
      request: () => {
        const recorded = fixture('cloudevents/pubsub-push.http.json');
        return {
          fn: 'onAuditLogEvent',
          path: recorded.path,
          headers: { 'content-type': 'application/json' },
          body: recorded.body,
        };
      },
      eventId: '12938475061830112',
      severity: 'INFO',
      reason: 'too-old',
    },
  ];
  for (const t of ignorable) {
    it(`${t.name} → 204, one ${t.severity} line (${t.reason}), no API call`, async () => {
      const { result: status, records } = await post(t.request());
      assert.equal(status, 204);
      assert.deepEqual(
        records.map((r) => [r.severity, r.reason, r.eventId]),
        [[t.severity, t.reason, t.eventId]],
      );
    });
  }

  const malformed: Array<{
    name: string;
    request: () => Parameters<typeof post>[0];
    reason: string;
    error: RegExp;
    eventId?: string;
  }> = [
    {
      name: 'binary: data not base64',
      request: () => binary('onAuditLogEvent', 'bad-1', { data: '%%% not base64 %%%' }),
      reason: 'data-not-base64',
      error: /not base64/,
      eventId: 'bad-1',
    },
    {
      name: 'push: data not base64',
      request: () => push('onAuditLogEvent', 'bad-2', { data: 'YWJj!' }),
      reason: 'data-not-base64',
      error: /not base64/,
      eventId: 'bad-2',
    },
    {
      name: 'binary: data is base64 of something that is not JSON',
      request: () => binary('onAuditLogEvent', 'bad-3', { data: b64('<html>') }),
      reason: 'not-json',
      error: /LogEntry is not JSON/,
      eventId: 'bad-3',
    },
    {
      name: 'binary: data is a JSON array',
      request: () => binary('onAuditLogEvent', 'bad-4', { data: b64([1, 2]) }),
      reason: 'not-object',
      error: /LogEntry must be a JSON object, got an array/,
      eventId: 'bad-4',
    },
    {
      name: 'binary: no message in the body',
      request: () => ({
        fn: 'onAuditLogEvent',
        path: '/',
        headers: ceHeaders('bad-5'),
        body: { hello: 'world' },
      }),
      reason: 'message-not-object',
      error: /data\.message must be an object/,
      eventId: 'bad-5',
    },
    {
      name: 'binary: message without data',
      request: () => binary('onAuditLogEvent', 'bad-6', {}),
      reason: 'missing-data',
      error: /has no data/,
      eventId: 'bad-6',
    },
    {
      name: 'binary: wrong CloudEvent type',
      request: () => ({
        fn: 'onAuditLogEvent',
        path: '/',
        headers: { ...ceHeaders('bad-7'), 'ce-type': 'google.cloud.storage.object.v1.finalized' },
        body: { message: { data: b64(firstCreate), messageId: 'bad-7', publishTime: now() } },
      }),
      reason: 'wrong-event-type',
      error: /is not google\.cloud\.pubsub\.topic\.v1\.messagePublished/,
      eventId: 'bad-7',
    },
    {
      name: 'a push of an unknown shape (no CloudEvent headers, no message)',
      request: () => ({
        fn: 'onAuditLogEvent',
        path: '/',
        headers: { 'content-type': 'application/json' },
        body: { hello: 1 },
      }),
      reason: 'wrong-event-type',
      error: /is not google\.cloud\.pubsub\.topic\.v1\.messagePublished/,
    },
  ];
  for (const t of malformed) {
    it(`malformed (${t.name}) → 204 and exactly one ERROR line with the reason`, async () => {
      const { result: status, records } = await post(t.request());
      assert.equal(status, 204);
      const errors = records.filter((r) => r.severity === 'ERROR');
      assert.equal(errors.length, 1, JSON.stringify(records));
      assert.equal(records.length, 1, 'nothing else is logged');
      assert.equal(errors[0].outcome, 'refused');
      assert.equal(errors[0].reason, t.reason);
      assert.match(String(errors[0].error), t.error);
      if (t.eventId) assert.equal(errors[0].eventId, t.eventId);
    });
  }

  it('onReconcileRequest with an invalid request → 204 and one ERROR line listing every problem', async () => {
    const request = { scope: 'cluster', project: 'Bad_Project', location: 'nowhere!', dryrun: true };
    const { result: status, records } = await post(
      binary('onReconcileRequest', 'rr-1', { data: b64(request) }, 'spokefleet-reconcile'),
    );
    assert.equal(status, 204);
    assert.equal(records.length, 1, JSON.stringify(records));
    const [line] = records;
    assert.equal(line.severity, 'ERROR');
    assert.equal(line.eventId, 'rr-1');
    assert.equal(line.reason, 'invalid-reconcile-request');
    const error = String(line.error);
    for (const problem of [
      /project: must be a Google Cloud project id/,
      /location: must be a zone or region/,
      /cluster: /,
      /Unrecognized key: "dryrun"/,
    ]) {
      assert.match(error, problem);
    }
  });

  it('onReconcileRequest with an unknown scope → 204 and one ERROR line', async () => {
    const { result: status, records } = await post(
      binary('onReconcileRequest', 'rr-2', { data: b64({ scope: 'everything' }) }, 'spokefleet-reconcile'),
    );
    assert.equal(status, 204);
    assert.deepEqual(
      records.map((r) => [r.severity, r.reason]),
      [['ERROR', 'invalid-reconcile-request']],
    );
  });
});

describe('functions: ackOrRetry', () => {
  const capture = () => {
    const transport = new MemoryTransport();
    return { transport, log: createLogger({ transport, level: 'debug' }).child({ eventId: 'e-1' }) };
  };

  it('returns normally when the work succeeds, logging nothing', async () => {
    const { transport, log } = capture();
    await ackOrRetry(log, async () => {});
    assert.deepEqual(transport.records(), []);
  });

  const permanent: Array<[string, unknown, string]> = [
    ['PermanentError', new PermanentError('no such topic shape', 'invalid-log-entry'), 'invalid-log-entry'],
    ['HTTP 403', gaxiosError(403, 'PERMISSION_DENIED', 'forbidden'), 'permanent'],
    ['a thrown string', 'odd', 'permanent'],
  ];
  for (const [name, error, reason] of permanent) {
    it(`permanent (${name}) → resolves (ack) with one ERROR line`, async () => {
      const { transport, log } = capture();
      await ackOrRetry(log, async () => {
        throw error;
      });
      const records = transport.records();
      assert.deepEqual(
        records.map((r) => [r.severity, r.outcome, r.reason, r.eventId]),
        [['ERROR', 'refused', reason, 'e-1']],
      );
    });
  }

  const transient: Array<[string, unknown]> = [
    ['TransientError', new TransientError('2 step(s) failed transiently', 'transient-steps')],
    ['gRPC UNAVAILABLE', grpcError(14, 'unavailable')],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ];
  for (const [name, error] of transient) {
    it(`transient (${name}) → rejects with the same error and one WARNING line`, async () => {
      const { transport, log } = capture();
      await assert.rejects(
        ackOrRetry(log, async () => {
          throw error;
        }),
        (e: unknown) => e === error,
      );
      assert.deepEqual(
        transport.records().map((r) => [r.severity, r.outcome, r.reason, r.eventId]),
        [['WARNING', 'failed', 'transient', 'e-1']],
      );
    });
  }
});
