/**
 * gRPC status errors as GKE answers them, and the mapping from the sandbox's protocol-neutral fault kinds.
 */
import { status } from '@grpc/grpc-js';
import type { FaultKind } from '../faults';

/** An error the stand-in answers with a given gRPC status code and message. */
export class StatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new StatusError(status.NOT_FOUND, `Not found: ${what}.`);
export const alreadyExists = (what: string) =>
  new StatusError(status.ALREADY_EXISTS, `Already exists: ${what}.`);
export const invalidArgument = (message: string) => new StatusError(status.INVALID_ARGUMENT, message);
export const failedPrecondition = (message: string) => new StatusError(status.FAILED_PRECONDITION, message);
/** What GKE says when a second mutating call reaches a cluster with an operation in flight. */
export const incompatibleOperation = (operation: string) =>
  new StatusError(status.FAILED_PRECONDITION, `Cluster is running incompatible operation ${operation}.`);

const FAULTS: Record<FaultKind, { code: status; message: string }> = {
  unavailable: { code: status.UNAVAILABLE, message: 'The service is currently unavailable.' },
  'rate-limited': {
    code: status.RESOURCE_EXHAUSTED,
    message: "Quota exceeded for quota metric 'Requests' of service 'container.googleapis.com'.",
  },
  internal: { code: status.INTERNAL, message: 'Internal error encountered.' },
  aborted: { code: status.ABORTED, message: 'The operation was aborted.' },
  // Compute's "peering operation in progress" has no gRPC form of its own; GKE surfaces concurrency as ABORTED.
  'peering-in-progress': { code: status.ABORTED, message: 'There is a peering operation in progress.' },
  deadline: { code: status.DEADLINE_EXCEEDED, message: 'Deadline exceeded.' },
  // grpc-js does not let a unary handler drop its stream; the client sees a dropped connection as UNAVAILABLE.
  reset: { code: status.UNAVAILABLE, message: 'Connection reset by peer.' },
  'permission-denied': {
    code: status.PERMISSION_DENIED,
    message: 'Required permission is missing on the resource (or it may not exist).',
  },
  'invalid-argument': { code: status.INVALID_ARGUMENT, message: 'Request contains an invalid argument.' },
};

export function faultError(kind: FaultKind): StatusError {
  const { code, message } = FAULTS[kind];
  return new StatusError(code, message);
}
