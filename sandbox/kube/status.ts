/**
 * `Status` objects shaped exactly as the Kubernetes API server writes them (k8s.io/apimachinery
 * pkg/api/errors), so clients classify them by `code` and `reason` the way they would against GKE.
 */
import { qualifiedResource, type ResourceType } from './resources';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failed request, carried to the response writer as the Status to send. */
export class KubeError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  // Key order as the API server writes them: details (when any) before code.
  return details
    ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code }
    : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** `{name, group?, kind: <plural resource>}` — the details the API server attaches to per-object errors. */
function resourceDetails(type: ResourceType, name: string): StatusDetails {
  return type.group ? { name, group: type.group, kind: type.resource } : { name, kind: type.resource };
}

export function notFound(type: ResourceType, name: string): KubeError {
  return new KubeError(
    failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, resourceDetails(type, name)),
  );
}

export function alreadyExists(type: ResourceType, name: string): KubeError {
  return new KubeError(
    failure(
      409,
      'AlreadyExists',
      `${qualifiedResource(type)} "${name}" already exists`,
      resourceDetails(type, name),
    ),
  );
}

export const CONFLICT_MESSAGE =
  'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(type: ResourceType, name: string, why = CONFLICT_MESSAGE): KubeError {
  const target = name ? `${qualifiedResource(type)} "${name}"` : qualifiedResource(type);
  return new KubeError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${target}: ${why}`,
      resourceDetails(type, name),
    ),
  );
}

/** 422 Invalid: `Service "x" is invalid: <field>: <cause>`; details name the Kind (not the resource). */
export function invalid(type: ResourceType, name: string, causes: StatusCause[]): KubeError {
  const qualifiedKind = type.group ? `${type.kind}.${type.group}` : type.kind;
  const listed = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = listed.length === 1 ? listed[0] : `[${listed.join(', ')}]`;
  const details: StatusDetails = { name, kind: type.kind, causes };
  if (type.group) details.group = type.group;
  return new KubeError(failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, details));
}

export function badRequest(message: string): KubeError {
  return new KubeError(failure(400, 'BadRequest', message));
}

export function unsupportedMediaType(accepted: string[]): KubeError {
  return new KubeError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
  );
}

export function methodNotAllowed(): KubeError {
  return new KubeError(
    failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
  );
}

export function noSuchResource(): KubeError {
  return new KubeError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function unauthorized(): Status {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function success(type: ResourceType, name: string, uid?: string): Status {
  const details = resourceDetails(type, name);
  if (uid) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}
