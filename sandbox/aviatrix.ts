/**
 * Aviatrix Controller stand-in: the v2 API actions Spokefleet calls, answered the way the official Terraform
 * provider's client expects them (goaviatrix/client.go and gateway.go; every rule is listed with its source in
 * docs/local-cloud.md), plus a Secret Manager `access` route for the password, on one loopback server.
 *
 * - `get_api_token` → `{results: {api_token}}`; `login` (POST, header `X-Access-Key`) → `{CID}`.
 * - `list_vpcs_summary` (with `spoke_only=true`, or `gateway_name=GW`) → `results[]` with the gateway name in
 *   `vpc_name`, GCP `vpc_id` `<vpc>~-~<project>`, `vpc_region`, `global_vpc` and the `include_cidr_list`.
 * - `edit_gateway_advertised_cidr` (POST `gateway_name`, `cidr` comma-joined) replaces the include list.
 * - Failures are HTTP 200 with `return: false` and a `reason`; an expired session answers "Invalid session.
 *   Please login again.", an unknown one "CID is invalid or expired." (the phrases the provider re-logs in on).
 *
 * Test hooks: session expiry (`sessionTtlMs`, `expireSessions`), scripted failures (`failNext`, e.g. the
 * "gateway is down" the provider retries), added latency per call (so concurrent writers interleave as they do
 * against a real Controller), a redirect mode, and HTTPS with a self-signed certificate.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { certificate } from './kube/server';

/** One `list_vpcs_summary` result: a VPC with its spoke gateway. */
export interface AviatrixVpc {
  vpc_id: string;
  cloud_type: number;
  account_name?: string;
  /** The gateway's name (`vpc_name` in the API); required for the gateway actions. */
  vpc_name?: string;
  /** The gateway's region, `vpc_region`. */
  vpc_region?: string;
  global_vpc?: boolean;
  /** "Customize Spoke Advertised VPC CIDRs"; empty = the VPC's default advertisement. */
  include_cidr_list?: string[];
}

export interface AviatrixStandIn {
  url: string;
  /** `projects/P/secrets/S/versions/V` holding the password. */
  secretName: string;
  vpcs: AviatrixVpc[];
  /** Actions (and `secretmanager.access`) in the order they were received. */
  calls: string[];
  /** Every accepted `edit_gateway_advertised_cidr`, in order. */
  edits: Array<{ gateway: string; cidrs: string[] }>;
  /** Base64 PEM of the server certificate with `tls`; '' otherwise. */
  caCertificate: string;
  /** The gateway's current include list (a copy), or undefined for an unknown gateway. */
  includeList(gateway: string): string[] | undefined;
  /** Answers the next `times` calls of `action` with `return: false` and `reason`. */
  failNext(action: string, reason: string, times?: number): void;
  /** Ends every session now, as the Controller's session timeout does. */
  expireSessions(): void;
  close(): Promise<void>;
}

export interface AviatrixOptions {
  username: string;
  password: string;
  vpcs: AviatrixVpc[];
  secretName?: string;
  /** Sessions end this long after login; default never. */
  sessionTtlMs?: number;
  /** Added before `list_vpcs_summary` and `edit_gateway_advertised_cidr` are answered. */
  latencyMs?: number;
  /** Answer every API call with a 307 to this URL instead (redirect refusal tests). */
  redirectTo?: string;
  /** Serve HTTPS with a self-signed certificate. */
  tls?: boolean;
}

export const INVALID_SESSION = 'Invalid session. Please login again.';
export const INVALID_CID = 'CID is invalid or expired.';

