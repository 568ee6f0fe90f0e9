/**
 * The Aviatrix Controller client's decisions on an in-memory fetch: how answers are parsed, when it logs in again,
 * what is cached, and how each failure is classified. The protocol itself (login, the actions, redirects, TLS) is
 * tested against the stand-in over HTTP (test/wire/aviatrix.test.ts).
 */
import assert from 'node:assert/strict';
import { CallTimeoutError } from '../../shared/calls';
import { ClassifiedError, PermanentError, TransientError } from '../../shared/errors';
import {
  AviatrixController,
  type AviatrixOptions,
  parseGcpVpcId,
  parseSpokeGateway,
} from '../../shared/policy/aviatrix';

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

type Override = (action: string, params: URLSearchParams) => Response | Promise<Response> | undefined;

const GCP = {
  vpc_id: 'gcp-spoke100-us-east4~-~project-a',
  cloud_type: 4,
  vpc_name: 'spoke100-gw',
  vpc_region: 'us-east4',
  global_vpc: false,
  include_cidr_list: ['192.168.100.0/24'],
};

/** A Controller in memory, answering like the stand-in: API token, login, session ids, the spoke list. */
class FakeController {
  readonly calls: string[] = [];
  readonly params: URLSearchParams[] = [];
  results: unknown[] = [GCP];
  token = 'tok-4711';
  private readonly sessions = new Set<string>();
  private issued = 0;
  /** Answers an action instead of the default when it returns a Response. */
  override?: Override;

  readonly fetch = (async (input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    const params = init?.method === 'POST' ? new URLSearchParams(String(init.body)) : url.searchParams;
    const action = params.get('action') ?? '';
    this.calls.push(action);
    this.params.push(params);
    const scripted = this.override?.(action, params);
    if (scripted) return scripted;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    switch (action) {
      case 'get_api_token':
        return json({ return: true, results: { api_token: this.token } });
      case 'login': {
        if (headers['X-Access-Key'] !== this.token || params.get('password') !== 'pw')
          return json({ return: false, reason: 'Invalid username or password' });
        const cid = `cid-${++this.issued}`;
        this.sessions.add(cid);
        return json({ return: true, CID: cid });
      }
      case 'list_vpcs_summary':
      case 'edit_gateway_advertised_cidr':
        if (!this.sessions.has(params.get('CID') ?? ''))
          return json({ return: false, reason: 'CID is invalid or expired.' });
        return json({ return: true, results: this.results });
      default:
        return json({ return: false, reason: `Valid action required: ${action}` });
    }
  }) as typeof fetch;

  expireSessions() {
    this.sessions.clear();
  }

  count(action: string) {
    return this.calls.filter((a) => a === action).length;
  }
}

const client = (fake: FakeController, options: Partial<AviatrixOptions> = {}) =>
  new AviatrixController({
    controllerUrl: 'https://controller.example.com',
    username: 'spokefleet',
    password: async () => 'pw',
    cacheSeconds: 0,
    fetch: fake.fetch,
    ...options,
  });

