/**
 * Aviatrix Controller stand-in (the three v2 API actions Spokefleet calls) and a Secret Manager `access` route for
 * the password, on one loopback server. Answers the way the Controller does: HTTP 200 with `return: false` and a
 * `reason` on failure.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface AviatrixVpc {
  vpc_id: string;
  cloud_type: number;
  account_name?: string;
}

export interface AviatrixStandIn {
  url: string;
  /** `projects/P/secrets/S/versions/V` holding the password. */
  secretName: string;
  vpcs: AviatrixVpc[];
  calls: string[];
  close(): Promise<void>;
}

export async function startAviatrix(options: {
  username: string;
  password: string;
  vpcs: AviatrixVpc[];
  secretName?: string;
}): Promise<AviatrixStandIn> {
  const apiTokens = new Set<string>();
  const sessions = new Set<string>();
  const calls: string[] = [];
  const secretName =
    options.secretName ?? 'projects/spokefleet-demo/secrets/aviatrix-password/versions/latest';
  const state = { vpcs: options.vpcs };

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

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://aviatrix');
    if (req.method === 'GET' && url.pathname === `/v1/${secretName}:access`) {
      calls.push('secretmanager.access');
      return answer(res, {
        name: secretName,
        payload: { data: Buffer.from(options.password).toString('base64') },
      });
    }
    if (url.pathname !== '/v2/api') return answer(res, { error: 'not found' }, 404);
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const action = params.get('action') ?? '';
    calls.push(action);
    if (action === 'get_api_token') {
      const token = randomBytes(8).toString('hex');
      apiTokens.add(token);
      return answer(res, { return: true, results: { api_token: token } });
    }
    if (action === 'login') {
      if (!apiTokens.has(String(req.headers['x-access-key'])))
        return answer(res, { return: false, reason: 'Invalid API token' });
      if (params.get('username') !== options.username || params.get('password') !== options.password) {
        return answer(res, { return: false, reason: 'Invalid username or password' });
      }
      const cid = randomBytes(8).toString('hex');
      sessions.add(cid);
      return answer(res, { return: true, CID: cid, results: 'User login: ok' });
    }
    if (action === 'list_vpcs_summary') {
      if (!sessions.has(params.get('CID') ?? ''))
        return answer(res, { return: false, reason: 'CID is invalid or expired.' });
      return answer(res, { return: true, results: state.vpcs });
    }
    return answer(res, { return: false, reason: `Valid action required: ${action}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    secretName,
    get vpcs() {
      return state.vpcs;
    },
    set vpcs(value) {
      state.vpcs = value;
    },
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
