/**
 * Optional spoke discovery from the Aviatrix Controller (config `aviatrix`), in addition to the configured spokes.
 * The Controller's v2 API: `get_api_token` → `login` (with the token as `X-Access-Key`) → a session `CID` →
 * `list_vpcs_summary&spoke_only=true`. GCP VPCs appear with `vpc_id` = `<vpc>~-~<project>`. Results are cached per
 * instance for `cacheSeconds`, so a fleet reconcile asks once, not once per cluster.
 */
import { DEFAULT_CALL_CAP_MS, timedCall } from '../calls';
import { PermanentError, TransientError } from '../errors';
import type { KnownSpoke } from './spokes';

export interface SpokeDirectory {
  listSpokes(): Promise<KnownSpoke[]>;
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
}

interface ApiAnswer {
  return?: boolean;
  reason?: string;
  CID?: string;
  results?: unknown;
}

/** `gcp-spoke100-us-east4~-~my-project` → `{network, project}`; other clouds' ids → undefined. */
export function parseGcpVpcId(vpcId: unknown): KnownSpoke | undefined {
  if (typeof vpcId !== 'string') return undefined;
  const match = /^([a-z]([-a-z0-9]{0,61}[a-z0-9])?)~-~([a-z][a-z0-9-]{4,28}[a-z0-9])$/.exec(vpcId);
  return match ? { network: match[1], project: match[3] } : undefined;
}

export class AviatrixController implements SpokeDirectory {
  private cached?: { at: number; spokes: Promise<KnownSpoke[]> };

  constructor(private readonly options: AviatrixOptions) {}

  listSpokes(): Promise<KnownSpoke[]> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < this.options.cacheSeconds * 1000) return this.cached.spokes;
    const spokes = this.fetchSpokes();
    this.cached = { at: now, spokes };
    spokes.catch(() => {
      if (this.cached?.spokes === spokes) this.cached = undefined;
    });
    return spokes;
  }

  private async fetchSpokes(): Promise<KnownSpoke[]> {
    const token = await this.call('GET', { action: 'get_api_token' });
    const apiToken = (token.results as { api_token?: unknown } | undefined)?.api_token;
    if (typeof apiToken !== 'string')
      throw new PermanentError('Aviatrix get_api_token returned no token', 'aviatrix-api');
    const login = await this.call(
      'POST',
      { action: 'login', username: this.options.username, password: await this.options.password() },
      { 'X-Access-Key': apiToken },
    );
    if (typeof login.CID !== 'string')
      throw new PermanentError('Aviatrix login returned no CID', 'aviatrix-login');
    const list = await this.call('GET', { action: 'list_vpcs_summary', CID: login.CID, spoke_only: 'true' });
    const results = Array.isArray(list.results) ? list.results : [];
    return results.flatMap((vpc) => {
      const parsed = parseGcpVpcId((vpc as { vpc_id?: unknown }).vpc_id);
      return parsed ? [parsed] : [];
    });
  }

  private async call(
    method: 'GET' | 'POST',
    params: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const url = new URL('/v2/api', this.options.controllerUrl);
    const init: RequestInit = { method, headers: { ...headers } };
    if (method === 'GET') {
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    } else {
      init.body = new URLSearchParams(params);
    }
    // The answer and its body within min(time left, cap): a Controller that stops answering cannot hold the event.
    const { response, body } = await timedCall(
      `aviatrix.${params.action}`,
      this.options.callCapMs ?? DEFAULT_CALL_CAP_MS,
      async (timeoutMs) => {
        const answered = await (this.options.fetch ?? fetch)(url, {
          ...init,
          signal: AbortSignal.timeout(timeoutMs),
        });
        return { response: answered, body: await answered.text() };
      },
    );
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(
        `Aviatrix Controller answered ${response.status} to ${params.action}`,
        'aviatrix-unavailable',
      );
    }
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(body) as ApiAnswer;
    } catch {
      throw new PermanentError(
        `Aviatrix Controller answered ${params.action} with non-JSON (${response.status})`,
        'aviatrix-api',
      );
    }
    if (!response.ok || answer.return !== true) {
      // The reason never includes what we sent (no password echo), but keep it short anyway.
      const reason = String(answer.reason ?? response.status).slice(0, 200);
      throw new PermanentError(`Aviatrix ${params.action} failed: ${reason}`, 'aviatrix-api');
    }
    return answer;
  }
}
