import { workDeadline } from './deadline';

/**
 * Error classification. Every failure that leaves a step is either Transient — worth retrying in
 * process and then by Pub/Sub redelivery — or Permanent — logged once and acknowledged. Client libraries
 * surface errors in different shapes; `classify` reads them all:
 * - gax GoogleError / grpc-js ServiceError: numeric gRPC `code`
 * - googleapis GaxiosError: `status` / `response.status`, Google JSON error body
 * - @google-cloud/compute (REST via gax fallback): gRPC-mapped `code` plus the HTTP message
 * - @kubernetes/client-node ApiException: HTTP `code`, Status object in `body`
 * - Node network errors: `code` ECONNRESET, ETIMEDOUT, …
 */

export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(
    message: string,
    readonly reason: string = 'permanent',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(
    message: string,
    readonly reason: string = 'transient',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type ErrorClass = 'transient' | 'permanent';

/** gRPC status codes (google.rpc.Code). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const TRANSIENT_GRPC = new Set<number>([
  GrpcCode.CANCELLED,
  GrpcCode.UNKNOWN,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.RESOURCE_EXHAUSTED,
  GrpcCode.ABORTED,
  GrpcCode.INTERNAL,
  GrpcCode.UNAVAILABLE,
]);
const TRANSIENT_HTTP = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Compute refuses concurrent peering changes with a 400 that only means "later". */
export const PEERING_IN_PROGRESS = /peering operation in progress/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  response?: { status?: unknown };
  errno?: unknown;
  type?: unknown;
  cause?: unknown;
}

/** HTTP status of an error, if it carries one (client-node ApiException.code, GaxiosError.status, …). */
export function httpStatus(error: unknown): number | undefined {
  const e = error as ErrorLike | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.status === 'number') return e.status;
  if (typeof e.response?.status === 'number') return e.response.status;
  // client-node's ApiException keeps the HTTP status in `code`; gRPC codes are below 100.
  if (typeof e.code === 'number' && e.code >= 100) return e.code;
  return undefined;
}

/** gRPC code of an error (gax GoogleError, grpc-js ServiceError), if it carries one. */
export function grpcCode(error: unknown): number | undefined {
  const e = error as ErrorLike | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'number' && e.code >= 0 && e.code < 100) return e.code;
  return undefined;
}

export function classify(error: unknown): ErrorClass {
  if (error instanceof PermanentError) return 'permanent';
  if (error instanceof TransientError) return 'transient';
  const e = error as ErrorLike | undefined;
  if (!e || typeof e !== 'object') return 'permanent';
  const message = typeof e.message === 'string' ? e.message : '';
  if (PEERING_IN_PROGRESS.test(message)) return 'transient';
  if (typeof e.code === 'string' && TRANSIENT_NETWORK.has(e.code)) return 'transient';
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.type === 'request-timeout')
    return 'transient';
  const status = httpStatus(error);
  if (status !== undefined) {
    // A 409 is either "already exists" (permanent) or a concurrency abort: Google's ABORTED, or Kubernetes'
    // Conflict on a stale resourceVersion — both fixed by trying again.
    if (status === 409 && (isKubeConflict(error) || googleStatus(error) === 'ABORTED')) return 'transient';
    return TRANSIENT_HTTP.has(status) ? 'transient' : 'permanent';
  }
  const code = grpcCode(error);
  if (code !== undefined) return TRANSIENT_GRPC.has(code) ? 'transient' : 'permanent';
  // A wrapped cause (fetch's TypeError: fetch failed → cause ECONNRESET) decides.
  if (e.cause && e.cause !== error) return classify(e.cause);
  // Only phrases transports use: a bare "network" also matches permanent faults such as
  // "Cannot read properties of undefined (reading 'network')".
  if (message === 'fetch failed' || /socket hang up|network (?:error|socket)|timed? ?out/i.test(message))
    return 'transient';
  return 'permanent';
}

/** A Kubernetes 409 whose Status reason is Conflict (optimistic concurrency), not AlreadyExists. */
function isKubeConflict(error: unknown): boolean {
  return kubeStatus(error)?.reason === 'Conflict';
}

