/**
 * Serves one KubeApi on 127.0.0.1 at a port the OS picks, over HTTPS with a certificate made at start (kubectl
 * only sends bearer tokens over TLS) or plain HTTP for tests that want it.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { KubeApi, type KubeApiOptions } from './api';

export interface KubeServer {
  api: KubeApi;
  /** `https://127.0.0.1:PORT` (or `http://` without TLS). */
  url: string;
  /** Base64 of the certificate PEM, like GKE's masterAuth.clusterCaCertificate; '' without TLS. */
  caCertificate: string;
  close(): Promise<void>;
}

let keyPair: Promise<{ privateKey: string; publicKey: string }> | undefined;

/** RSA key generation is the slow part, so one key per process signs every server's own certificate. */
export async function certificate(): Promise<{ key: string; cert: string }> {
  const attributes = [{ name: 'commonName', value: 'localhost' }];
  const options = {
    algorithm: 'sha256',
    // Valid from an hour ago, not from the second it is made: a client connecting at once failed with
    // CERT_NOT_YET_VALID when the clock stepped back (seen by the nightly property run, scripts/property-nightly.ts).
    notBeforeDate: new Date(Date.now() - 3600 * 1000),
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints' as const, cA: true },
      { name: 'keyUsage' as const, digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage' as const, serverAuth: true },
      {
        name: 'subjectAltName' as const,
        altNames: [
          { type: 2 as const, value: 'localhost' },
          { type: 7 as const, ip: '127.0.0.1' },
        ],
      },
    ],
  };
  if (!keyPair) {
    const first = generate(attributes, { ...options, keySize: 2048 });
    keyPair = first.then((pems) => ({ privateKey: pems.private, publicKey: pems.public }));
    keyPair.catch(() => {
      keyPair = undefined;
    });
    const pems = await first;
    return { key: pems.private, cert: pems.cert };
  }
  const pair = await keyPair;
  const pems = await generate(attributes, { ...options, keyPair: pair });
  return { key: pems.private, cert: pems.cert };
}

export async function startKubeServer(options: KubeApiOptions & { tls?: boolean }): Promise<KubeServer> {
  const api = new KubeApi(options);
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) =>
    api.handle(req, res, req.url ?? '/');
  const tls = options.tls ?? true;
  let caCertificate = '';
  let server: http.Server;
  if (tls) {
    const { key, cert } = await certificate();
    caCertificate = Buffer.from(cert).toString('base64');
    server = https.createServer({ key, cert }, listener);
  } else {
    server = http.createServer(listener);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    api,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    caCertificate,
    close: () =>
      new Promise<void>((resolve, reject) => {
        api.closeWatches();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
