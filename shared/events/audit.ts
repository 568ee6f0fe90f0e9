/**
 * Audit LogEntry → DomainEvent. The entry only says *that* something happened and *where*: the
 * domain events carry the cluster, namespace and name, never state from the request or response bodies, because
 * handlers re-read the live object (level-based, safe under redelivery and reordering).
 *
 * Outcomes: a DomainEvent for the methods in `AUDIT_METHODS`; `Ignored` with a fixed reason for well-formed
 * entries Spokefleet does not act on; PermanentError for entries that claim to be one of ours but are malformed.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { PermanentError } from '../errors';
import { decodePubsubCloudEvent } from './cloudevent';
import { CONTAINER_SERVICE, findAuditMethod, K8S_SERVICE } from './methods';
import type { ClusterRef, DomainEvent, EventMeta, LogEntry, ServiceWriteVerb } from './types';
import {
  isClusterName,
  isDns1035Label,
  isDns1123Label,
  isLocation,
  isProjectId,
  isTimestamp,
  parseJsonObject,
} from './validate';

/**
 * Cloud Logging caps an entry at 256 KB in its own encoding; the JSON a sink publishes spells out every field
 * name, so allow twice that before refusing.
 */
export const MAX_LOG_ENTRY_BYTES = 512 * 1024;
/** A Service audit entry nests about 10 levels; anything near this limit is not from Google. */
export const MAX_LOG_ENTRY_DEPTH = 64;

export const AUDIT_LOG_TYPE = 'type.googleapis.com/google.cloud.audit.AuditLog';
const ACTIVITY_LOG =
  /^(projects|folders|organizations|billingAccounts)\/[^/]+\/logs\/cloudaudit\.googleapis\.com%2Factivity$/;
const DATA_ACCESS_LOG = /\/logs\/cloudaudit\.googleapis\.com%2Fdata_access$/;

/** Why an entry was acknowledged without work; fixed strings, for the debug line and for counting. */
export const IGNORE_REASONS = [
  'not-audit-log',
  'data-access-log',
  'not-admin-activity-log',
  'unsupported-service',
  'unsupported-method',
  'operation-failed',
  'operation-not-finished',
  'request-failed',
] as const;
export type IgnoreReason = (typeof IGNORE_REASONS)[number];

const labels = z.record(z.string(), z.string());
const body = z.record(z.string(), z.unknown());

// Every field Spokefleet reads or LogEntry types, with its type; unknown fields pass through untouched.
const logEntrySchema = z.looseObject({
  logName: z.string().optional(),
  resource: z.looseObject({ type: z.string().optional(), labels: labels.optional() }).optional(),
  timestamp: z.string().refine(isTimestamp, 'must be an RFC 3339 time').optional(),
  receiveTimestamp: z.string().optional(),
  severity: z.string().optional(),
  insertId: z.string().optional(),
  labels: labels.optional(),
  operation: z
    .looseObject({
      id: z.string().optional(),
      producer: z.string().optional(),
      first: z.boolean().optional(),
      last: z.boolean().optional(),
    })
    .optional(),
  protoPayload: z
    .looseObject({
      '@type': z.string().optional(),
      serviceName: z.string().optional(),
      methodName: z.string().optional(),
      resourceName: z.string().optional(),
      status: z.looseObject({ code: z.int().optional(), message: z.string().optional() }).optional(),
      authenticationInfo: z
        .looseObject({ principalEmail: z.string().optional(), principalSubject: z.string().optional() })
        .optional(),
      authorizationInfo: z
        .array(
          z.looseObject({
            permission: z.string().optional(),
            granted: z.boolean().optional(),
            resource: z.string().optional(),
            permissionType: z.string().optional(),
            resourceAttributes: z
              .looseObject({
                name: z.string().optional(),
                service: z.string().optional(),
                type: z.string().optional(),
              })
              .optional(),
          }),
        )
        .optional(),
      requestMetadata: z
        .looseObject({ callerIp: z.string().optional(), callerSuppliedUserAgent: z.string().optional() })
        .optional(),
      request: body.optional(),
      response: body.optional(),
      resourceLocation: z.looseObject({ currentLocations: z.array(z.string()).optional() }).optional(),
    })
    .optional(),
});

/** Bytes of a Pub/Sub message from the audit sink → a LogEntry whose typed fields have their types. */
export function parseLogEntry(data: Buffer): LogEntry {
  const json = parseJsonObject(data, {
    maxBytes: MAX_LOG_ENTRY_BYTES,
    maxDepth: MAX_LOG_ENTRY_DEPTH,
    what: 'LogEntry',
  });
  const result = logEntrySchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PermanentError(`not a LogEntry: ${problems.join('; ').slice(0, 1000)}`, 'invalid-log-entry');
  }
  const entry: LogEntry = result.data;
  return entry;
}

export interface RouteMeta {
  /** The Pub/Sub message id. */
  eventId: string;
  /** When Pub/Sub accepted the message; the event time when the entry has no timestamp. */
  publishTime?: string;
}

