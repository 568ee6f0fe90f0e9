/**
 * google.container.v1.ClusterManager over gRPC, for the real ClusterManagerClient. Every call passes the fault
 * injector first; mutating calls answer with a RUNNING Operation and write the first and last audit entries
 * as GKE does. Methods not handled here answer UNIMPLEMENTED (grpc-js does that for missing handlers).
 */
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ClusterRef } from '../../shared/events/types';
import { type ClusterMethod, clusterAuditEntry } from '../audit/entries';
import type { AuditSink } from '../audit/sink';
import type { CallKind, FaultInjector } from '../faults';
import {
  clusterName,
  type LegacyFields,
  parseClusterName,
  parseNodePoolName,
  parseOperationName,
  parseScope,
} from './names';
import { clusterManagerDefinition } from './proto';
import type { ClusterSpec, Operation } from './shapes';
import { faultError, invalidArgument, notFound, StatusError } from './status';
import {
  type ClusterUpdate,
  type ContainerHooks,
  ContainerStore,
  type NodePoolUpdate,
  type OperationDuration,
  type Started,
} from './store';

export type { ContainerHooks } from './store';
export { ContainerStore } from './store';

export interface ContainerServerOptions {
  faults: FaultInjector;
  audit: AuditSink;
  hooks: ContainerHooks;
  /** How long an operation runs at least; default 50 ms. */
  provisionDelayMs?: number;
  /** Per operation instead, when a timing profile draws it. */
  operationMs?: OperationDuration;
  /** Default: a port the OS picks. */
  port?: number;
  /** Who the caller is, from the bearer token of the call; default `developer@example.com` for everyone. */
  principalFor?(token: string | undefined): string;
}

export interface ContainerServer {
  /** `127.0.0.1:PORT` */
  address: string;
  store: ContainerStore;
  close(): Promise<void>;
}

/** Request messages as decoded: only the fields the caller set, camelCase. */
type Request = LegacyFields & {
  nodePoolId?: string;
  name?: string;
  parent?: string;
  cluster?: ClusterSpec & { name?: string };
  update?: ClusterUpdate;
};

type Handler = (request: Request, metadata: Metadata) => Promise<object>;

const DEFAULT_PRINCIPAL = 'developer@example.com';
const TYPE_PREFIX = 'type.googleapis.com/google.container.v1.';

