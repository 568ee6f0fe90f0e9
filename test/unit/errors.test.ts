import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException } from '@kubernetes/client-node';
import { GoogleError } from 'google-gax';
import { ClusterGoneError } from '../../shared/cloud/kube-connector';
import {
  classify,
  DEFAULT_RETRY,
  describeError,
  type ErrorClass,
  GrpcCode,
  grpcCode,
  HttpStatusError,
  httpStatus,
  isAlreadyExists,
  isNotFound,
  isResourceExhausted,
  OperationFailedError,
  orUndefined,
  PermanentError,
  readError,
  kubeStatus as readKubeStatus,
  TransientError,
  withRetry,
} from '../../shared/errors';
import { gaxiosError as gaxiosErrorOf, grpcError } from '../fakes/errors';

// gaxios is what googleapis (gkehub, cloudresourcemanager) throws with; not a direct dependency, so required from
// node_modules where googleapis' install put it.
const gaxios = require('gaxios') as typeof import('gaxios');

/** client-node 2.x error as its generated API throws it: HTTP code, body as the response text. */
function kubeError(code: number, status?: { reason: string; message: string }): ApiException<unknown> {
  const body = status
    ? JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code, ...status })
    : undefined;
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
}

const kubeStatus = (reason: string, message: string) => ({ reason, message });

/** The body Google REST APIs answer errors with (AIP-193). */
function googleBody(code: number, status: string, message: string) {
  return { error: { code, status, message, errors: [{ message, domain: 'global', reason: 'x' }] } };
}

