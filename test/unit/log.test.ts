import assert from 'node:assert/strict';
import { createLogger, type LogLevel, MemoryTransport, redact } from '../../shared/log';

function capture(level: LogLevel = 'debug', fields = {}) {
  const transport = new MemoryTransport();
  const log = createLogger({ transport, level, fields });
  return { log, transport };
}

describe('log: structured lines', () => {
  it('writes one JSON object per call with severity, message and the operator fields', () => {
    const { log, transport } = capture();
    log.info('membership created', {
      eventId: '12938475061829374',
      cluster: 'spoke-prj-one/us-east4/gke-1',
      step: 'membership',
      outcome: 'created',
      durationMs: 12.5,
    });
    const records = transport.records();
    assert.equal(records.length, 1);
    const [line] = records;
    assert.equal(line.severity, 'INFO');
    assert.equal(line.message, 'membership created');
    assert.equal(line.eventId, '12938475061829374');
    assert.equal(line.cluster, 'spoke-prj-one/us-east4/gke-1');
    assert.equal(line.step, 'membership');
    assert.equal(line.outcome, 'created');
    assert.equal(line.durationMs, 12.5);
    // Every raw line (including the library's own diagnostics) is parseable JSON on one line.
    for (const raw of transport.lines) assert.doesNotThrow(() => JSON.parse(raw), raw);
  });

  const methods: Array<[keyof ReturnType<typeof createLogger> & string, string]> = [
    ['debug', 'DEBUG'],
    ['info', 'INFO'],
    ['notice', 'NOTICE'],
    ['warn', 'WARNING'],
    ['error', 'ERROR'],
  ];
  for (const [method, severity] of methods) {
    it(`${method}() writes severity ${severity}`, () => {
      const { log, transport } = capture('debug');
      (log[method] as (m: string) => void)(`a ${method} line`);
      assert.deepEqual(
        transport.records().map((r) => [r.severity, r.message]),
        [[severity, `a ${method} line`]],
      );
    });
  }

  it('child() adds its fields to every line, and call fields win over both', () => {
    const { log, transport } = capture('debug', { service: 'spokefleet' });
    const event = log.child({ eventId: 'e-1', step: 'spoke' });
    const step = event.child({ step: 'membership', cluster: 'p/l/c' });
    event.info('one');
    step.info('two');
    step.warn('three', { outcome: 'refused', cluster: 'p/l/other' });
    log.info('four');
    const pick = (r: Record<string, unknown>) => ({
      message: r.message,
      service: r.service,
      eventId: r.eventId,
      step: r.step,
      cluster: r.cluster,
      outcome: r.outcome,
    });
    assert.deepEqual(transport.records().map(pick), [
      {
        message: 'one',
        service: 'spokefleet',
        eventId: 'e-1',
        step: 'spoke',
        cluster: undefined,
        outcome: undefined,
      },
      {
        message: 'two',
        service: 'spokefleet',
        eventId: 'e-1',
        step: 'membership',
        cluster: 'p/l/c',
        outcome: undefined,
      },
      {
        message: 'three',
        service: 'spokefleet',
        eventId: 'e-1',
        step: 'membership',
        cluster: 'p/l/other',
        outcome: 'refused',
      },
      {
        message: 'four',
        service: 'spokefleet',
        eventId: undefined,
        step: undefined,
        cluster: undefined,
        outcome: undefined,
      },
    ]);
  });

  it('a child does not change its parent', () => {
    const { log, transport } = capture();
    log.child({ eventId: 'child-only' });
    log.info('parent');
    assert.equal(transport.records()[0].eventId, undefined);
  });
});

describe('log: the line Cloud Logging reads', () => {
  it('has the LogEntry fields Cloud Run maps (timestamp, severity, insertId) and the log name', () => {
    const transport = new MemoryTransport();
    const log = createLogger({ transport, projectId: 'spoke-prj-one', name: 'spokefleet-audit' });
    const before = Date.now();
    log.info('one', { step: 'membership' });
    log.warn('two');
    const after = Date.now();
    const records = transport.records();
    assert.equal(transport.lines.length, 2, 'one line per call, nothing else');
    assert.deepEqual(Object.keys(records[0]).sort(), [
      'logName',
      'logging.googleapis.com/insertId',
      'message',
      'severity',
      'step',
      'timestamp',
    ]);
    for (const record of records) {
      const { seconds, nanos } = record.timestamp as { seconds: number; nanos: number };
      const ms = seconds * 1000 + nanos / 1_000_000;
      assert.ok(Number.isInteger(seconds) && Number.isInteger(nanos) && nanos < 1e9, 'seconds and nanos');
      assert.ok(ms >= before && ms <= after, `timestamp ${ms} within [${before}, ${after}]`);
      assert.equal(record.logName, 'projects/spoke-prj-one/logs/spokefleet-audit');
    }
    const [first, second] = records.map((r) => String(r['logging.googleapis.com/insertId']));
    assert.ok(first < second, `insertIds increase (${first} < ${second}): Cloud Logging orders by them`);
  });

  it("a caller's logging.googleapis.com/* keys and severity pass through; the time and log name do not", () => {
    const transport = new MemoryTransport();
    const log = createLogger({ transport, projectId: 'p1' });
    log.info('traced', {
      'logging.googleapis.com/trace': 'projects/p1/traces/abc',
      'logging.googleapis.com/labels': { run: 'x' },
      severity: 'ERROR',
      timestamp: 'not a time',
      logName: 'projects/other/logs/x',
    });
    const [line] = transport.records();
    assert.equal(line['logging.googleapis.com/trace'], 'projects/p1/traces/abc');
    assert.deepEqual(line['logging.googleapis.com/labels'], { run: 'x' });
    assert.equal(line.severity, 'ERROR');
    assert.equal(typeof line.timestamp, 'object');
    assert.equal(line.logName, 'projects/p1/logs/spokefleet');
  });

  it('a value JSON cannot write costs that value, not the line', () => {
    const transport = new MemoryTransport();
    const log = createLogger({ transport });
    log.info('big', { count: 10n });
    log.info('odd', {
      thing: {
        toJSON() {
          throw new Error('no');
        },
      },
    });
    const records = transport.records();
    assert.deepEqual(
      records.map((r) => [r.severity, r.message]),
      [
        ['INFO', 'big'],
        ['INFO', 'odd'],
      ],
    );
    assert.equal(records[0].count, '10');
    assert.match(String(records[1].logError), /could not be written: no/);
  });
});