export function routeAuditEntry(entry: LogEntry, meta: RouteMeta): DomainEvent {
  const payload = entry.protoPayload;
  const base = eventMeta(entry, meta);
  const ignored = (reason: IgnoreReason): DomainEvent => ({ kind: 'Ignored', reason, ...base });

  if (!payload || payload['@type'] !== AUDIT_LOG_TYPE) return ignored('not-audit-log');
  const logName = typeof entry.logName === 'string' ? entry.logName : '';
  if (DATA_ACCESS_LOG.test(logName)) return ignored('data-access-log');
  if (!ACTIVITY_LOG.test(logName)) return ignored('not-admin-activity-log');
  const method = findAuditMethod(payload.serviceName, payload.methodName);
  if (!method) {
    const known = payload.serviceName === CONTAINER_SERVICE || payload.serviceName === K8S_SERVICE;
    return ignored(known ? 'unsupported-method' : 'unsupported-service');
  }
  // A failed call says nothing about the resource and may name one that never existed: check before names.
  const code = payload.status?.code ?? 0;
  if (method.serviceName === CONTAINER_SERVICE) {
    if (code !== 0) return ignored('operation-failed');
    // Only the `last` entry means the cluster is up (or gone); the `first` is written while it provisions.
    if (entry.operation?.last !== true) return ignored('operation-not-finished');
  } else if (code !== 0) {
    return ignored('request-failed');
  }

  if (entry.resource?.type !== method.resourceType) {
    throw new PermanentError(
      `${method.methodName} entry has resource.type ${show(entry.resource?.type)}, expected ${method.resourceType}`,
      'wrong-resource-type',
    );
  }
  const cluster = clusterFromLabels(entry.resource.labels);

  switch (method.kind) {
    case 'ClusterReady':
    case 'ClusterDeleted':
      checkClusterResourceName(payload.resourceName, cluster);
      return { kind: method.kind, cluster, ...base };
    case 'ServiceChanged': {
      const { namespace, service } = parseServiceResourceName(payload.resourceName);
      const verb = method.methodName.slice(method.methodName.lastIndexOf('.') + 1) as ServiceWriteVerb;
      return { kind: 'ServiceChanged', cluster, namespace, service, method: verb, ...base };
    }
    case 'ServiceDeleted': {
      const { namespace, service } = parseServiceResourceName(payload.resourceName);
      return { kind: 'ServiceDeleted', cluster, namespace, service, ...base };
    }
  }
}

/** The whole audit path of `onAuditLogEvent`: CloudEvent → Pub/Sub message → LogEntry → DomainEvent. */
export function auditEventFromCloudEvent(event: CloudEvent<unknown>): DomainEvent {
  const message = decodePubsubCloudEvent(event, MAX_LOG_ENTRY_BYTES);
  const entry = parseLogEntry(message.data);
  return routeAuditEntry(entry, { eventId: message.messageId, publishTime: message.publishTime });
}

function eventMeta(entry: LogEntry, meta: RouteMeta): EventMeta {
  const result: EventMeta = { eventId: meta.eventId };
  const time = isTimestamp(entry.timestamp) ? entry.timestamp : meta.publishTime;
  if (time !== undefined) result.time = time;
  // A string or absent: parseLogEntry refuses any other principal.
  const principal = entry.protoPayload?.authenticationInfo?.principalEmail;
  if (principal) result.principal = principal;
  return result;
}

function clusterFromLabels(resourceLabels: Record<string, string> | undefined): ClusterRef {
  const project = resourceLabels?.project_id;
  const location = resourceLabels?.location;
  const name = resourceLabels?.cluster_name;
  if (project === undefined || location === undefined || name === undefined) {
    throw new PermanentError(
      'resource.labels must carry project_id, location and cluster_name',
      'missing-resource-labels',
    );
  }
  if (!isProjectId(project))
    throw new PermanentError(`invalid project id ${show(project)}`, 'invalid-project-id');
  if (!isLocation(location))
    throw new PermanentError(`invalid location ${show(location)}`, 'invalid-location');
  if (!isClusterName(name))
    throw new PermanentError(`invalid cluster name ${show(name)}`, 'invalid-cluster-name');
  return { project, location, name };
}

/** `projects/P/zones/L/clusters/C` (zonal) or `projects/P/locations/L/clusters/C`, naming the labelled cluster. */
function checkClusterResourceName(resourceName: unknown, cluster: ClusterRef): void {
  if (resourceName === undefined) return;
  const parts = typeof resourceName === 'string' && resourceName.length <= 512 ? resourceName.split('/') : [];
  if (
    parts.length !== 6 ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    parts[0] !== 'projects' ||
    (parts[2] !== 'zones' && parts[2] !== 'locations') ||
    parts[4] !== 'clusters'
  ) {
    throw new PermanentError(
      `malformed cluster resourceName ${show(resourceName)}`,
      'malformed-resource-name',
    );
  }
  if (parts[1] !== cluster.project || parts[3] !== cluster.location || parts[5] !== cluster.name) {
    throw new PermanentError(
      `resourceName ${show(resourceName)} does not name the cluster in resource.labels`,
      'resource-name-mismatch',
    );
  }
}

/** Exactly `core/v1/namespaces/NS/services/NAME`: no subresource, no `..`, no empty segment. */
function parseServiceResourceName(resourceName: unknown): { namespace: string; service: string } {
  const parts = typeof resourceName === 'string' && resourceName.length <= 512 ? resourceName.split('/') : [];
  if (
    parts.length !== 6 ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    parts[0] !== 'core' ||
    parts[1] !== 'v1' ||
    parts[2] !== 'namespaces' ||
    parts[4] !== 'services'
  ) {
    throw new PermanentError(
      `malformed Service resourceName ${show(resourceName)}`,
      'malformed-resource-name',
    );
  }
  const [, , , namespace, , service] = parts;
  if (!isDns1123Label(namespace))
    throw new PermanentError(`invalid namespace ${show(namespace)}`, 'invalid-namespace');
  if (!isDns1035Label(service))
    throw new PermanentError(`invalid Service name ${show(service)}`, 'invalid-service-name');
  return { namespace, service };
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value;
}