describe('errors: classify real error shapes', () => {
  // A local HTTP server that answers what the path asks, so gaxios builds its real GaxiosError from a real response.
  let server: Server;
  let base: string;
  let closedPort: number;
  before(async () => {
    server = createServer((req, res) => {
      const [, code, status] = (req.url ?? '').split('/');
      res.writeHead(Number(code), { 'content-type': 'application/json' });
      res.end(JSON.stringify(googleBody(Number(code), status, `${status} from the test server`)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port that was just free: connecting to it is refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  async function gaxiosError(code: number, status: string): Promise<unknown> {
    try {
      await gaxios.request({ url: `${base}/${code}/${status}`, responseType: 'json', retry: false });
    } catch (error) {
      return error;
    }
    assert.fail('gaxios did not throw');
  }

  const gaxiosTable: Array<
    [code: number, status: string, cls: ErrorClass, notFound: boolean, exists: boolean]
  > = [
    [429, 'RESOURCE_EXHAUSTED', 'transient', false, false],
    [500, 'INTERNAL', 'transient', false, false],
    [503, 'UNAVAILABLE', 'transient', false, false],
    [504, 'DEADLINE_EXCEEDED', 'transient', false, false],
    [400, 'INVALID_ARGUMENT', 'permanent', false, false],
    [403, 'PERMISSION_DENIED', 'permanent', false, false],
    [404, 'NOT_FOUND', 'permanent', true, false],
    [409, 'ABORTED', 'transient', false, false],
    [409, 'ALREADY_EXISTS', 'permanent', false, true],
  ];
  for (const [code, status, cls, notFound, exists] of gaxiosTable) {
    it(`gaxios GaxiosError ${code} ${status} → ${cls}`, async () => {
      const error = await gaxiosError(code, status);
      assert.ok(error instanceof gaxios.GaxiosError, 'a real GaxiosError');
      assert.equal((error as { status?: number }).status, code);
      assert.equal(classify(error), cls);
      assert.equal(isNotFound(error), notFound);
      assert.equal(isAlreadyExists(error), exists);
      assert.equal(describeError(error), `${code} ${status} from the test server`);
    });
  }

  it('gaxios connection refused → transient', async () => {
    let error: unknown;
    try {
      await gaxios.request({ url: `http://127.0.0.1:${closedPort}/`, retry: false });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof gaxios.GaxiosError);
    assert.equal(classify(error), 'transient');
    assert.equal(isNotFound(error), false);
  });

  it('fetch connection refused (TypeError: fetch failed, cause ECONNREFUSED) → transient', async () => {
    const error = await fetch(`http://127.0.0.1:${closedPort}/`).then(
      () => assert.fail('fetch succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TypeError);
    assert.equal(classify(error), 'transient');
  });

  const PEERING_IN_PROGRESS =
    'There is a peering operation in progress on the local or peer network. Try again later.';
  const table: Array<
    [name: string, error: () => unknown, cls: ErrorClass, notFound?: boolean, exists?: boolean]
  > = [
    // gax GoogleError (gRPC)
    ['gRPC UNAVAILABLE', () => grpcError(GrpcCode.UNAVAILABLE), 'transient'],
    ['gRPC DEADLINE_EXCEEDED', () => grpcError(GrpcCode.DEADLINE_EXCEEDED), 'transient'],
    ['gRPC RESOURCE_EXHAUSTED', () => grpcError(GrpcCode.RESOURCE_EXHAUSTED), 'transient'],
    ['gRPC ABORTED', () => grpcError(GrpcCode.ABORTED), 'transient'],
    ['gRPC INTERNAL', () => grpcError(GrpcCode.INTERNAL), 'transient'],
    ['gRPC INVALID_ARGUMENT', () => grpcError(GrpcCode.INVALID_ARGUMENT), 'permanent'],
    ['gRPC PERMISSION_DENIED', () => grpcError(GrpcCode.PERMISSION_DENIED), 'permanent'],
    ['gRPC UNAUTHENTICATED', () => grpcError(GrpcCode.UNAUTHENTICATED), 'permanent'],
    ['gRPC FAILED_PRECONDITION', () => grpcError(GrpcCode.FAILED_PRECONDITION), 'permanent'],
    ['gRPC NOT_FOUND', () => grpcError(GrpcCode.NOT_FOUND), 'permanent', true, false],
    ['gRPC ALREADY_EXISTS', () => grpcError(GrpcCode.ALREADY_EXISTS), 'permanent', false, true],
    // compute over REST (gax fallback builds the error with parseHttpError)
    [
      'compute 400 "peering operation in progress"',
      () => GoogleError.parseHttpError(googleBodyNoStatus(400, PEERING_IN_PROGRESS)),
      'transient',
    ],
    [
      'compute 400 other',
      () => GoogleError.parseHttpError(googleBodyNoStatus(400, 'Invalid value for field resource.peerings')),
      'permanent',
    ],
    [
      'compute 404',
      () => GoogleError.parseHttpError(googleBodyNoStatus(404, 'The resource was not found')),
      'permanent',
      true,
    ],
    [
      'compute 503',
      () => GoogleError.parseHttpError(googleBodyNoStatus(503, 'Backend unavailable')),
      'transient',
    ],
    // client-node ApiException
    [
      'kube 409 Conflict',
      () => kubeError(409, kubeStatus('Conflict', 'the object has been modified')),
      'transient',
      false,
      false,
    ],
    [
      'kube 409 AlreadyExists',
      () => kubeError(409, kubeStatus('AlreadyExists', 'services "x" already exists')),
      'permanent',
      false,
      true,
    ],
    [
      'kube 409 Conflict, body already parsed',
      () => Object.assign(kubeError(409), { body: { kind: 'Status', reason: 'Conflict', code: 409 } }),
      'transient',
      false,
      false,
    ],
    [
      'kube 404 NotFound',
      () => kubeError(404, kubeStatus('NotFound', 'services "x" not found')),
      'permanent',
      true,
    ],
    [
      'kube 429 TooManyRequests',
      () => kubeError(429, kubeStatus('TooManyRequests', 'slow down')),
      'transient',
    ],
    ['kube 500', () => kubeError(500, kubeStatus('InternalError', 'etcd')), 'transient'],
    ['kube 403 Forbidden', () => kubeError(403, kubeStatus('Forbidden', 'no')), 'permanent'],
    ['kube 401 without body', () => kubeError(401), 'permanent'],
    // Node network errors
    [
      'ECONNRESET',
      () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104 }),
      'transient',
    ],
    ['ETIMEDOUT', () => Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'transient'],
    [
      'EAI_AGAIN',
      () => Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }),
      'transient',
    ],
    [
      'fetch failed (cause ECONNRESET)',
      () => new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }),
      'transient',
    ],
    [
      'fetch failed (cause UND_ERR_SOCKET)',
      () =>
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
        }),
      'transient',
    ],
    ['socket hang up', () => new Error('socket hang up'), 'transient'],
    [
      'AbortSignal.timeout',
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'transient',
    ],
    ['EACCES', () => Object.assign(new Error('permission denied'), { code: 'EACCES' }), 'permanent'],
    // Spokefleet's own
    ['PermanentError', () => new PermanentError('policy says no', 'mcs-limit'), 'permanent'],
    ['TransientError', () => new TransientError('later', 'operation-timeout'), 'transient'],
    [
      'PermanentError with a transient-looking message',
      () => new PermanentError('socket hang up'),
      'permanent',
    ],
    // Spokefleet's own answers with a status
    ['ClusterGoneError (not found)', () => new ClusterGoneError('gke-1'), 'permanent', true],
    ['HttpStatusError 503', () => new HttpStatusError('secret: HTTP 503', 503), 'transient'],
    ['HttpStatusError 404', () => new HttpStatusError('secret: HTTP 404', 404), 'permanent', true],
    // Long-running operations that ended in error: GKE / Hub carry a gRPC code, Compute an HTTP status
    ['GKE operation ABORTED', () => new OperationFailedError('op-1', 'aborted', { grpc: 10 }), 'transient'],
    [
      'GKE operation FAILED_PRECONDITION',
      () => new OperationFailedError('op-1', 'no', { grpc: 9 }),
      'permanent',
    ],
    [
      'Hub operation NOT_FOUND',
      () => new OperationFailedError('op-2', 'gone', { grpc: 5 }),
      'permanent',
      true,
    ],
    ['Compute operation 503', () => new OperationFailedError('op-3', 'backend', { http: 503 }), 'transient'],
    [
      'Compute operation 400',
      () => new OperationFailedError('op-3', 'bad field', { http: 400 }),
      'permanent',
    ],
    [
      'Compute operation 400 "peering operation in progress"',
      () => new OperationFailedError('op-3', PEERING_IN_PROGRESS, { http: 400 }),
      'transient',
    ],
    // A numeric code on an error of no known stack is not guessed at: 503 is not UNAVAILABLE, 5 not NOT_FOUND.
    ['an Error with a bare code 503', () => Object.assign(new Error('x'), { code: 503 }), 'permanent'],
    ['an Error with a bare code 14', () => Object.assign(new Error('x'), { code: 14 }), 'permanent'],
    ['an Error with a bare code 5', () => Object.assign(new Error('x'), { code: 5 }), 'permanent'],
    // Every transport code taken as transient, each on its own
    ...[
      'EPIPE',
      'ENOTFOUND',
      'ECONNABORTED',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
    ].map((code): [string, () => unknown, ErrorClass] => [
      code,
      () => Object.assign(new Error('transport'), { code }),
      'transient',
    ]),
    [
      'an aborted fetch (AbortError)',
      () => new DOMException('This operation was aborted', 'AbortError'),
      'transient',
    ],
    [
      'a cause two levels down (TypeError, cause TypeError, cause ECONNRESET)',
      () => new TypeError('outer', { cause: new TypeError('inner', { cause: { code: 'ECONNRESET' } }) }),
      'transient',
    ],
    [
      'gaxios without an answer, fetch TypeError as its cause (no code of its own)',
      () =>
        new gaxios.GaxiosError(
          'request failed',
          { url: new URL('http://127.0.0.1/') } as ConstructorParameters<typeof gaxios.GaxiosError>[1],
          undefined,
          new TypeError('fetch failed', {
            cause: Object.assign(new Error('closed'), { code: 'UND_ERR_SOCKET' }),
          }),
        ),
      'transient',
    ],
    [
      'gaxios 409 ABORTED with its body as text',
      () =>
        Object.assign(gaxiosErrorOf(409, 'ABORTED'), {
          response: { status: 409, data: JSON.stringify({ error: { status: 'ABORTED' } }) },
        }),
      'transient',
    ],
    [
      'gaxios 404 whose JSON body has no error object',
      () => Object.assign(gaxiosErrorOf(404, 'NOT_FOUND'), { response: { status: 404, data: {} } }),
      'permanent',
      true,
    ],
    [
      'gaxios 409 without a body: already exists',
      () =>
        Object.assign(gaxiosErrorOf(409, 'ALREADY_EXISTS'), { response: { status: 409, data: undefined } }),
      'permanent',
      false,
      true,
    ],
    [
      'an error that is its own cause',
      () => {
        const e = new Error('loop') as Error & { cause?: unknown };
        e.cause = e;
        return e;
      },
      'permanent',
    ],
    ['bare "fetch failed"', () => new Error('fetch failed'), 'transient'],
    ['"socket timed out"', () => new Error('socket timed out'), 'transient'],
    ['"request timeout"', () => new Error('request timeout'), 'transient'],
    ['"network error"', () => new Error('network error'), 'transient'],
    // Plain errors and odd inputs
    [
      'a programming error mentioning network',
      () => new TypeError("Cannot read properties of undefined (reading 'network')"),
      'permanent',
    ],
    ['plain Error', () => new Error('something odd'), 'permanent'],
    ['null', () => null, 'permanent'],
    ['undefined', () => undefined, 'permanent'],
    ['a string', () => 'ECONNRESET', 'permanent'],
    ['a number', () => 503, 'permanent'],
    ['an empty object', () => ({}), 'permanent'],
  ];
  for (const [name, make, cls, notFound = false, exists = false] of table) {
    it(`${name} → ${cls}${notFound ? ', not found' : ''}${exists ? ', already exists' : ''}`, () => {
      const error = make();
      assert.equal(classify(error), cls);
      assert.equal(isNotFound(error), notFound);
      assert.equal(isAlreadyExists(error), exists);
    });
  }
});

