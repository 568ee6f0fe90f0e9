/**
 * The seed story, step by step, through the same APIs a person would use: clusters created with the real GKE
 * client, Services written through the Kubernetes API with a developer's token (as kubectl would). Shared by the
 * demo and the end-to-end tests.
 */

import type { protos } from '@google-cloud/container';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { ClusterRef } from '../shared/events/types';
import type { Sandbox } from './harness';
import { DEMO_PROJECT, NON_SPOKE } from './harness';
import { DEVELOPER_TOKEN } from './local-cloud';

export const REGION = 'us-east4';
export const CLUSTER_1: ClusterRef = {
  project: DEMO_PROJECT.id,
  location: REGION,
  name: 'gke-us-east4-cluster-1',
};
export const CLUSTER_2: ClusterRef = {
  project: DEMO_PROJECT.id,
  location: REGION,
  name: 'gke-us-east4-cluster-2',
};
export const NON_SPOKE_CLUSTER: ClusterRef = {
  project: DEMO_PROJECT.id,
  location: REGION,
  name: 'gke-us-east4-shared',
};

type ClusterSpec = protos.google.container.v1.ICluster;

/** Cluster shapes of the seed topology. */
export const SEED_CLUSTERS: Array<{ ref: ClusterRef; spec: ClusterSpec; why: string }> = [
  {
    ref: CLUSTER_1,
    why: 'spoke100, Private Service Connect control plane (no peering)',
    spec: {
      network: 'gcp-spoke100-us-east4',
      subnetwork: 'gcp-spoke100-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true },
      initialNodeCount: 1,
    },
  },
  {
    ref: CLUSTER_2,
    why: 'spoke200, private control plane over VPC peering',
    spec: {
      network: 'gcp-spoke200-us-east4',
      subnetwork: 'gcp-spoke200-us-east4',
      ipAllocationPolicy: { useIpAliases: true },
      privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: '172.16.0.16/28' },
      initialNodeCount: 1,
    },
  },
  {
    ref: NON_SPOKE_CLUSTER,
    why: 'shared-services VPC, not a spoke',
    spec: {
      network: NON_SPOKE,
      subnetwork: NON_SPOKE,
      ipAllocationPolicy: { useIpAliases: true },
      initialNodeCount: 1,
    },
  },
];

const clusterName = (ref: ClusterRef) =>
  `projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;

/** Creates a cluster with the real client and waits until GKE reports it RUNNING. */
export async function createCluster(sandbox: Sandbox, ref: ClusterRef, spec: ClusterSpec): Promise<void> {
  await sandbox.gke.createCluster({
    parent: `projects/${ref.project}/locations/${ref.location}`,
    cluster: { ...spec, name: ref.name },
  });
  await until(async () => {
    const [cluster] = await sandbox.gke.getCluster({ name: clusterName(ref) });
    return String(cluster.status) === 'RUNNING';
  }, `${ref.name} RUNNING`);
}

export async function deleteCluster(sandbox: Sandbox, ref: ClusterRef): Promise<void> {
  await sandbox.gke.deleteCluster({ name: clusterName(ref) });
  await until(async () => {
    try {
      await sandbox.gke.getCluster({ name: clusterName(ref) });
      return false;
    } catch {
      return true;
    }
  }, `${ref.name} deleted`);
}

/** A developer's Kubernetes clients for a cluster, straight at its endpoint (TLS with the cluster CA). */
export function developerKube(sandbox: Sandbox, ref: ClusterRef) {
  const server = sandbox.cloud.kube(ref);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: ref.name, server: server.url, caData: server.caCertificate }],
    users: [{ name: 'developer', token: DEVELOPER_TOKEN }],
    contexts: [{ name: ref.name, cluster: ref.name, user: 'developer' }],
    currentContext: ref.name,
  });
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}

/** Is the Service imported in the cluster? Read through the Kubernetes API, as `kubectl get serviceimport` would. */
export async function importedIn(
  sandbox: Sandbox,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<boolean> {
  try {
    await developerKube(sandbox, ref).custom.getNamespacedCustomObject({
      group: 'net.gke.io',
      version: 'v1',
      plural: 'serviceimports',
      namespace,
      name,
    });
    return true;
  } catch (error) {
    // Not there (yet); anything else is a real failure.
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
}

export async function ensureNamespace(sandbox: Sandbox, ref: ClusterRef, name: string): Promise<void> {
  const { core } = developerKube(sandbox, ref);
  try {
    await core.readNamespace({ name });
  } catch {
    await core.createNamespace({ body: { metadata: { name } } });
  }
}

/** An nginx Deployment and its Service, as `kubectl apply` of the usual manifests would create them. */
export async function deployNginx(
  sandbox: Sandbox,
  ref: ClusterRef,
  namespace: string,
  name = 'nginx',
): Promise<void> {
  const { core, apps } = developerKube(sandbox, ref);
  const labels = { app: name };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name, image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 80 }] },
    },
  });
}

/** `kubectl label svc NAME key=value` (or `key-` to remove): a JSON merge patch on the Service. */
export async function labelService(
  sandbox: Sandbox,
  ref: ClusterRef,
  namespace: string,
  name: string,
  labels: Record<string, string | null>,
): Promise<void> {
  const { core } = developerKube(sandbox, ref);
  await core.patchNamespacedService(
    { name, namespace, body: { metadata: { labels } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function deleteService(
  sandbox: Sandbox,
  ref: ClusterRef,
  namespace: string,
  name: string,
): Promise<void> {
  const { core } = developerKube(sandbox, ref);
  await core.deleteNamespacedService({ name, namespace });
}

/** Polls until `check` holds; the local cloud answers in milliseconds, so a few seconds is generous. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
