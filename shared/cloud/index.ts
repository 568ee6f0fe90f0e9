/**
 * Builds the cloud ports on the real client libraries. Each client is created on first use, so an event that only
 * needs GKE never loads or connects the others. With `endpoints` set (local runs), clients point at the loopback
 * stand-ins and carry the static sandbox token instead of Application Default Credentials.
 *
 * Client libraries are required inside the factories, not imported at the top: each is evaluated only when its
 * first client is built (a Service event never loads Compute), and the build can put them in a file of their own
 * that is read on first use (scripts/build.mjs). Compute is deep-imported client by client: its v1 index loads
 * every Compute client.
 */

import type {
  GlobalOperationsClient,
  NetworksClient,
  SubnetworksClient,
} from '@google-cloud/compute/build/src/v1';
import type { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import type { GoogleAuth } from 'google-auth-library';
import type { Config } from '../config';
import type { RetryOptions } from '../errors';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { grpcCallName, restCallName, withGaxTimeouts, withGoogleapisTimeouts } from './call-timeouts';
import { ClustersAdapter } from './clusters';
import { FleetAdapter } from './fleet';
import type { KubeConnectorAdapter } from './kube-connector';
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

/**
 * Operation waits against the stand-ins, which finish operations in milliseconds (Google: seconds to minutes). Under
 * a scaled timing profile the longest interval is the deployed 10 s scaled alike (20–200 ms), so a wait overshoots an
 * operation's end in the same proportion as deployed.
 */
export function localWait(timeScale: number): WaitOptions {
  return { intervalMs: 20, maxIntervalMs: Math.min(200, Math.max(20, 10_000 * timeScale)) };
}

export function createCloud(config: Config, log: Logger): Cloud {
  const local = config.endpoints;
  const retry: RetryOptions = {
    budgetMs: config.retryBudgetMs,
    onRetry: (error, attempt, delayMs) =>
      log.debug('retrying a transient failure', { attempt, delayMs, error: describeError(error) }),
  };
  // Every call of every client: min(time left in the invocation, this cap) (shared/calls).
  const caps = { capMs: config.callTimeoutSeconds * 1000 };
  const wait: WaitOptions = local ? localWait(config.timeScale) : {};
  const auth = lazy((): GoogleAuth => {
    const { GoogleAuth } = require('google-auth-library') as typeof import('google-auth-library');
    return new GoogleAuth({ scopes: SCOPES });
  });

  const container = lazy((): ClusterManagerClient => {
    const { ClusterManagerClient } =
      require('@google-cloud/container/build/src/v1') as typeof import('@google-cloud/container/build/src/v1');
    const make = (): ClusterManagerClient => {
      if (!local?.container) return new ClusterManagerClient();
      const { grpc } = require('google-gax') as typeof import('google-gax');
      const { host, port } = hostPort(local.container);
      return new ClusterManagerClient({
        apiEndpoint: host,
        port,
        sslCreds: grpc.credentials.createInsecure(),
        universeDomain: 'googleapis.com',
      });
    };
    return withGaxTimeouts(make(), grpcCallName('container'), caps);
  });
  const computeOptions = () => {
    if (!local?.compute) return {};
    const { PassThroughClient } = require('google-auth-library') as typeof import('google-auth-library');
    const { host, port } = hostPort(local.compute);
    return { apiEndpoint: host, port, protocol: 'http', fallback: true, authClient: new PassThroughClient() };
  };
  const networks = lazy((): NetworksClient => {
    const { NetworksClient } =
      require('@google-cloud/compute/build/src/v1/networks_client') as typeof import('@google-cloud/compute/build/src/v1/networks_client');
    return withGaxTimeouts(new NetworksClient(computeOptions()), restCallName('compute', 'networks'), caps);
  });
  const subnetworks = lazy((): SubnetworksClient => {
    const { SubnetworksClient } =
      require('@google-cloud/compute/build/src/v1/subnetworks_client') as typeof import('@google-cloud/compute/build/src/v1/subnetworks_client');
    return new SubnetworksClient(computeOptions());
  });
  const operations = lazy((): GlobalOperationsClient => {
    const { GlobalOperationsClient } =
      require('@google-cloud/compute/build/src/v1/global_operations_client') as typeof import('@google-cloud/compute/build/src/v1/global_operations_client');
    return withGaxTimeouts(
      new GlobalOperationsClient(computeOptions()),
      restCallName('compute', 'globalOperations'),
      caps,
    );
  });
  const hub = lazy(() => {
    const { gkehub } =
      require('googleapis/build/src/apis/gkehub') as typeof import('googleapis/build/src/apis/gkehub');
    const api = gkehub({
      version: 'v1',
      retry: false,
      ...(local?.gkehub ? { rootUrl: `${local.gkehub.replace(/\/$/, '')}/` } : { auth: auth() }),
    });
    return withGoogleapisTimeouts(api, 'gkehub', caps);
  });
  const crm = lazy(() => {
    const { cloudresourcemanager } =
      require('googleapis/build/src/apis/cloudresourcemanager') as typeof import('googleapis/build/src/apis/cloudresourcemanager');
    const api = cloudresourcemanager({
      version: 'v3',
      retry: false,
      ...(local?.resourcemanager
        ? { rootUrl: `${local.resourcemanager.replace(/\/$/, '')}/` }
        : { auth: auth() }),
    });
    return withGoogleapisTimeouts(api, 'resourcemanager', caps);
  });
  const token = async (): Promise<string> => {
    if (local) return local.token;
    const value = await auth().getAccessToken();
    if (!value) throw new Error('no access token from Application Default Credentials');
    return value;
  };

  const clusters = new ClustersAdapter(container, retry, wait);
  const kubeConnector = lazy((): KubeConnectorAdapter => {
    const { KubeConnectorAdapter } = require('./kube-connector') as typeof import('./kube-connector');
    return new KubeConnectorAdapter(config, clusters, new ProjectNumbers(crm, retry), token, retry);
  });
  return {
    clusters,
    peering: new PeeringAdapter(networks, operations, subnetworks, retry, wait),
    fleet: new FleetAdapter(hub, retry, wait),
    // client-node loads with the first Kubernetes connection.
    kube: { connect: (target) => kubeConnector().connect(target) },
  };
}