function googleBodyNoStatus(code: number, message: string) {
  // Compute's REST errors carry code and message, no canonical status.
  return { error: { code, message, errors: [{ message, domain: 'global', reason: 'badRequest' }] } };
}

describe('errors: describeError', () => {
  const table: Array<[name: string, error: unknown, expected: string]> = [
    [
      'gRPC code prefix',
      grpcError(GrpcCode.NOT_FOUND, 'Not found: cluster gke-1'),
      '5 Not found: cluster gke-1',
    ],
    [
      'kube: the Status reason and message, not the multi-line dump (no headers)',
      kubeError(409, kubeStatus('Conflict', 'x')),
      '409 Conflict: x',
    ],
    [
      'kube: a Status without a reason',
      kubeError(409, { reason: undefined as unknown as string, message: 'x' }),
      '409 x',
    ],
    [
      'a body with a message on an error of no HTTP stack',
      Object.assign(new Error('e'), { body: { message: 'plain' } }),
      'plain',
    ],
    ['plain error', new Error('boom'), 'boom'],
    ['multi-line message', new Error('line one\nline two\nAuthorization: Bearer abc'), 'line one'],
    ['a string', 'just a string', 'just a string'],
    ['a multi-line string', 'first\nsecond', 'first'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
  ];
  for (const [name, error, expected] of table) {
    it(name, () => {
      assert.equal(describeError(error), expected);
    });
  }

  it('is bounded in length', () => {
    for (const error of [
      new Error('x'.repeat(10_000)),
      'y'.repeat(10_000),
      grpcError(14, 'z'.repeat(10_000)),
      kubeError(409, kubeStatus('Conflict', 'k'.repeat(10_000))),
    ]) {
      const text = describeError(error);
      assert.ok(text.length <= 510, `length ${text.length}`);
      assert.ok(text.length >= 500);
    }
  });
});

describe('errors: the stack each error is read as, and the predicates', () => {
  const kinds: Array<[name: string, error: unknown, kind: string]> = [
    ['null', null, 'unknown'],
    ['a plain Error', new Error('x'), 'unknown'],
    ['gRPC', grpcError(14), 'grpc'],
    ['client-node', kubeError(404), 'http'],
    ['gaxios', gaxiosErrorOf(503, 'UNAVAILABLE'), 'http'],
    ['a Node transport error', Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'transport'],
    [
      'AbortSignal.timeout',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'timeout',
    ],
    ['an abort', new DOMException('This operation was aborted', 'AbortError'), 'timeout'],
    ['PermanentError', new PermanentError('x'), 'spokefleet'],
  ];
  for (const [name, error, kind] of kinds) {
    it(`${name} is read as ${kind}`, () => assert.equal(readError(error).kind, kind));
  }

  it('httpStatus only for HTTP stacks, grpcCode only for gRPC stacks', () => {
    assert.equal(httpStatus(kubeError(404)), 404);
    assert.equal(httpStatus(grpcError(5)), undefined);
    assert.equal(grpcCode(grpcError(5)), 5);
    assert.equal(grpcCode(kubeError(404)), undefined);
  });

  it('isResourceExhausted: HTTP 429 and gRPC RESOURCE_EXHAUSTED, nothing else', () => {
    assert.equal(isResourceExhausted(gaxiosErrorOf(429, 'RESOURCE_EXHAUSTED')), true);
    assert.equal(isResourceExhausted(kubeError(429)), true);
    assert.equal(isResourceExhausted(grpcError(GrpcCode.RESOURCE_EXHAUSTED)), true);
    assert.equal(isResourceExhausted(gaxiosErrorOf(503, 'UNAVAILABLE')), false);
    assert.equal(isResourceExhausted(grpcError(GrpcCode.UNAVAILABLE)), false);
    assert.equal(isResourceExhausted(grpcError(429)), false, 'a gRPC code is not an HTTP status');
    assert.equal(isResourceExhausted(new Error('x')), false);
  });

  it('orUndefined: the value; undefined for not found; any other error rethrown', async () => {
    assert.equal(await orUndefined(async () => 7), 7);
    assert.equal(
      await orUndefined(async () => {
        throw kubeError(404);
      }),
      undefined,
    );
    const denied = grpcError(GrpcCode.PERMISSION_DENIED);
    await assert.rejects(
      orUndefined(async () => {
        throw denied;
      }),
      (error: unknown) => error === denied,
    );
  });

  it('kubeStatus: the Status object of the body, parsed or not; nothing for other bodies', () => {
    assert.deepEqual(readKubeStatus({ body: '{"reason":"NotFound"}' }), { reason: 'NotFound' });
    assert.deepEqual(readKubeStatus({ body: { reason: 'Conflict' } }), { reason: 'Conflict' });
    for (const body of ['not json', 'null', '"a string"', '42', undefined])
      assert.equal(readKubeStatus({ body }), undefined, String(body));
    assert.equal(readKubeStatus(undefined), undefined);
  });

  it('names its own error types', () => {
    assert.deepEqual(
      [
        new PermanentError('x'),
        new TransientError('x'),
        new HttpStatusError('x', 500),
        new OperationFailedError('op', 'x', { grpc: 2 }),
      ].map((e) => e.name),
      ['PermanentError', 'TransientError', 'HttpStatusError', 'OperationFailedError'],
    );
  });
});

describe('errors: withRetry', () => {
  /** A fake clock: sleep advances it; every call is recorded. */
  function harness(options: { random?: number; workMs?: number } = {}) {
    let clock = 1_000_000;
    const sleeps: number[] = [];
    const sleepEnds: number[] = [];
    return {
      sleeps,
      sleepEnds,
      now: () => clock,
      random: () => options.random ?? 1,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock += ms;
        sleepEnds.push(clock);
      },
      work: () => {
        clock += options.workMs ?? 0;
      },
      start: clock,
    };
  }
  const transient = () => grpcError(GrpcCode.UNAVAILABLE, 'unavailable');

  it('retries a transient failure, then returns the result', async () => {
    const h = harness();
    const attempts: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw transient();
        return 'done';
      },
      { sleep: h.sleep, random: h.random, now: h.now, baseDelayMs: 100 },
    );
    assert.equal(result, 'done');
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(h.sleeps, [100, 200]);
  });

  it('returns at once on success without sleeping', async () => {
    const h = harness();
    assert.equal(await withRetry(async () => 7, { sleep: h.sleep, now: h.now }), 7);
    assert.deepEqual(h.sleeps, []);
  });

  it('stops at once on a permanent error and rethrows it unchanged', async () => {
    const h = harness();
    const permanent = grpcError(GrpcCode.PERMISSION_DENIED, 'denied');
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw permanent;
        },
        { sleep: h.sleep, random: h.random, now: h.now },
      ),
      (error: unknown) => error === permanent,
    );
    assert.equal(calls, 1);
    assert.deepEqual(h.sleeps, []);
  });

  it('stops after maxAttempts and rethrows the last error (the same object)', async () => {
    const h = harness();
    const thrown: Error[] = [];
    await assert.rejects(
      withRetry(
        async () => {
          const error = transient();
          thrown.push(error);
          throw error;
        },
        { sleep: h.sleep, random: h.random, now: h.now, maxAttempts: 4, baseDelayMs: 10, budgetMs: 1e9 },
      ),
      (error: unknown) => error === thrown[thrown.length - 1],
    );
    assert.equal(thrown.length, 4);
    assert.deepEqual(h.sleeps, [10, 20, 40]);
  });

  it('grows exponentially up to maxDelayMs (random() = 1)', async () => {
    const h = harness({ random: 1 });
    await assert.rejects(
      withRetry(
        async () => {
          throw transient();
        },
        {
          sleep: h.sleep,
          random: h.random,
          now: h.now,
          baseDelayMs: 100,
          maxDelayMs: 1000,
          maxAttempts: 8,
          budgetMs: 1e9,
        },
      ),
    );
    assert.deepEqual(h.sleeps, [100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('applies full jitter: random() = 0.5 halves every capped delay', async () => {
    const h = harness({ random: 0.5 });
    await assert.rejects(
      withRetry(
        async () => {
          throw transient();
        },
        {
          sleep: h.sleep,
          random: h.random,
          now: h.now,
          baseDelayMs: 100,
          maxDelayMs: 1000,
          maxAttempts: 7,
          budgetMs: 1e9,
        },
      ),
    );
    assert.deepEqual(h.sleeps, [50, 100, 200, 400, 500, 500]);
  });

  it('random() = 0 retries without waiting', async () => {
    const h = harness({ random: 0 });
    await assert.rejects(
      withRetry(
        async () => {
          throw transient();
        },
        { sleep: h.sleep, random: h.random, now: h.now, maxAttempts: 3 },
      ),
    );
    assert.deepEqual(h.sleeps, [0, 0]);
  });

  const budgets: Array<{
    name: string;
    budgetMs: number;
    workMs: number;
    sleeps: number[];
    attempts: number;
  }> = [
    { name: 'instant attempts', budgetMs: 1000, workMs: 0, sleeps: [100, 200, 400], attempts: 4 },
    { name: 'attempts that take 250 ms', budgetMs: 1000, workMs: 250, sleeps: [100, 200], attempts: 3 },
    { name: 'a zero budget', budgetMs: 0, workMs: 0, sleeps: [], attempts: 1 },
    // The second backoff would end exactly at the deadline: no attempt could follow it.
    { name: 'a backoff ending at the deadline', budgetMs: 300, workMs: 0, sleeps: [100], attempts: 2 },
  ];
  for (const t of budgets) {
    it(`respects the time budget: never sleeps past the deadline (${t.name})`, async () => {
      const h = harness({ random: 1, workMs: t.workMs });
      const error = transient();
      let attempts = 0;
      await assert.rejects(
        withRetry(
          async () => {
            attempts++;
            h.work();
            throw error;
          },
          {
            sleep: h.sleep,
            random: h.random,
            now: h.now,
            baseDelayMs: 100,
            maxDelayMs: 10_000,
            maxAttempts: 100,
            budgetMs: t.budgetMs,
          },
        ),
        (e: unknown) => e === error,
      );
      assert.deepEqual(h.sleeps, t.sleeps);
      assert.equal(attempts, t.attempts);
      for (const end of h.sleepEnds) assert.ok(end < h.start + t.budgetMs, `slept until ${end - h.start} ms`);
    });
  }

  it('calls onRetry with the error, the attempt number and the delay before each sleep', async () => {
    const h = harness({ random: 1 });
    const errors = [transient(), transient()];
    const calls: Array<[unknown, number, number, number]> = [];
    await withRetry(
      async (attempt) => {
        if (attempt <= errors.length) throw errors[attempt - 1];
        return 'ok';
      },
      {
        sleep: h.sleep,
        random: h.random,
        now: h.now,
        baseDelayMs: 100,
        onRetry: (error, attempt, delayMs) => calls.push([error, attempt, delayMs, h.sleeps.length]),
      },
    );
    assert.deepEqual(calls, [
      [errors[0], 1, 100, 0],
      [errors[1], 2, 200, 1],
    ]);
  });

  it('a custom retryable decides instead of classify', async () => {
    const h = harness();
    let calls = 0;
    const permanentLooking = new PermanentError('retry me anyway');
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw permanentLooking;
        },
        { sleep: h.sleep, random: h.random, now: h.now, maxAttempts: 3, retryable: () => true },
      ),
      (e: unknown) => e === permanentLooking,
    );
    assert.equal(calls, 3);
  });

  it('the defaults are a bounded budget with capped backoff', () => {
    assert.deepEqual(DEFAULT_RETRY, {
      budgetMs: 30_000,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      maxAttempts: 8,
    });
  });

  it('uses real timers only when no sleep is injected (fake timers)', async () => {
    const sinon = await import('sinon');
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    try {
      let calls = 0;
      const promise = withRetry(
        async () => {
          calls++;
          if (calls === 1) throw transient();
          return 'ok';
        },
        { random: () => 1, baseDelayMs: 1000 },
      );
      await clock.tickAsync(999);
      assert.equal(calls, 1);
      await clock.tickAsync(1);
      assert.equal(await promise, 'ok');
      assert.equal(calls, 2);
    } finally {
      clock.restore();
    }
  });
});