/** The classified error a call rejects with. */
async function failure(promise: Promise<unknown>): Promise<ClassifiedError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClassifiedError, String(error));
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('Aviatrix client: reading list_vpcs_summary', () => {
  it('parses a GCP spoke gateway; other clouds, odd shapes and nameless gateways are not gateways', () => {
    assert.deepEqual(parseSpokeGateway(GCP), {
      name: 'spoke100-gw',
      vpc: { network: 'gcp-spoke100-us-east4', project: 'project-a' },
      region: 'us-east4',
      globalVpc: false,
      includeCidrs: ['192.168.100.0/24'],
    });
    for (const odd of [
      null,
      'gcp-spoke100-us-east4~-~project-a',
      { ...GCP, vpc_id: 'vpc-0abc123' },
      { ...GCP, vpc_id: ['gcp-spoke100-us-east4~-~project-a'] },
      { ...GCP, vpc_name: undefined },
      { ...GCP, vpc_name: '' },
    ]) {
      assert.equal(parseSpokeGateway(odd), undefined, JSON.stringify(odd));
    }
    assert.equal(parseGcpVpcId(['gcp-spoke100-us-east4~-~project-a']), undefined);
  });

  it('Global VPC is read (it narrows what an empty include list advertises); a missing or odd region is none', () => {
    assert.equal(parseSpokeGateway({ ...GCP, global_vpc: true })?.globalVpc, true);
    assert.equal(parseSpokeGateway({ ...GCP, global_vpc: 'true' })?.globalVpc, false);
    for (const vpc_region of ['', 42, undefined]) {
      assert.equal(parseSpokeGateway({ ...GCP, vpc_region })?.region, undefined, String(vpc_region));
    }
  });

  it('include list: entries trimmed, blanks and non-strings dropped, a missing list is empty (the default advertisement)', () => {
    const list = [' 10.4.0.0/14 ', '', '   ', 42, null, '192.168.100.0/24'];
    assert.deepEqual(parseSpokeGateway({ ...GCP, include_cidr_list: list })?.includeCidrs, [
      '10.4.0.0/14',
      '192.168.100.0/24',
    ]);
    assert.deepEqual(parseSpokeGateway({ ...GCP, include_cidr_list: undefined })?.includeCidrs, []);
    assert.deepEqual(parseSpokeGateway({ ...GCP, include_cidr_list: '10.4.0.0/14' })?.includeCidrs, []);
  });

  it('listSpokes skips null and non-GCP entries; listGateways needs both the project and the network to match', async () => {
    const fake = new FakeController();
    const sameNameElsewhere = { ...GCP, vpc_id: 'gcp-spoke100-us-east4~-~project-b', vpc_name: 'b-gw' };
    fake.results = [null, { vpc_id: 'vpc-0abc123', vpc_name: 'aws-gw' }, GCP, sameNameElsewhere];
    const c = client(fake);
    assert.deepEqual(await c.listSpokes(), [
      { network: 'gcp-spoke100-us-east4', project: 'project-a' },
      { network: 'gcp-spoke100-us-east4', project: 'project-b' },
    ]);
    const gateways = await c.listGateways({ project: 'project-a', network: 'gcp-spoke100-us-east4' });
    assert.deepEqual(
      gateways.map((g) => g.name),
      ['spoke100-gw'],
    );
  });

  it('getGateway picks the result named like the gateway, whatever else the Controller returns', async () => {
    const fake = new FakeController();
    fake.results = [
      { vpc_id: 'vpc-0abc123', vpc_name: 'aws-gw' },
      { ...GCP, vpc_name: 'other-gw' },
      { ...GCP, include_cidr_list: ['10.4.0.0/14'] },
    ];
    const gateway = await client(fake).getGateway('spoke100-gw');
    assert.deepEqual(gateway?.includeCidrs, ['10.4.0.0/14']);
    assert.equal(fake.params.at(-1)?.get('gateway_name'), 'spoke100-gw');
  });
});

describe('Aviatrix client: the spoke list cache', () => {
  it('asks with spoke_only=true, and again once cacheSeconds have passed, not before', async () => {
    const fake = new FakeController();
    const start = 1_000_000;
    let now = start;
    const c = client(fake, { cacheSeconds: 60, now: () => now });
    await c.listSpokes();
    assert.equal(fake.params.at(-1)?.get('spoke_only'), 'true');
    now = start + 59_999;
    await c.listGateways({ project: 'project-a', network: 'gcp-spoke100-us-east4' });
    assert.equal(fake.count('list_vpcs_summary'), 1, 'still cached');
    now = start + 60_000;
    await c.listSpokes();
    assert.equal(fake.count('list_vpcs_summary'), 2, 'expired');
    now = start + 60_001;
    await c.listSpokes();
    assert.equal(fake.count('list_vpcs_summary'), 2, 'the new read is cached');
  });

  it('a failed read is not cached: the next call asks again', async () => {
    const fake = new FakeController();
    let down = true;
    fake.override = (action) =>
      action === 'list_vpcs_summary' && down ? new Response(null, { status: 503 }) : undefined;
    const c = client(fake, { cacheSeconds: 300 });
    assert.ok((await failure(c.listSpokes())) instanceof TransientError);
    down = false;
    assert.equal((await c.listSpokes()).length, 1);
  });

  it('an older read failing after a newer one was cached leaves the newer one cached', async () => {
    const fake = new FakeController();
    let now = 0;
    const c = client(fake, { cacheSeconds: 60, now: () => now });
    await c.listSpokes();
    let release: ((r: Response) => void) | undefined;
    fake.override = (action) =>
      action === 'list_vpcs_summary' && !release
        ? new Promise<Response>((resolve) => {
            release = resolve;
          })
        : undefined;
    now = 61_000;
    const older = c.listSpokes();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(release, 'the older read is in flight');
    now = 122_000;
    await c.listSpokes();
    release?.(new Response(null, { status: 503 }));
    await assert.rejects(older, TransientError);
    const reads = fake.count('list_vpcs_summary');
    now = 122_001;
    await c.listSpokes();
    assert.equal(fake.count('list_vpcs_summary'), reads);
  });
});

