export {
  AUDIT_LOG_TYPE,
  auditEventFromCloudEvent,
  IGNORE_REASONS,
  type IgnoreReason,
  MAX_LOG_ENTRY_BYTES,
  MAX_LOG_ENTRY_DEPTH,
  parseLogEntry,
  type RouteMeta,
  routeAuditEntry,
} from './audit';
export {
  decodePubsubCloudEvent,
  MAX_MESSAGE_BYTES,
  PUBSUB_MESSAGE_PUBLISHED,
  type PubsubMessage,
} from './cloudevent';
export {
  AUDIT_METHODS,
  type AuditMethod,
  type AuditServiceName,
  CONTAINER_SERVICE,
  findAuditMethod,
  K8S_SERVICE,
  methodNames,
  type SinkFilterOptions,
  sinkFilter,
} from './methods';
export {
  MAX_REQUEST_BYTES,
  parseReconcileRequest,
  type ReconcileRequest,
  reconcileRequestFromCloudEvent,
  reconcileRequestSchema,
} from './request';
export type * from './types';
export {
  isClusterName,
  isDns1035Label,
  isDns1123Label,
  isLocation,
  isProjectId,
  isTimestamp,
} from './validate';
