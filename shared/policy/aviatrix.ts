/**
 * The Aviatrix Controller's v2 API, called the way the official Terraform provider's client does
 * (AviatrixSystems/terraform-provider-aviatrix, goaviatrix/client.go and gateway.go): `get_api_token` →
 * `login` (username, password, the token as header `X-Access-Key`) → a session `CID` sent with every call;
 * a call answered "CID is invalid" or "Invalid session. Please login again." logs in again and is repeated once.
 *
 * Two uses: spoke discovery (`list_vpcs_summary&spoke_only=true`; a GCP `vpc_id` is `<vpc>~-~<project>`), cached
 * per instance for `cacheSeconds` so a fleet reconcile asks once; and a spoke gateway's advertised-CIDR include
 * list (`list_vpcs_summary&gateway_name=GW` → `include_cidr_list`; `edit_gateway_advertised_cidr`), never cached.
 *
 * Unlike the provider (which turns TLS verification off by default), certificates are verified, redirects are
 * refused (a redirect would carry the password or the session elsewhere), only https is used (plain http only on
 * loopback, for the local stand-in), and no password, API token or session id appears in an error message.
 */
import { CallTimeoutError, DEFAULT_CALL_CAP_MS, timedCall } from '../calls';
import { isLoopbackUrl } from '../config';
import { PermanentError, TransientError } from '../errors';
import { GCP_VPC_ID } from '../validators';
import type { KnownSpoke } from './spokes';

export interface SpokeDirectory {
  listSpokes(): Promise<KnownSpoke[]>;
}

/** A spoke gateway as `list_vpcs_summary` reports it (the fields Spokefleet reads). */
export interface SpokeGateway {
  /** `vpc_name`: the gateway's name, which every gateway action takes as `gateway_name`. */
  name: string;
  /** `vpc_id` of a GCP gateway, parsed. */
  vpc: KnownSpoke;
  /** `vpc_region`, when reported. */
  region?: string;
  /** `global_vpc`: with GCP Global VPC on, a spoke advertises only its own region's subnets. */
  globalVpc: boolean;
  /** `include_cidr_list`: "Customize Spoke Advertised VPC CIDRs"; empty = the default advertisement. */
  includeCidrs: string[];
}

/** The spoke-gateway half of the Controller, as the advertise step uses it. */
export interface GatewayAdvertiser {
  /** The GCP spoke gateways of a VPC (from the spoke list, cached like listSpokes). */
  listGateways(vpc: KnownSpoke): Promise<SpokeGateway[]>;
  /** A fresh read of one gateway; undefined when the Controller does not report it. */
  getGateway(name: string): Promise<SpokeGateway | undefined>;
  /** Replaces the gateway's include list (`edit_gateway_advertised_cidr`). */
  setIncludedCidrs(name: string, cidrs: readonly string[]): Promise<void>;
}

export interface AviatrixOptions {
  controllerUrl: string;
  username: string;
  password: () => Promise<string>;
  cacheSeconds: number;
  /** Per-call cap (config `callTimeoutSeconds`); each call gets min(this, the time left in the invocation). */
  callCapMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Per HTTP call; default 15 s. */
  timeoutMs?: number;
}

interface ApiAnswer {
  return?: boolean;
  reason?: string;
  CID?: string;
  results?: unknown;
}

/** The provider's re-login condition (client.go RequestContext): a substring of `reason`. */
const SESSION_EXPIRED = /CID is invalid|Invalid session\. Please login again\./;

/**
 * Reasons the provider retries when it edits a spoke gateway's routes (resource_aviatrix_spoke_gateway.go: it
 * sleeps and tries again while the error contains one of these): the gateway is not ready yet.
 */
const GATEWAY_NOT_READY = /when it is down|hagw is down|gateway is down/;

/** Node/undici certificate failures: a misconfiguration, never fixed by trying again. */
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME_MISMATCH|ERR_SSL/;

/** `gcp-spoke100-us-east4~-~my-project` → `{network, project}`; other clouds' ids → undefined. */
export function parseGcpVpcId(vpcId: unknown): KnownSpoke | undefined {
  if (typeof vpcId !== 'string') return undefined;
  const match = GCP_VPC_ID.exec(vpcId);
  return match ? { network: match[1], project: match[3] } : undefined;
}

