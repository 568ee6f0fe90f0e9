/**
 * Cloud Logging LogEntry and Cloud Audit Log payload, in the JSON (camelCase) form a log sink publishes to
 * Pub/Sub. Modelled on google.logging.v2.LogEntry and google.cloud.audit.AuditLog; only the fields Spokefleet
 * reads or the sandbox writes are typed, everything else passes through as unknown.
 */
export interface LogEntry {
  logName?: string;
  resource?: MonitoredResource;
  timestamp?: string;
  receiveTimestamp?: string;
  severity?: string;
  insertId?: string;
  labels?: Record<string, string>;
  operation?: LogEntryOperation;
  protoPayload?: AuditLog;
  [field: string]: unknown;
}

export interface MonitoredResource {
  type?: string;
  labels?: Record<string, string>;
}

export interface LogEntryOperation {
  id?: string;
  producer?: string;
  first?: boolean;
  last?: boolean;
}

export interface AuditLog {
  '@type'?: string;
  serviceName?: string;
  methodName?: string;
  resourceName?: string;
  status?: { code?: number; message?: string };
  authenticationInfo?: { principalEmail?: string; principalSubject?: string };
  authorizationInfo?: Array<{
    permission?: string;
    granted?: boolean;
    resource?: string;
    permissionType?: string;
    resourceAttributes?: { name?: string; service?: string; type?: string };
  }>;
  requestMetadata?: { callerIp?: string; callerSuppliedUserAgent?: string };
  request?: Record<string, unknown>;
  response?: Record<string, unknown>;
  resourceLocation?: { currentLocations?: string[] };
  [field: string]: unknown;
}

/** A GKE cluster, addressed the way every Spokefleet API call needs it. */
export interface ClusterRef {
  project: string;
  location: string;
  name: string;
}

/** Common to every routed event: where it came from, for logs and age checks. */
export interface EventMeta {
  /** CloudEvent id (the Pub/Sub message id). */
  eventId: string;
  /** When the audited action happened (LogEntry.timestamp), or the publish time. */
  time?: string;
  /** Who caused it (authenticationInfo.principalEmail), when the entry says. */
  principal?: string;
}

export type ServiceWriteVerb = 'create' | 'update' | 'patch';

export type DomainEvent =
  | ({ kind: 'ClusterReady'; cluster: ClusterRef } & EventMeta)
  | ({ kind: 'ClusterDeleted'; cluster: ClusterRef } & EventMeta)
  | ({
      kind: 'ServiceChanged';
      cluster: ClusterRef;
      namespace: string;
      service: string;
      /** The Kubernetes verb that changed the Service. */
      method: ServiceWriteVerb;
    } & EventMeta)
  | ({ kind: 'ServiceDeleted'; cluster: ClusterRef; namespace: string; service: string } & EventMeta)
  | ({ kind: 'Ignored'; reason: string } & EventMeta);

export type DomainEventKind = DomainEvent['kind'];
