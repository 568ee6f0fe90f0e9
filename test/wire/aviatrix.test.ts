import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AviatrixStandIn, startAviatrix } from '../../sandbox/aviatrix';
import { secretReader } from '../../shared/cloud/secrets';
import { parseConfig } from '../../shared/config';
import { PermanentError, TransientError } from '../../shared/errors';
import { AviatrixController, parseGcpVpcId } from '../../shared/policy/aviatrix';

describe('wire: Aviatrix Controller look-up', () => {
  let controller: AviatrixStandIn;
  before(async () => {
    controller = await startAviatrix({
      username: 'spokefleet',
      password: 's3cret-pw',
      vpcs: [
        { vpc_id: 'gcp-spoke300-us-east4~-~spokefleet-demo', cloud_type: 4 },
        { vpc_id: 'vpc-0abc123', cloud_type: 1 },
        { vpc_id: 'spoke-vnet:rg:sub', cloud_type: 8 },
      ],
    });
  });
  after(() => controller.close());

  const config = () =>
    parseConfig({
      fleetProject: 'spokefleet-demo',
      projects: ['spokefleet-demo'],
      spokes: [{ network: 'gcp-spoke100-us-east4' }],
      aviatrix: {
        controllerUrl: controller.url,
        username: 'spokefleet',
        passwordSecret: controller.secretName,
      },
      endpoints: { secretmanager: controller.url },
    });

  it('reads the password from Secret Manager, logs in with the API token, lists GCP spokes only', async () => {
    const read = secretReader(config());
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 300,
      password: () => read(controller.secretName),
    });
    controller.calls.length = 0;
    assert.deepEqual(await directory.listSpokes(), [
      { network: 'gcp-spoke300-us-east4', project: 'spokefleet-demo' },
    ]);
    assert.deepEqual(controller.calls, [
      'get_api_token',
      'secretmanager.access',
      'login',
      'list_vpcs_summary',
    ]);
  });

  it('caches the list for cacheSeconds', async () => {
    let now = 0;
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 60,
      password: async () => 's3cret-pw',
      now: () => now,
    });
    controller.calls.length = 0;
    await directory.listSpokes();
    await directory.listSpokes();
    now = 61_000;
    await directory.listSpokes();
    assert.equal(controller.calls.filter((c) => c === 'list_vpcs_summary').length, 2);
  });

  it('a wrong password is a permanent error naming the Controller reason, never the password', async () => {
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 60,
      password: async () => 'wrong-pw',
    });
    await assert.rejects(directory.listSpokes(), (error: unknown) => {
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, /Invalid username or password/);
      assert.doesNotMatch(error.message, /wrong-pw/);
      return true;
    });
  });

  const ids: Array<[unknown, ReturnType<typeof parseGcpVpcId>]> = [
    ['gcp-spoke100-us-east4~-~my-project-1', { network: 'gcp-spoke100-us-east4', project: 'my-project-1' }],
    ['vpc-0abc123', undefined],
    ['a~-~b', undefined],
    ['Bad_Name~-~my-project-1', undefined],
    [42, undefined],
  ];
  for (const [id, expected] of ids) {
    it(`parses vpc_id ${JSON.stringify(id)}`, () => assert.deepEqual(parseGcpVpcId(id), expected));
  }
});

describe('wire: Aviatrix Controller safety (redirects, https, TLS, secrets)', () => {
  const PASSWORD = 'planted-pw-7f3a';
  let controller: AviatrixStandIn;
  afterEach(() => controller?.close());

  /** A server on another loopback host name that records whatever reaches it. */
  async function capture(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ return: true, results: { api_token: 'tok' }, CID: 'cid' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://localhost:${port}/v2/api`,
      seen,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  it('a redirect to another host is refused: nothing reaches it, the error is permanent and names no secret', async () => {
    const elsewhere = await capture();
    try {
      controller = await startAviatrix({
        username: 'spokefleet',
        password: PASSWORD,
        vpcs: [],
        redirectTo: elsewhere.url,
      });
      const client = new AviatrixController({
        controllerUrl: controller.url,
        username: 'spokefleet',
        cacheSeconds: 0,
        password: async () => PASSWORD,
      });
      await assert.rejects(client.listSpokes(), (error: unknown) => {
        assert.ok(error instanceof PermanentError, String(error));
        assert.match(error.message, /redirect \(307\); redirects are refused/);
        assert.doesNotMatch(error.message, new RegExp(PASSWORD));
        return true;
      });
      assert.deepEqual(elsewhere.seen, []);
      assert.deepEqual(controller.calls, ['redirect']);
    } finally {
      await elsewhere.close();
    }
  });

  const urls: Array<[string, boolean]> = [
    ['https://controller.example.com', true],
    ['http://127.0.0.1:8443', true],
    ['http://localhost:8443', true],
    ['http://controller.example.com', false],
    ['http://10.0.0.5', false],
    ['ftp://controller.example.com', false],
  ];
  for (const [url, ok] of urls) {
    it(`controller URL ${url}: ${ok ? 'accepted' : 'refused before any call'}`, () => {
      const make = () =>
        new AviatrixController({
          controllerUrl: url,
          username: 'u',
          cacheSeconds: 0,
          password: async () => PASSWORD,
        });
      if (ok) make();
      else assert.throws(make, /must use https \(plain http only on loopback\)/);
    });
  }

  it('TLS is verified: a certificate the system does not trust is a permanent error, and no action is sent', async () => {
    controller = await startAviatrix({ username: 'spokefleet', password: PASSWORD, vpcs: [], tls: true });
    assert.match(controller.url, /^https:/);
    const client = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 0,
      password: async () => PASSWORD,
    });
    await assert.rejects(client.listSpokes(), (error: unknown) => {
      assert.ok(error instanceof PermanentError, String(error));
      assert.match(
        error.message,
        /TLS verification failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
      );
      return true;
    });
    assert.deepEqual(controller.calls, []);
  });

  it('a Controller reason that echoes the password, API token or session id is scrubbed', async () => {
    controller = await startAviatrix({ username: 'spokefleet', password: PASSWORD, vpcs: [] });
    controller.failNext('login', `Login failed for spokefleet with password ${PASSWORD}`);
    const client = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 0,
      password: async () => PASSWORD,
    });
    await assert.rejects(client.listSpokes(), (error: unknown) => {
      assert.ok(error instanceof PermanentError);
      assert.equal(error.message, 'Aviatrix login failed: Login failed for spokefleet with password ***');
      return true;
    });
  });
});

