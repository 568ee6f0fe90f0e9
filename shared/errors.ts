import { workDeadline } from './deadline';

/**
 * Error classification. Every failure that leaves a step is either Transient — worth retrying in
 * process and then by Pub/Sub redelivery — or Permanent — logged once and acknowledged. Each client library
 * throws its own error type, and a bare numeric `code` means different things in each (a gRPC status in gax, an
 * HTTP status in client-node and gaxios), so `readError` first recognises which stack an error comes from by the
 * shape that library gives its errors, then reads the field that stack defines:
 * - grpc-js ServiceError and gax GoogleError (container and Pub/Sub over gRPC, compute over gax's REST fallback,
 *   which maps the HTTP status to a gRPC code): `code` is a google.rpc.Code; both carry `metadata`
 * - gaxios GaxiosError (googleapis: gkehub, resource manager; google-auth-library requests): branded with
 *   `Symbol.for('gaxios-gaxios-error')`; `response.status` when the server answered, a transport `code` otherwise
 * - @kubernetes/client-node ApiException: HTTP status in `code`, the Kubernetes Status in `body`, plus `headers`
 * - Node and undici transport errors: a string `code` (ECONNRESET, UND_ERR_SOCKET, …); fetch wraps them in a
 *   TypeError whose `cause` is the transport error; AbortSignal.timeout rejects with a TimeoutError DOMException
 * - Spokefleet's own PermanentError / TransientError, HttpStatusError (an answer read with fetch) and
 *   OperationFailedError (a long-running operation that ended in error)
 */

