/**
 * Builds the cloud ports on the real client libraries. Each client is created on first use, so an event that only
 * needs GKE never loads or connects the others. With `endpoints` set (local runs), clients point at the loopback
 * stand-ins and carry the static sandbox token instead of Application Default Credentials.
 */

import { GlobalOperationsClient, NetworksClient } from '@google-cloud/compute/build/src/v1';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { GoogleAuth, PassThroughClient } from 'google-auth-library';
import { grpc } from 'google-gax';
import { cloudresourcemanager } from 'googleapis/build/src/apis/cloudresourcemanager';
import { gkehub } from 'googleapis/build/src/apis/gkehub';
import type { Config } from '../config';
import type { RetryOptions } from '../errors';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { ClustersAdapter } from './clusters';
import { FleetAdapter } from './fleet';
import { KubeConnectorAdapter } from './kube-connector';
import type { WaitOptions } from './operations';
import { PeeringAdapter } from './peering';
import type { Cloud } from './ports';
import { ProjectNumbers } from './projects';

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

function hostPort(value: string): { host: string; port: number } {
  const url = new URL(value.includes('://') ? value : `http://${value}`);
  return { host: url.hostname, port: Number(url.port) };
}

export function createCloud(config: Config, log: Logger): Cloud {
  const local = config.endpoints;
  const retry: RetryOptions = {
    budgetMs: config.retryBudgetMs,
    onRetry: (error, attempt, delayMs) =>
      log.debug('retrying a transient failure', { attempt, delayMs, error: describeError(error) }),
  };
  // Stand-ins finish operations in milliseconds; Google in seconds to minutes.
  const wait: WaitOptions = local ? { intervalMs: 20, maxIntervalMs: 200 } : {};
  const auth = lazy(() => new GoogleAuth({ scopes: SCOPES }));

  const container = lazy(() => {
    if (!local?.container) return new ClusterManagerClient();
    const { host, port } = hostPort(local.container);
    return new ClusterManagerClient({
      apiEndpoint: host,
      port,
      sslCreds: grpc.credentials.createInsecure(),
      universeDomain: 'googleapis.com',
    });
  });
  const computeOptions = () => {
    if (!local?.compute) return {};
    const { host, port } = hostPort(local.compute);
    return { apiEndpoint: host, port, protocol: 'http', fallback: true, authClient: new PassThroughClient() };
  };
  const networks = lazy(() => new NetworksClient(computeOptions()));
  const operations = lazy(() => new GlobalOperationsClient(computeOptions()));
  const hub = lazy(() =>
    gkehub({
      version: 'v1',
      retry: false,
      ...(local?.gkehub ? { rootUrl: `${local.gkehub.replace(/\/$/, '')}/` } : { auth: auth() }),
    }),
  );
  const crm = lazy(() =>
    cloudresourcemanager({
      version: 'v3',
      retry: false,
      ...(local?.resourcemanager
        ? { rootUrl: `${local.resourcemanager.replace(/\/$/, '')}/` }
        : { auth: auth() }),
    }),
  );
  const token = async (): Promise<string> => {
    if (local) return local.token;
    const value = await auth().getAccessToken();
    if (!value) throw new Error('no access token from Application Default Credentials');
    return value;
  };

  const clusters = new ClustersAdapter(container, retry, wait);
  return {
    clusters,
    peering: new PeeringAdapter(networks, operations, retry, wait),
    fleet: new FleetAdapter(hub, retry, wait),
    kube: new KubeConnectorAdapter(config, clusters, new ProjectNumbers(crm, retry), token, retry),
  };
}