/** One `list_vpcs_summary` result → a GCP spoke gateway, or undefined for other clouds and odd shapes. */
export function parseSpokeGateway(result: unknown): SpokeGateway | undefined {
  if (!result || typeof result !== 'object') return undefined;
  const r = result as Record<string, unknown>;
  const vpc = parseGcpVpcId(r.vpc_id);
  if (!vpc || typeof r.vpc_name !== 'string' || r.vpc_name === '') return undefined;
  const list = Array.isArray(r.include_cidr_list) ? r.include_cidr_list : [];
  return {
    name: r.vpc_name,
    vpc,
    region: typeof r.vpc_region === 'string' && r.vpc_region ? r.vpc_region : undefined,
    globalVpc: r.global_vpc === true,
    includeCidrs: list
      .filter((c): c is string => typeof c === 'string' && c.trim() !== '')
      .map((c) => c.trim()),
  };
}

/** https, or http on loopback only (the local stand-in). */
function checkControllerUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PermanentError('aviatrix.controllerUrl is not a URL', 'aviatrix-config');
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackUrl(value)) return url;
  throw new PermanentError(
    'aviatrix.controllerUrl must use https (plain http only on loopback)',
    'aviatrix-config',
  );
}

export class AviatrixController implements SpokeDirectory, GatewayAdvertiser {
  private cached?: { at: number; gateways: Promise<unknown[]> };
  private session?: Promise<string>;
  private readonly endpoint: URL;
  /** Values never to show in an error: the password, API tokens and session ids seen so far. */
  private readonly secrets = new Set<string>();

  constructor(private readonly options: AviatrixOptions) {
    this.endpoint = new URL('/v2/api', checkControllerUrl(options.controllerUrl));
  }

  async listSpokes(): Promise<KnownSpoke[]> {
    return (await this.spokeList()).flatMap((vpc) => {
      const parsed = parseGcpVpcId((vpc as { vpc_id?: unknown } | null)?.vpc_id);
      return parsed ? [parsed] : [];
    });
  }

  async listGateways(vpc: KnownSpoke): Promise<SpokeGateway[]> {
    return (await this.spokeList()).flatMap((result) => {
      const gateway = parseSpokeGateway(result);
      return gateway && gateway.vpc.project === vpc.project && gateway.vpc.network === vpc.network
        ? [gateway]
        : [];
    });
  }

  async getGateway(name: string): Promise<SpokeGateway | undefined> {
    const answer = await this.api('GET', { action: 'list_vpcs_summary', gateway_name: name });
    const results = Array.isArray(answer.results) ? answer.results : [];
    // The provider's GetGateway picks the result whose vpc_name is the gateway.
    return results.map(parseSpokeGateway).find((g) => g?.name === name);
  }

  async setIncludedCidrs(name: string, cidrs: readonly string[]): Promise<void> {
    await this.api('POST', {
      action: 'edit_gateway_advertised_cidr',
      gateway_name: name,
      cidr: cidrs.join(','),
    });
  }