describe('log: levels', () => {
  const table: Array<[LogLevel, string[]]> = [
    ['debug', ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR']],
    ['info', ['INFO', 'NOTICE', 'WARNING', 'ERROR']],
    ['warning', ['WARNING', 'ERROR']],
    ['error', ['ERROR']],
  ];
  for (const [level, shown] of table) {
    it(`level ${level} shows ${shown.join(', ')}`, () => {
      const { log, transport } = capture(level);
      log.debug('d');
      log.info('i');
      log.notice('n');
      log.warn('w');
      log.error('e');
      assert.deepEqual(
        transport.records().map((r) => r.severity),
        shown,
      );
    });
  }

  it('defaults to info: debug is hidden, also in children', () => {
    const transport = new MemoryTransport();
    const log = createLogger({ transport });
    log.debug('hidden');
    log.child({ eventId: 'x' }).debug('hidden too');
    log.info('shown');
    assert.deepEqual(
      transport.records().map((r) => r.message),
      ['shown'],
    );
  });
});

describe('log: redaction', () => {
  const PLANTED = 'ya29.PLANTED-TOKEN-VALUE-0123456789';
  const secretKeys = [
    'token',
    'accessToken',
    'id_token',
    'refreshToken',
    'Authorization',
    'proxy-authorization',
    'password',
    'dbPassword',
    'secret',
    'clientSecret',
    'credential',
    'credentials',
    'cookie',
    'Set-Cookie',
    'privateKey',
    'private_key',
    'private key',
    'bearer',
  ];

  for (const key of secretKeys) {
    it(`redacts the field ${JSON.stringify(key)} at the top level`, () => {
      const { log, transport } = capture();
      log.info('x', { [key]: PLANTED });
      const [line] = transport.records();
      assert.equal(line[key], '[redacted]');
      assert.ok(!transport.lines.join('\n').includes(PLANTED));
    });
  }

  it('redacts nested objects, arrays, child fields, and objects deeper than the walk', () => {
    const { log, transport } = capture();
    const deep: Record<string, unknown> = { token: PLANTED };
    let node = deep;
    for (let i = 0; i < 12; i++) node = { level: node };
    log.child({ auth: { authorization: `Bearer ${PLANTED}` } }).error('request failed', {
      request: { headers: { Authorization: `Bearer ${PLANTED}`, accept: 'application/json' } },
      items: [{ name: 'a', password: PLANTED }, [{ cookie: PLANTED }], PLANTED.length],
      config: { private_key: `-----BEGIN PRIVATE KEY-----${PLANTED}` },
      deep: node,
    });
    const [line] = transport.records();
    assert.deepEqual(line.request, { headers: { Authorization: '[redacted]', accept: 'application/json' } });
    assert.deepEqual(line.items, [
      { name: 'a', password: '[redacted]' },
      [{ cookie: '[redacted]' }],
      PLANTED.length,
    ]);
    assert.deepEqual(line.auth, { authorization: '[redacted]' });
    assert.deepEqual(line.config, { private_key: '[redacted]' });
    assert.ok(!JSON.stringify(line.deep).includes(PLANTED));
  });

  it('no captured line anywhere contains the planted token', () => {
    const { log, transport } = capture('debug');
    const event = log.child({ eventId: 'e-9', account: { client_email: 'x', private_key: PLANTED } });
    event.debug('connecting', { endpoint: 'https://connectgateway.googleapis.com', token: PLANTED });
    event.info('step', { step: 'exports', outcome: 'created', headers: [{ Cookie: `session=${PLANTED}` }] });
    event.warn('retry', { attempt: 2, kubeconfig: { users: [{ user: { token: PLANTED } }] } });
    event.error('failed', { error: 'boom', authorization: PLANTED, cookies: [PLANTED] });
    assert.ok(transport.records().length >= 4);
    for (const raw of transport.lines) assert.ok(!raw.includes(PLANTED), `leaked in: ${raw}`);
    // The non-secret fields survived.
    assert.ok(transport.lines.some((l) => l.includes('"endpoint":"https://connectgateway.googleapis.com"')));
    assert.ok(transport.lines.some((l) => l.includes('"client_email":"x"')));
  });

  it('redact() leaves non-secret values and primitives alone and does not mutate its input', () => {
    const input = { a: 1, b: 'two', c: [true, null], d: { e: 'f' }, token: 't' };
    const copy = structuredClone(input);
    assert.deepEqual(redact(input), { ...copy, token: '[redacted]' });
    assert.deepEqual(input, copy);
    for (const v of [null, undefined, 0, 'token', false]) assert.equal(redact(v), v);
  });

  it('redact() survives a cycle', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    assert.doesNotThrow(() => JSON.stringify(redact(cyclic)));
  });
});