/** The Kubernetes Status object a client-node ApiException carries in `body` (a JSON string), if any. */
export function kubeStatus(
  error: unknown,
): { kind?: unknown; reason?: unknown; message?: unknown; details?: { name?: unknown } } | undefined {
  const body = (error as { body?: unknown } | undefined)?.body;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** True for "the thing is not there" in any of the shapes above. */
export function isNotFound(error: unknown): boolean {
  return httpStatus(error) === 404 || grpcCode(error) === GrpcCode.NOT_FOUND;
}

/** True for HTTP 429 / gRPC RESOURCE_EXHAUSTED: a rate limit, or an allocation quota that is used up. */
export function isResourceExhausted(error: unknown): boolean {
  return httpStatus(error) === 429 || grpcCode(error) === GrpcCode.RESOURCE_EXHAUSTED;
}

/** True for "it already exists" (HTTP 409 AlreadyExists / gRPC ALREADY_EXISTS). */
export function isAlreadyExists(error: unknown): boolean {
  if (grpcCode(error) === GrpcCode.ALREADY_EXISTS) return true;
  return httpStatus(error) === 409 && !isKubeConflict(error) && googleStatus(error) !== 'ABORTED';
}

/** The canonical status name in a Google JSON error body (`error.status`), e.g. from a googleapis GaxiosError. */
function googleStatus(error: unknown): string | undefined {
  const data = (error as { response?: { data?: unknown } }).response?.data;
  const parsed = typeof data === 'string' ? safeJson(data) : data;
  const status = (parsed as { error?: { status?: unknown } } | undefined)?.error?.status;
  return typeof status === 'string' ? status : undefined;
}

/** A short, log-safe description of an error: never the request, headers or tokens. */
export function describeError(error: unknown): string {
  // client-node's ApiException message is a multi-line dump; its Status body says it in one line.
  const body = (error as { body?: unknown } | undefined)?.body;
  const kubeStatus = (typeof body === 'string' ? safeJson(body) : body) as
    | { reason?: unknown; message?: unknown }
    | undefined;
  if (error instanceof Error && typeof kubeStatus?.message === 'string') {
    const reason = typeof kubeStatus.reason === 'string' ? `${kubeStatus.reason}: ` : '';
    return `${httpStatus(error) ?? ''} ${reason}${kubeStatus.message}`.trim().split('\n')[0].slice(0, 500);
  }
  if (error instanceof Error) {
    const status = httpStatus(error) ?? grpcCode(error);
    const message = error.message.split('\n')[0].slice(0, 500);
    return status !== undefined ? `${status} ${message}` : message;
  }
  // A thrown string or odd object gets the same treatment: first line only, bounded.
  return String(error).split('\n')[0].slice(0, 500);
}

export interface RetryOptions {
  /** Total time budget for all attempts, in ms. */
  budgetMs?: number;
  /** First backoff, in ms; doubles each attempt up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  /** Which errors to retry; default: `classify(e) === 'transient'`. */
  retryable?: (error: unknown) => boolean;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: Required<
  Pick<RetryOptions, 'budgetMs' | 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts'>
> = {
  budgetMs: 30_000,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxAttempts: 8,
};

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, a non-retryable error is thrown, or the attempt count or time budget is spent;
 * then the last error is rethrown unchanged so the caller can classify it. Backoff is exponential with full
 * jitter (AWS architecture blog's "full jitter"), which spreads redelivered events across the window.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const budget = options.budgetMs ?? DEFAULT_RETRY.budgetMs;
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const maxAttempts = options.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
  const retryable = options.retryable ?? ((e: unknown) => classify(e) === 'transient');
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  // The per-call budget, cut short by the invocation's own deadline (less its answer reserve) when one is set.
  const deadline = Math.min(now() + budget, workDeadline() ?? Number.POSITIVE_INFINITY);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error)) throw error;
      const delay = Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      if (now() + delay >= deadline) throw error;
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