export async function startContainerServer(options: ContainerServerOptions): Promise<ContainerServer> {
  const { faults, audit, hooks } = options;
  const store = new ContainerStore(hooks, options.provisionDelayMs ?? 50, options.operationMs);
  const principalFor = options.principalFor ?? (() => DEFAULT_PRINCIPAL);

  /** Admits the call through the fault injector, runs it, and answers with its result or its status. */
  const unary =
    (method: string, kind: CallKind, handler: Handler) =>
    (call: ServerUnaryCall<Request, object>, callback: sendUnaryData<object>) => {
      void (async () => {
        const admission = await faults.admit(`container.${method}`, kind);
        try {
          if (admission.fault) throw faultError(admission.fault);
          const response = await handler(call.request, call.metadata);
          callback(null, response);
        } catch (error) {
          callback(asStatus(error));
        } finally {
          admission.release();
        }
      })();
    };

  /**
   * GCP writes two entries per long-running call: `first` when accepted, the sparse `last` when it finishes.
   * A call the service refuses up front (bad name, ALREADY_EXISTS, FAILED_PRECONDITION…) writes one entry
   * with its error status.
   */
  const audited = (
    method: ClusterMethod,
    ref: ClusterRef,
    request: Request,
    metadata: Metadata,
    start: () => Started,
  ): Operation => {
    const first = {
      method,
      phase: 'first' as const,
      cluster: ref,
      principal: principalFor(bearerToken(metadata)),
      request: { '@type': `${TYPE_PREFIX}${method}Request`, ...request },
    };
    let started: Started;
    try {
      started = start();
    } catch (error) {
      if (error instanceof StatusError) {
        audit.emit(
          clusterAuditEntry({
            ...first,
            operationId: '',
            statusCode: error.code,
            statusMessage: error.message,
          }),
        );
      }
      throw error;
    }
    const operationId = started.operation.name;
    audit.emit(
      clusterAuditEntry({
        ...first,
        operationId,
        response: { '@type': `${TYPE_PREFIX}Operation`, ...started.operation },
      }),
    );
    void started.done.then((operation) =>
      audit.emit(
        clusterAuditEntry({
          method,
          phase: 'last',
          cluster: ref,
          operationId,
          statusCode: operation.error?.code,
          statusMessage: operation.error?.message,
        }),
      ),
    );
    return started.operation;
  };

  const implementation: UntypedServiceImplementation = {
    ListClusters: unary('ListClusters', 'read', async (request) => ({
      clusters: store.listClusters(parseScope(request.parent, request)),
      missingZones: [],
    })),

    GetCluster: unary('GetCluster', 'read', async (request) => {
      const ref = parseClusterName(request.name, request);
      const cluster = store.getCluster(ref);
      if (!cluster) throw notFound(clusterName(ref));
      return cluster;
    }),

    CreateCluster: unary('CreateCluster', 'write', async (request, metadata) => {
      const scope = parseScope(request.parent, request);
      if (scope.location === '-') throw invalidArgument('A cluster needs a location, not "-".');
      if (!request.cluster) throw invalidArgument('Cluster must be specified.');
      const ref = { ...scope, name: request.cluster.name ?? '' };
      const spec = request.cluster;
      return audited('CreateCluster', ref, request, metadata, () => store.startCreate(ref, spec));
    }),

    DeleteCluster: unary('DeleteCluster', 'write', async (request, metadata) => {
      const ref = parseClusterName(request.name, request);
      return audited('DeleteCluster', ref, request, metadata, () => store.startDelete(ref));
    }),

    UpdateCluster: unary('UpdateCluster', 'write', async (request, metadata) => {
      const ref = parseClusterName(request.name, request);
      const update = request.update;
      if (!update) throw invalidArgument('Update must be specified.');
      return audited('UpdateCluster', ref, request, metadata, () => store.startUpdate(ref, update));
    }),

    // Not audited here: GKE logs node-pool writes against resource type gke_nodepool, which Spokefleet's sink
    // does not ask for.
    UpdateNodePool: unary('UpdateNodePool', 'write', async (request) => {
      const { ref, pool } = parseNodePoolName(request.name, request);
      const {
        name: _name,
        projectId: _projectId,
        zone: _zone,
        clusterId: _clusterId,
        nodePoolId: _nodePoolId,
        // Required by the proto, yet gcloud's workload-metadata update sends neither and GKE accepts that.
        nodeVersion: _nodeVersion,
        imageType: _imageType,
        ...update
      } = request as Request & NodePoolUpdate;
      return store.startUpdateNodePool(ref, pool, update).operation;
    }),

    GetOperation: unary('GetOperation', 'read', async (request) => {
      const { operation, ...scope } = parseOperationName(request.name, request);
      return store.getOperation(scope, operation);
    }),

    ListOperations: unary('ListOperations', 'read', async (request) => ({
      operations: store.listOperations(parseScope(request.parent, request)),
      missingZones: [],
    })),
  };

  const server = new Server();
  server.addService(clusterManagerDefinition(), implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });

  return {
    address: `127.0.0.1:${port}`,
    store,
    close: () => {
      store.close();
      return new Promise<void>((resolve) => {
        // Graceful first; a client that never lets go must not hang the caller.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}

/** A StatusError keeps its code; anything else is the stand-in's own fault. */
function asStatus(error: unknown): { code: status; details: string } {
  if (error instanceof StatusError) return { code: error.code, details: error.message };
  return { code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(.+)$/i.exec(value)?.[1];
}