describe('wire: Aviatrix spoke gateways (the advertise half)', () => {
  const PASSWORD = 's3cret-pw';
  let controller: AviatrixStandIn;
  const gateways = () => [
    {
      vpc_id: 'gcp-spoke100-us-east4~-~spokefleet-demo',
      cloud_type: 4,
      vpc_name: 'spoke100-gw',
      vpc_region: 'us-east4',
      global_vpc: false,
      include_cidr_list: ['192.168.100.0/24'],
    },
    { vpc_id: 'vpc-0abc123', cloud_type: 1, vpc_name: 'aws-spoke-gw' },
  ];
  const client = (cacheSeconds = 0) =>
    new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds,
      password: async () => PASSWORD,
    });
  beforeEach(async () => {
    controller = await startAviatrix({ username: 'spokefleet', password: PASSWORD, vpcs: gateways() });
  });
  afterEach(() => controller.close());

  it('lists the GCP spoke gateways of a VPC and reads one by name (list_vpcs_summary)', async () => {
    const c = client();
    const vpc = { project: 'spokefleet-demo', network: 'gcp-spoke100-us-east4' };
    const expected = {
      name: 'spoke100-gw',
      vpc,
      region: 'us-east4',
      globalVpc: false,
      includeCidrs: ['192.168.100.0/24'],
    };
    assert.deepEqual(await c.listGateways(vpc), [expected]);
    assert.deepEqual(await c.listGateways({ project: 'spokefleet-demo', network: 'other' }), []);
    assert.deepEqual(await c.getGateway('spoke100-gw'), expected);
    assert.equal(await c.getGateway('nope'), undefined);
  });

  it('edit_gateway_advertised_cidr replaces the include list with the comma-joined CIDRs', async () => {
    const c = client();
    await c.setIncludedCidrs('spoke100-gw', ['192.168.100.0/24', '10.4.0.0/14']);
    assert.deepEqual(controller.includeList('spoke100-gw'), ['192.168.100.0/24', '10.4.0.0/14']);
    assert.deepEqual((await c.getGateway('spoke100-gw'))?.includeCidrs, ['192.168.100.0/24', '10.4.0.0/14']);
  });

  it('one login for many calls; an expired session logs in again and the call succeeds', async () => {
    const c = client();
    await c.getGateway('spoke100-gw');
    await c.getGateway('spoke100-gw');
    assert.equal(controller.calls.filter((a) => a === 'login').length, 1);
    controller.expireSessions();
    assert.equal((await c.getGateway('spoke100-gw'))?.name, 'spoke100-gw');
    assert.deepEqual(controller.calls.slice(-4), [
      'list_vpcs_summary',
      'get_api_token',
      'login',
      'list_vpcs_summary',
    ]);
  });

  it('a session the Controller no longer knows (CID is invalid) also logs in again', async () => {
    const c = client();
    await c.getGateway('spoke100-gw');
    controller.failNext('list_vpcs_summary', 'CID is invalid or expired.');
    assert.equal((await c.getGateway('spoke100-gw'))?.name, 'spoke100-gw');
    assert.equal(controller.calls.filter((a) => a === 'login').length, 2);
  });

  for (const reason of [
    'Gateway spoke100-gw: gateway is down',
    'spoke100-gw-hagw: hagw is down',
    'Cannot edit the gateway when it is down',
  ]) {
    it(`"${reason}" is transient (the provider retries it)`, async () => {
      controller.failNext('edit_gateway_advertised_cidr', reason);
      await assert.rejects(client().setIncludedCidrs('spoke100-gw', ['10.4.0.0/14']), (error: unknown) => {
        assert.ok(error instanceof TransientError, String(error));
        return true;
      });
      assert.deepEqual(controller.includeList('spoke100-gw'), ['192.168.100.0/24']);
    });
  }

  it('any other refusal is permanent', async () => {
    await assert.rejects(client().setIncludedCidrs('nope', ['10.4.0.0/14']), (error: unknown) => {
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, /Gateway nope does not exist/);
      return true;
    });
  });
});
