import { credentials } from '@grpc/grpc-js';

/**
 * Options for `new ClusterManagerClient(...)` (from `@google-cloud/container/build/src/v1`) that reach the
 * stand-in at `address` (`127.0.0.1:PORT`) over plaintext gRPC without any Google credentials:
 * - `sslCreds` replaces gax's TLS + OAuth channel credentials, so no token is ever fetched or sent;
 * - `universeDomain` spares gax's universe check, which otherwise asks google-auth-library for ADC (file,
 *   then the metadata server) before the first call.
 * To send a bearer token anyway (the stand-in's audit principal), pass it per call:
 * `{ otherArgs: { headers: { authorization: 'Bearer TOKEN' } } }`.
 */
export function containerClientOptions(address: string): {
  apiEndpoint: string;
  port: number;
  sslCreds: ReturnType<typeof credentials.createInsecure>;
  universeDomain: string;
} {
  const at = address.lastIndexOf(':');
  if (at < 0) throw new Error(`container address "${address}" has no port`);
  return {
    apiEndpoint: address.slice(0, at),
    port: Number(address.slice(at + 1)),
    sslCreds: credentials.createInsecure(),
    universeDomain: 'googleapis.com',
  };
}