export async function startAviatrix(options: AviatrixOptions): Promise<AviatrixStandIn> {
  const apiTokens = new Set<string>();
  const sessions = new Map<string, number>();
  const calls: string[] = [];
  const edits: Array<{ gateway: string; cidrs: string[] }> = [];
  const failures = new Map<string, Array<string>>();
  const secretName =
    options.secretName ?? 'projects/spokefleet-demo/secrets/aviatrix-password/versions/latest';
  const state = { vpcs: options.vpcs };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const answer = (res: ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (chunk) => {
        text += chunk;
      });
      req.on('end', () => resolve(text));
    });
  const gatewayNamed = (name: string) => state.vpcs.find((v) => v.vpc_name === name);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://aviatrix');
    if (req.method === 'GET' && url.pathname === `/v1/${secretName}:access`) {
      calls.push('secretmanager.access');
      return answer(res, {
        name: secretName,
        payload: { data: Buffer.from(options.password).toString('base64') },
      });
    }
    if (url.pathname !== '/v2/api') return answer(res, { error: 'not found' }, 404);
    if (options.redirectTo) {
      calls.push('redirect');
      res.writeHead(307, { location: options.redirectTo });
      return res.end();
    }
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const action = params.get('action') ?? '';
    calls.push(action);
    const scripted = failures.get(action);
    if (scripted?.length) return answer(res, { return: false, reason: scripted.shift() });
    if (action === 'get_api_token') {
      const token = randomBytes(8).toString('hex');
      apiTokens.add(token);
      return answer(res, { return: true, results: { api_token: token } });
    }
    if (action === 'login') {
      if (req.method !== 'POST' || !apiTokens.has(String(req.headers['x-access-key'])))
        return answer(res, { return: false, reason: 'Invalid API token' });
      if (params.get('username') !== options.username || params.get('password') !== options.password) {
        return answer(res, { return: false, reason: 'Invalid username or password' });
      }
      const cid = randomBytes(8).toString('hex');
      sessions.set(cid, Date.now() + (options.sessionTtlMs ?? Number.POSITIVE_INFINITY));
      return answer(res, { return: true, CID: cid, results: 'User login: ok' });
    }
    const cid = params.get('CID') ?? '';
    const expires = sessions.get(cid);
    if (expires === undefined) return answer(res, { return: false, reason: INVALID_CID });
    if (expires <= Date.now()) {
      sessions.delete(cid);
      return answer(res, { return: false, reason: INVALID_SESSION });
    }
    if (action === 'list_vpcs_summary') {
      if (options.latencyMs) await sleep(options.latencyMs);
      const name = params.get('gateway_name');
      const results = name ? state.vpcs.filter((v) => v.vpc_name === name) : state.vpcs;
      return answer(res, { return: true, results: structuredClone(results) });
    }
    if (action === 'edit_gateway_advertised_cidr') {
      if (req.method !== 'POST')
        return answer(res, { return: false, reason: `Valid action required: ${action}` });
      if (options.latencyMs) await sleep(options.latencyMs);
      const name = params.get('gateway_name') ?? '';
      const gateway = gatewayNamed(name);
      if (!gateway) return answer(res, { return: false, reason: `Gateway ${name} does not exist.` });
      // The provider sends "" to clear the list (resource_aviatrix_edge_gateway_selfmanaged.go): empty items go.
      const cidrs = (params.get('cidr') ?? '')
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      gateway.include_cidr_list = cidrs;
      edits.push({ gateway: name, cidrs: [...cidrs] });
      return answer(res, { return: true, results: `Advertised CIDRs of ${name} updated.` });
    }
    return answer(res, { return: false, reason: `Valid action required: ${action}` });
  };

  let caCertificate = '';
  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  let server: ReturnType<typeof createServer>;
  if (options.tls) {
    const { key, cert } = await certificate();
    caCertificate = Buffer.from(cert).toString('base64');
    server = createHttpsServer({ key, cert }, listener);
  } else {
    server = createServer(listener);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    secretName,
    get vpcs() {
      return state.vpcs;
    },
    set vpcs(value) {
      state.vpcs = value;
    },
    calls,
    edits,
    caCertificate,
    includeList: (gateway) => {
      const found = gatewayNamed(gateway);
      return found ? [...(found.include_cidr_list ?? [])] : undefined;
    },
    failNext(action, reason, times = 1) {
      failures.set(action, [...(failures.get(action) ?? []), ...Array.from({ length: times }, () => reason)]);
    },
    expireSessions() {
      for (const cid of sessions.keys()) sessions.set(cid, 0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