/** A failure Spokefleet has classified itself: `errorClass` says whether trying again can help. */
export abstract class ClassifiedError extends Error {
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly reason: string = errorClass,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class PermanentError extends ClassifiedError {
  override readonly name = 'PermanentError';
  constructor(message: string, reason?: string, options?: { cause?: unknown }) {
    super('permanent', message, reason, options);
  }
}

export class TransientError extends ClassifiedError {
  override readonly name = 'TransientError';
  constructor(message: string, reason?: string, options?: { cause?: unknown }) {
    super('transient', message, reason, options);
  }
}

/** A permanent "the thing is not there" of Spokefleet's own: isNotFound is true for it. */
export class NotFoundError extends PermanentError {}

/** An HTTP answer Spokefleet read itself with fetch (no client library to throw for it): its status decides. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * A long-running operation that ended in error. Its status decides as a call's would: GKE and GKE Hub operations
 * end with a google.rpc.Status (a gRPC code), Compute operations with the HTTP status of their error
 * (`httpErrorStatusCode`).
 */
export class OperationFailedError extends Error {
  override readonly name = 'OperationFailedError';
  constructor(
    readonly operation: string,
    detail: string,
    readonly status: { grpc: number } | { http: number },
  ) {
    super(`operation ${operation} failed: ${detail}`);
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

/** gaxios brands its errors with this registered symbol (gaxios common.ts, GAXIOS_ERROR_SYMBOL). */
const GAXIOS_ERROR = Symbol.for('gaxios-gaxios-error');

/** What an error says about the call that failed, read by the stack it came from. */
export type ErrorSignal =
  /** Spokefleet's own PermanentError / TransientError. */
  | { kind: 'spokefleet'; errorClass: ErrorClass }
  /** A gRPC status: grpc-js ServiceError, gax GoogleError (gRPC, or REST fallback mapped to gRPC). */
  | { kind: 'grpc'; code: number }
  /** An HTTP answer: GaxiosError with a response, client-node ApiException, HttpStatusError. */
  | { kind: 'http'; status: number; reason?: string }
  /** No answer: a transport error code (Node system error, undici, gaxios/node-fetch without a response). */
  | { kind: 'transport'; code: string }
  /** The caller's own time limit or abort (AbortSignal.timeout, an aborted fetch). */
  | { kind: 'timeout' }
  | { kind: 'unknown' };

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  response?: { status?: unknown; data?: unknown };
  body?: unknown;
  headers?: unknown;
  metadata?: unknown;
  cause?: unknown;
}

/** Recognises the stack an error comes from by the shape its library gives it (see the list above). */
export function readError(error: unknown, depth = 0): ErrorSignal {
  if (error instanceof ClassifiedError) return { kind: 'spokefleet', errorClass: error.errorClass };
  if (!error || typeof error !== 'object') return { kind: 'unknown' };
  const e = error as ErrorLike;
  if (error instanceof HttpStatusError) return { kind: 'http', status: error.status };
  if (error instanceof OperationFailedError)
    return 'grpc' in error.status
      ? { kind: 'grpc', code: error.status.grpc }
      : { kind: 'http', status: error.status.http };
  if (GAXIOS_ERROR in e) {
    if (typeof e.response?.status === 'number')
      return { kind: 'http', status: e.response.status, reason: googleStatus(e.response.data) };
    // No answer: the cause is the transport's error (node-fetch FetchError, fetch's TypeError, AbortSignal's
    // DOMException); gaxios copies its code, when it has one, to its own `code`.
    const cause = depth < 4 && e.cause ? readError(e.cause, depth + 1) : undefined;
    if (cause && cause.kind !== 'unknown') return cause;
    return typeof e.code === 'string' ? { kind: 'transport', code: e.code } : { kind: 'unknown' };
  }
  if (typeof e.code === 'number' && 'metadata' in e) return { kind: 'grpc', code: e.code };
  if (typeof e.code === 'number' && 'headers' in e && 'body' in e) {
    const status = kubeStatus(error);
    return {
      kind: 'http',
      status: e.code,
      reason: typeof status?.reason === 'string' ? status.reason : undefined,
    };
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return { kind: 'timeout' };
  if (typeof e.code === 'string') return { kind: 'transport', code: e.code };
  // fetch (undici) rejects with TypeError: fetch failed, the transport error as its cause.
  if (depth < 4 && e.cause && e.cause !== error) return readError(e.cause, depth + 1);
  return { kind: 'unknown' };
}

/** HTTP status of an error from an HTTP stack (GaxiosError, client-node ApiException), if the server answered. */
export function httpStatus(error: unknown): number | undefined {
  const signal = readError(error);
  return signal.kind === 'http' ? signal.status : undefined;
}

/** gRPC code of an error from a gRPC stack (grpc-js ServiceError, gax GoogleError), if it carries one. */
export function grpcCode(error: unknown): number | undefined {
  const signal = readError(error);
  return signal.kind === 'grpc' ? signal.code : undefined;
}

export function classify(error: unknown): ErrorClass {
  const signal = readError(error);
  if (signal.kind === 'spokefleet') return signal.errorClass;
  const message =
    typeof (error as ErrorLike | undefined)?.message === 'string' ? (error as Error).message : '';
  if (PEERING_IN_PROGRESS.test(message)) return 'transient';
  switch (signal.kind) {
    case 'grpc':
      return TRANSIENT_GRPC.has(signal.code) ? 'transient' : 'permanent';
    case 'http':
      // A 409 is either "already exists" (permanent) or a concurrency abort: Google's ABORTED, or Kubernetes'
      // Conflict on a stale resourceVersion — both fixed by trying again.
      if (signal.status === 409 && isConcurrencyAbort(signal.reason)) return 'transient';
      return TRANSIENT_HTTP.has(signal.status) ? 'transient' : 'permanent';
    case 'transport':
      return TRANSIENT_NETWORK.has(signal.code) ? 'transient' : 'permanent';
    case 'timeout':
      return 'transient';
    default:
      // Only phrases transports use: a bare "network" also matches permanent faults such as
      // "Cannot read properties of undefined (reading 'network')".
      return message === 'fetch failed' ||
        /socket hang up|network (?:error|socket)|timed? ?out/i.test(message)
        ? 'transient'
        : 'permanent';
  }
}

/** Kubernetes' Conflict (a stale resourceVersion) or Google's ABORTED: a 409 that trying again fixes. */
function isConcurrencyAbort(reason: string | undefined): boolean {
  return reason === 'Conflict' || reason === 'ABORTED';
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
  if (error instanceof NotFoundError) return true;
  const signal = readError(error);
  return (
    (signal.kind === 'http' && signal.status === 404) ||
    (signal.kind === 'grpc' && signal.code === GrpcCode.NOT_FOUND)
  );
}

/** Absent is a state, not an error: the call's value, or undefined when what it reads is not found. */
export async function orUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** True for HTTP 429 / gRPC RESOURCE_EXHAUSTED: a rate limit, or an allocation quota that is used up. */
export function isResourceExhausted(error: unknown): boolean {
  const signal = readError(error);
  return (
    (signal.kind === 'http' && signal.status === 429) ||
    (signal.kind === 'grpc' && signal.code === GrpcCode.RESOURCE_EXHAUSTED)
  );
}

/** True for "it already exists" (HTTP 409 AlreadyExists / gRPC ALREADY_EXISTS). */
export function isAlreadyExists(error: unknown): boolean {
  const signal = readError(error);
  if (signal.kind === 'grpc') return signal.code === GrpcCode.ALREADY_EXISTS;
  return signal.kind === 'http' && signal.status === 409 && !isConcurrencyAbort(signal.reason);
}

/** The canonical status name in a Google JSON error body (`error.status`), e.g. a GaxiosError's response data. */
function googleStatus(data: unknown): string | undefined {
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