  /** `list_vpcs_summary&spoke_only=true`, cached for cacheSeconds; a failed read is not cached. */
  private spokeList(): Promise<unknown[]> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < this.options.cacheSeconds * 1000) return this.cached.gateways;
    const gateways = this.api('GET', { action: 'list_vpcs_summary', spoke_only: 'true' }).then((answer) =>
      Array.isArray(answer.results) ? answer.results : [],
    );
    this.cached = { at: now, gateways };
    gateways.catch(() => {
      if (this.cached?.gateways === gateways) this.cached = undefined;
    });
    return gateways;
  }

  /** A session id, logging in when there is none; concurrent callers share one login. */
  private cid(): Promise<string> {
    if (!this.session) {
      const session = this.login();
      this.session = session;
      session.catch(() => {
        if (this.session === session) this.session = undefined;
      });
    }
    return this.session;
  }

  private async login(): Promise<string> {
    const token = await this.request('GET', { action: 'get_api_token' });
    this.fail(token, 'get_api_token');
    const apiToken = (token.results as { api_token?: unknown } | undefined)?.api_token;
    if (typeof apiToken !== 'string' || apiToken === '')
      throw new PermanentError('Aviatrix get_api_token returned no token', 'aviatrix-api');
    this.secrets.add(apiToken);
    const password = await this.options.password();
    this.secrets.add(password);
    const login = await this.request(
      'POST',
      { action: 'login', username: this.options.username, password },
      { 'X-Access-Key': apiToken },
    );
    this.fail(login, 'login');
    if (typeof login.CID !== 'string' || login.CID === '')
      throw new PermanentError('Aviatrix login returned no CID', 'aviatrix-login');
    this.secrets.add(login.CID);
    return login.CID;
  }

  /** A call with the session; an expired session logs in again and the call is repeated once. */
  private async api(method: 'GET' | 'POST', params: Record<string, string>): Promise<ApiAnswer> {
    for (let attempt = 1; ; attempt++) {
      const cid = await this.cid();
      const answer = await this.request(method, { ...params, CID: cid });
      const reason = String(answer.reason ?? '');
      if (answer.return !== true && SESSION_EXPIRED.test(reason)) {
        // Forget this session only: a concurrent caller may already have logged in again while this one waited.
        const session = this.session;
        if (session && (await session.catch(() => undefined)) === cid && this.session === session)
          this.session = undefined;
        if (attempt < 2) continue;
        throw new TransientError(
          `Aviatrix ${params.action}: the session expired again right after logging in`,
          'aviatrix-session',
        );
      }
      this.fail(answer, params.action);
      return answer;
    }
  }

  /** Throws the classified error for `return: false`. */
  private fail(answer: ApiAnswer, action: string): void {
    if (answer.return === true) return;
    const reason = this.scrub(String(answer.reason ?? 'no reason given')).slice(0, 300);
    if (GATEWAY_NOT_READY.test(reason))
      throw new TransientError(`Aviatrix ${action} failed: ${reason}`, 'aviatrix-gateway-down');
    throw new PermanentError(`Aviatrix ${action} failed: ${reason}`, 'aviatrix-api');
  }

  /** One HTTP call: no redirects, TLS verified (fetch's default), classified failures with nothing secret. */
  private async request(
    method: 'GET' | 'POST',
    params: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const action = params.action;
    const url = new URL(this.endpoint);
    const init: RequestInit = { method, headers: { ...headers }, redirect: 'manual' };
    if (method === 'GET') {
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    } else {
      init.body = new URLSearchParams(params);
    }
    let response: Response;
    let body: string;
    try {
      // The answer and its body within min(time left, cap): a Controller that stops answering cannot hold the event.
      ({ response, body } = await timedCall(
        `aviatrix.${action}`,
        this.options.callCapMs ?? this.options.timeoutMs ?? DEFAULT_CALL_CAP_MS,
        async (timeoutMs) => {
          const answered = await (this.options.fetch ?? fetch)(url, {
            ...init,
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (isRedirect(answered)) {
            await answered.body?.cancel();
            return { response: answered, body: '' };
          }
          return { response: answered, body: await answered.text() };
        },
      ));
    } catch (error) {
      if (error instanceof CallTimeoutError) throw error;
      // The cause is not attached: transport errors can carry the URL, and the URL can carry the session id.
      const code = transportCode(error);
      if (TLS_FAILURE.test(code))
        throw new PermanentError(
          `Aviatrix Controller ${action}: TLS verification failed (${code})`,
          'aviatrix-tls',
        );
      throw new TransientError(`Aviatrix Controller ${action}: ${code}`, 'aviatrix-unavailable');
    }
    if (isRedirect(response)) {
      throw new PermanentError(
        `Aviatrix Controller answered ${action} with a redirect (${response.status}); redirects are refused`,
        'aviatrix-redirect',
      );
    }
    // The body was read within the call's time (a read body cannot be cancelled: that would throw a TypeError).
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(
        `Aviatrix Controller answered ${response.status} to ${action}`,
        'aviatrix-unavailable',
      );
    }
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(body) as ApiAnswer;
    } catch {
      throw new PermanentError(
        `Aviatrix Controller answered ${action} with non-JSON (${response.status})`,
        'aviatrix-api',
      );
    }
    if (!response.ok) {
      const reason = this.scrub(String(answer?.reason ?? '')).slice(0, 300);
      throw new PermanentError(
        `Aviatrix Controller answered ${response.status} to ${action}${reason ? `: ${reason}` : ''}`,
        'aviatrix-api',
      );
    }
    return answer ?? {};
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (secret) out = out.split(secret).join('***');
    return out;
  }
}

/** `ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`, `TimeoutError`, … from fetch's error or its cause. */
function transportCode(error: unknown): string {
  const e = error as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } };
  for (const candidate of [e?.cause?.code, e?.code, e?.cause?.name, e?.name]) {
    if (typeof candidate === 'string' && candidate && candidate !== 'Error' && candidate !== 'TypeError')
      return candidate;
  }
  return 'connection failed';
}

/** `redirect: 'manual'` gives an opaque redirect in browsers and the 3xx itself in Node's fetch. */
function isRedirect(response: Response): boolean {
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400);
}
