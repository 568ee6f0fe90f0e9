/**
 * The small HTTP/JSON toolkit shared by the REST stand-ins (compute, GKE Hub, Resource Manager): route matching,
 * JSON bodies, Google's JSON error shape, and the mapping from injected faults to wire errors.
 *
 * Google JSON APIs answer errors as `{error: {code, message, status, errors: [{message, domain, reason}]}}`.
 * Both clients read it: gax's REST fallback (compute) takes the gRPC `code` from `status` (or maps the HTTP code
 * when `status` is absent); gaxios (googleapis) takes the message from `errors[].message` and keeps the HTTP code
 * in `status` and `code`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallKind, FaultInjector, FaultKind } from './faults';

/** An answer in Google's JSON error shape; thrown by handlers, written by the server. */
export class GoogleApiError extends Error {
  constructor(
    /** HTTP status code, e.g. 404. */
    readonly httpStatus: number,
    /** Canonical status name (google.rpc.Code), e.g. NOT_FOUND. */
    readonly status: string,
    message: string,
    /** `errors[].reason`, e.g. notFound. */
    readonly reason: string,
    /** google.rpc.Status details (`@type`d Any messages), when the real API sends some. */
    readonly details?: unknown[],
  ) {
    super(message);
  }

  toJSON(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        status: this.status,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export const badRequest = (message: string, reason = 'badRequest') =>
  new GoogleApiError(400, 'INVALID_ARGUMENT', message, reason);
export const notFound = (message: string) => new GoogleApiError(404, 'NOT_FOUND', message, 'notFound');
export const alreadyExists = (message: string) =>
  new GoogleApiError(409, 'ALREADY_EXISTS', message, 'alreadyExists');
export const permissionDenied = (message: string, details?: unknown[]) =>
  new GoogleApiError(403, 'PERMISSION_DENIED', message, 'forbidden', details);

/** What a stand-in answers for an injected fault: a Google JSON error, or 'reset' to drop the connection. */
export type FaultAnswer = GoogleApiError | 'reset';

/** The protocol-neutral fault kinds as Google JSON errors (compute overrides 'peering-in-progress'). */
export function faultAnswer(kind: FaultKind): FaultAnswer {
  switch (kind) {
    case 'unavailable':
      return new GoogleApiError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'backendError');
    case 'rate-limited':
      return new GoogleApiError(
        429,
        'RESOURCE_EXHAUSTED',
        'Quota exceeded (injected fault).',
        'rateLimitExceeded',
      );
    case 'internal':
      return new GoogleApiError(500, 'INTERNAL', 'Internal error encountered.', 'backendError');
    case 'aborted':
    case 'peering-in-progress':
      return new GoogleApiError(409, 'ABORTED', 'The operation was aborted (injected fault).', 'aborted');
    case 'deadline':
      return new GoogleApiError(
        504,
        'DEADLINE_EXCEEDED',
        'Deadline expired before operation could complete.',
        'deadlineExceeded',
      );
    case 'reset':
      return 'reset';
    case 'permission-denied':
      return permissionDenied('The caller does not have permission (injected fault).');
    case 'invalid-argument':
      return badRequest('Request contains an invalid argument (injected fault).', 'invalid');
  }
}

export interface RestRequest {
  method: string;
  /** Path parameters named in the route template, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body, or undefined when there is none. */
  body: unknown;
  /** Aborted when the client goes away before the answer (long polls stop waiting). */
  signal: AbortSignal;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path template; `{name}` matches one path segment, e.g. `/v3/projects/{project}`. */
  path: string;
  /** Method name for fault injection and counters, e.g. `compute.networks.get`. */
  name: string;
  kind: CallKind;
  /** Returns the JSON body of a 200 answer, or throws a GoogleApiError. */
  handle(request: RestRequest): unknown;
}

export interface CompiledRoute extends RestRoute {
  pattern: RegExp;
  keys: string[];
}

export function compileRoute(route: RestRoute): CompiledRoute {
  const keys: string[] = [];
  const source = route.path
    .split(/(\{[A-Za-z]+\})/)
    .map((part) => {
      if (!part.startsWith('{')) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      keys.push(part.slice(1, -1));
      return '([^/]+)';
    })
    .join('');
  return { ...route, pattern: new RegExp(`^${source}$`), keys };
}

/** Finds the route for a method and path and extracts its parameters. */
export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.keys.forEach((key, i) => {
      params[key] = decodeURIComponent(m[i + 1]);
    });
    return { route, params };
  }
  return undefined;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Invalid JSON payload received.', 'parseError');
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export interface RestServerOptions {
  routes: readonly RestRoute[];
  faults: FaultInjector;
  /** 0 (default) lets the OS choose. */
  port?: number;
  /** Per-API override of the fault mapping. */
  faultAnswer?: (kind: FaultKind) => FaultAnswer;
}

export interface RestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1: one fault admission per matched request, JSON in, JSON or Google error out. */
export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const routes = options.routes.map(compileRoute);
  const toAnswer = options.faultAnswer ?? faultAnswer;
  const server = http.createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      // A handler bug must answer like a backend failure, not hang the client or crash the sandbox.
      if (!res.headersSent)
        send(res, 500, new GoogleApiError(500, 'INTERNAL', String(error), 'backendError'));
      else res.destroy();
    });
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const found = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (!found) {
      send(res, 404, notFound(`The requested URL ${url.pathname} was not found on this server.`));
      return;
    }
    const admission = await options.faults.admit(found.route.name, found.route.kind);
    const aborted = new AbortController();
    res.on('close', () => {
      admission.release();
      if (!res.writableFinished) aborted.abort();
    });
    if (admission.fault) {
      const answer = toAnswer(admission.fault);
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      send(res, answer.httpStatus, answer);
      return;
    }
    try {
      const body = await readJson(req);
      const result = await found.route.handle({
        method: req.method ?? 'GET',
        params: found.params,
        query: url.searchParams,
        body,
        signal: aborted.signal,
      });
      if (!res.destroyed) send(res, 200, result);
    } catch (error) {
      if (!(error instanceof GoogleApiError)) throw error;
      send(res, error.httpStatus, error);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets (gax keeps them) and long polls would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** RFC 3339 timestamp as Google APIs write it. */
export const timestamp = (date = new Date()) => date.toISOString();

/** Random lowercase hex, for operation names and unique ids. */
export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A 19-digit decimal id like the uint64 ids compute assigns (sent as a JSON string). */
export function numericId(): string {
  return ((BigInt(`0x${hex(8)}`) % 9_000_000_000_000_000_000n) + 1_000_000_000_000_000_000n).toString();
}
