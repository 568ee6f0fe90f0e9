/**
 * The ClusterManager service definition, built from the .proto files that ship with @google-cloud/container
 * (the google/api, google/rpc and google/type imports ship in google-gax), so the stand-in speaks exactly
 * the wire format the client library was generated from.
 */
import path from 'node:path';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';

export const CLUSTER_MANAGER = 'google.container.v1.ClusterManager';

/** Where the .proto files live, resolved from the installed packages so any working directory works. */
function protoPaths(): { file: string; includeDirs: string[] } {
  // google-gax exports no package.json; its entry point is build/src/index.js, the protos are in build/protos.
  const gaxProtos = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
  const containerProtos = path.join(path.dirname(require.resolve('@google-cloud/container')), '..', 'protos');
  return {
    file: path.join(containerProtos, 'google', 'container', 'v1', 'cluster_service.proto'),
    includeDirs: [containerProtos, gaxProtos],
  };
}

let cached: ServiceDefinition | undefined;

/**
 * Requests decode with only the fields the caller set (no defaults), enums as names and int64 as strings: the
 * proto3 JSON form GKE records in audit logs, and what lets the stand-in tell "absent" from "zero".
 */
export function clusterManagerDefinition(): ServiceDefinition {
  if (!cached) {
    const { file, includeDirs } = protoPaths();
    const definition = loadSync(file, {
      includeDirs,
      keepCase: false,
      longs: String,
      enums: String,
      bytes: String,
      defaults: false,
      oneofs: false,
    });
    cached = definition[CLUSTER_MANAGER] as ServiceDefinition;
  }
  return cached;
}
