/**
 * Errors in the shapes the client libraries throw them, for fakes and unit tests: a gax GoogleError with a gRPC
 * code (container, Pub/Sub, compute over REST), a client-node ApiException with a Kubernetes Status body, a gaxios
 * GaxiosError with a Google JSON error body (googleapis: gkehub, resource manager). A bare `{ code }` is none of
 * these: the classifier reads each stack's own fields (shared/errors.ts), as test/wire/error-shapes.test.ts checks
 * against the libraries themselves.
 */
import { ApiException } from '@kubernetes/client-node';
import { GoogleError } from 'google-gax';

// gaxios is what googleapis throws with; not a direct dependency, so required from where googleapis put it.
const gaxios = require('gaxios') as typeof import('gaxios');

export function grpcError(code: number, message = 'rpc failed'): GoogleError {
  const error = new GoogleError(message);
  error.code = code;
  return error;
}

/** The Status reason the API server gives each code (k8s.io/apimachinery metav1.StatusReason). */
const KUBE_REASON: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function kubeError(
  code: number,
  message = 'failed',
  reason = KUBE_REASON[code],
): ApiException<unknown> {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    code,
    reason,
    message,
  });
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
}

export function gaxiosError(status: number, googleStatus: string, message = googleStatus): Error {
  const config = { url: new URL('http://127.0.0.1/') } as ConstructorParameters<typeof gaxios.GaxiosError>[1];
  const data = { error: { code: status, status: googleStatus, message } };
  const response = { status, statusText: googleStatus, data, bodyUsed: true, headers: new Headers(), config };
  return new gaxios.GaxiosError(
    message,
    config,
    response as unknown as ConstructorParameters<typeof gaxios.GaxiosError>[2],
  );
}