describe('Aviatrix client: overlapping reads', () => {
  const settle = async (done: () => boolean) => {
    for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(done());
  };

  it('two overlapping reads that both fail, the newer first: nothing cached, no unhandled rejection (it would end the instance)', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const fake = new FakeController();
      let now = 0;
      const c = client(fake, { cacheSeconds: 60, now: () => now });
      const pending: Array<(r: Response) => void> = [];
      fake.override = (action) =>
        action === 'list_vpcs_summary'
          ? new Promise<Response>((resolve) => pending.push(resolve))
          : undefined;
      const older = c.listSpokes();
      await settle(() => pending.length === 1);
      now = 61_000;
      const newer = c.listSpokes();
      await settle(() => pending.length === 2);
      pending[1](new Response(null, { status: 503 }));
      await assert.rejects(newer, TransientError);
      pending[0](new Response(null, { status: 503 }));
      await assert.rejects(older, TransientError);
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(unhandled, []);
      fake.override = undefined;
      assert.equal((await c.listSpokes()).length, 1);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});

describe('Aviatrix client: the session', () => {
  it('no API token: permanent, and the password is never sent', async () => {
    for (const results of [{}, { api_token: '' }, undefined]) {
      const fake = new FakeController();
      fake.override = (action) => (action === 'get_api_token' ? json({ return: true, results }) : undefined);
      const error = await failure(client(fake).listSpokes());
      assert.ok(error instanceof PermanentError);
      assert.equal(error.message, 'Aviatrix get_api_token returned no token');
      assert.equal(error.reason, 'aviatrix-api');
      assert.deepEqual(fake.calls, ['get_api_token'], JSON.stringify(results));
    }
  });

  it('a login answered without a session id: permanent, nothing else is called', async () => {
    for (const CID of [undefined, '', 7]) {
      const fake = new FakeController();
      fake.override = (action) => (action === 'login' ? json({ return: true, CID }) : undefined);
      const error = await failure(client(fake).listSpokes());
      assert.ok(error instanceof PermanentError);
      assert.equal(error.message, 'Aviatrix login returned no CID');
      assert.equal(error.reason, 'aviatrix-login');
      assert.deepEqual(fake.calls, ['get_api_token', 'login'], String(CID));
    }
  });

  it('a login that failed is not kept: the next call logs in afresh', async () => {
    const fake = new FakeController();
    let down = true;
    fake.override = (action) =>
      action === 'get_api_token' && down ? new Response(null, { status: 503 }) : undefined;
    const c = client(fake);
    assert.ok((await failure(c.getGateway('spoke100-gw'))) instanceof TransientError);
    down = false;
    assert.equal((await c.getGateway('spoke100-gw'))?.name, 'spoke100-gw');
    assert.equal(fake.count('login'), 1);
  });

  it('a session that expires again right after logging in: transient after one re-login, not a loop', async () => {
    const fake = new FakeController();
    fake.override = (action) =>
      action === 'list_vpcs_summary'
        ? json({ return: false, reason: 'Invalid session. Please login again.' })
        : undefined;
    const error = await failure(client(fake).getGateway('spoke100-gw'));
    assert.ok(error instanceof TransientError);
    assert.equal(error.reason, 'aviatrix-session');
    assert.match(
      error.message,
      /^Aviatrix list_vpcs_summary: the session expired again right after logging in$/,
    );
    assert.equal(fake.count('login'), 2);
    assert.equal(fake.count('list_vpcs_summary'), 2);
  });

  it('concurrent calls that find the session expired share one new login', async () => {
    const fake = new FakeController();
    const c = client(fake);
    await c.getGateway('spoke100-gw');
    fake.expireSessions();
    const [a, b] = await Promise.all([c.getGateway('spoke100-gw'), c.getGateway('spoke100-gw')]);
    assert.equal(a?.name, 'spoke100-gw');
    assert.equal(b?.name, 'spoke100-gw');
    assert.equal(fake.count('login'), 2);
  });

  it('the API token and the session id are scrubbed from a reason the Controller echoes them in', async () => {
    const fake = new FakeController();
    fake.override = (action, params) =>
      action === 'edit_gateway_advertised_cidr'
        ? json({ return: false, reason: `refused for ${params.get('CID')} (token ${fake.token})` })
        : undefined;
    const error = await failure(client(fake).setIncludedCidrs('spoke100-gw', ['10.4.0.0/14']));
    assert.equal(error.message, 'Aviatrix edit_gateway_advertised_cidr failed: refused for *** (token ***)');
  });

  it('an empty password does not garble the reason', async () => {
    const fake = new FakeController();
    const error = await failure(client(fake, { password: async () => '' }).listSpokes());
    assert.equal(error.message, 'Aviatrix login failed: Invalid username or password');
  });
});

describe('Aviatrix client: failures classified', () => {
  /** get_api_token (the first call) answered with `response`. */
  const answeredWith = (response: () => Response) => {
    const fake = new FakeController();
    fake.override = (action) => (action === 'get_api_token' ? response() : undefined);
    return failure(client(fake).listSpokes());
  };

  const cases: Array<[string, () => Response, 'transient' | 'permanent', string, RegExp]> = [
    [
      '429',
      () => json({}, 429),
      'transient',
      'aviatrix-unavailable',
      /^Aviatrix Controller answered 429 to get_api_token$/,
    ],
    ['500', () => new Response('oops', { status: 500 }), 'transient', 'aviatrix-unavailable', /answered 500/],
    [
      '503 without a body',
      () => new Response(null, { status: 503 }),
      'transient',
      'aviatrix-unavailable',
      /answered 503/,
    ],
    [
      '404 with a reason',
      () => json({ reason: 'no such API' }, 404),
      'permanent',
      'aviatrix-api',
      /^Aviatrix Controller answered 404 to get_api_token: no such API$/,
    ],
    [
      '403 without a reason',
      () => json({}, 403),
      'permanent',
      'aviatrix-api',
      /^Aviatrix Controller answered 403 to get_api_token$/,
    ],
    [
      '400 (not a redirect)',
      () => json({ return: false }, 400),
      'permanent',
      'aviatrix-api',
      /answered 400 to get_api_token/,
    ],
    [
      '404 with a JSON null',
      () => new Response('null', { status: 404 }),
      'permanent',
      'aviatrix-api',
      /answered 404/,
    ],
    [
      'a 200 that is not JSON',
      () => new Response('<html>', { status: 200 }),
      'permanent',
      'aviatrix-api',
      /^Aviatrix Controller answered get_api_token with non-JSON \(200\)$/,
    ],
    [
      '302 without a body',
      () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example.com/' } }),
      'permanent',
      'aviatrix-redirect',
      /redirect \(302\); redirects are refused/,
    ],
    ['300', () => new Response('', { status: 300 }), 'permanent', 'aviatrix-redirect', /redirect \(300\)/],
    [
      'return false without a reason',
      () => json({ return: false }),
      'permanent',
      'aviatrix-api',
      /^Aviatrix get_api_token failed: no reason given$/,
    ],
    [
      'gateway is down',
      () => json({ return: false, reason: 'Gateway spoke100-gw: gateway is down' }),
      'transient',
      'aviatrix-gateway-down',
      /^Aviatrix get_api_token failed: Gateway spoke100-gw: gateway is down$/,
    ],
  ];
  for (const [name, response, errorClass, reason, message] of cases) {
    it(`${name}: ${errorClass} (${reason})`, async () => {
      const error = await answeredWith(response);
      assert.equal(error.errorClass, errorClass);
      assert.equal(error.reason, reason);
      assert.match(error.message, message);
    });
  }

  it('a long reason is cut to 300 characters, after scrubbing', async () => {
    for (const status of [200, 400]) {
      const error = await answeredWith(() => json({ return: false, reason: 'z'.repeat(1000) }, status));
      assert.equal(error.message.match(/z+/)?.[0].length, 300, String(status));
    }
  });

  const transport: Array<[string, unknown, 'transient' | 'permanent', string]> = [
    [
      'ECONNREFUSED',
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
      'transient',
      'Aviatrix Controller get_api_token: ECONNREFUSED',
    ],
    [
      'a code on the error itself',
      Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }),
      'transient',
      'Aviatrix Controller get_api_token: UND_ERR_SOCKET',
    ],
    [
      'a named cause without a code',
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { name: 'SocketError' }) }),
      'transient',
      'Aviatrix Controller get_api_token: SocketError',
    ],
    [
      'a cause with an empty or numeric code',
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: '' }) }),
      'transient',
      'Aviatrix Controller get_api_token: connection failed',
    ],
    [
      'a numeric code',
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 7 }) }),
      'transient',
      'Aviatrix Controller get_api_token: connection failed',
    ],
    [
      'a bare TypeError',
      new TypeError('fetch failed'),
      'transient',
      'Aviatrix Controller get_api_token: connection failed',
    ],
    ['a bare Error', new Error('boom'), 'transient', 'Aviatrix Controller get_api_token: connection failed'],
    [
      'an expired certificate',
      new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }) }),
      'permanent',
      'Aviatrix Controller get_api_token: TLS verification failed (CERT_HAS_EXPIRED)',
    ],
  ];
  for (const [name, thrown, errorClass, message] of transport) {
    it(`transport failure, ${name}: ${errorClass}, named in the message`, async () => {
      const error = await failure(
        client(new FakeController(), {
          fetch: (async () => Promise.reject(thrown)) as typeof fetch,
        }).listSpokes(),
      );
      assert.equal(error.errorClass, errorClass);
      assert.equal(error.reason, errorClass === 'permanent' ? 'aviatrix-tls' : 'aviatrix-unavailable');
      assert.equal(error.message, message);
    });
  }

  /** A Controller that accepts the connection and never answers. */
  const hang = (async (_: unknown, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
    })) as typeof fetch;

  for (const cap of [{ callCapMs: 50 }, { timeoutMs: 50 }]) {
    it(`a Controller that never answers: a call timeout naming the call (${Object.keys(cap)[0]})`, async () => {
      const started = performance.now();
      const error = await failure(client(new FakeController(), { fetch: hang, ...cap }).listSpokes());
      assert.ok(error instanceof CallTimeoutError, String(error));
      assert.equal(error.call, 'aviatrix.get_api_token');
      assert.ok(performance.now() - started < 2_000);
    });
  }

  it('a controller URL that is not one, or not https off loopback, is refused before any call', () => {
    for (const controllerUrl of ['not a url', 'ftp://127.0.0.1:8443', 'http://controller.example.com']) {
      const fake = new FakeController();
      assert.throws(
        () => client(fake, { controllerUrl }),
        (error: unknown) => error instanceof PermanentError && error.reason === 'aviatrix-config',
        controllerUrl,
      );
    }
    assert.throws(() => client(new FakeController(), { controllerUrl: 'not a url' }), /is not a URL/);
  });
});
