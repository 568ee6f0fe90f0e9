/**
 * A kubeconfig with one context per cluster, readable by kubectl and by client-node's
 * `KubeConfig.loadFromString`.
 */
import YAML from 'yaml';

export interface KubeconfigContext {
  name: string;
  server: string;
  /** Base64 of the CA PEM (GKE's masterAuth.clusterCaCertificate). Without it TLS is not verified. */
  caCertificate?: string;
  token: string;
  namespace?: string;
}

export function kubeconfigYaml(contexts: KubeconfigContext[], current?: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({
      name: c.name,
      cluster: c.caCertificate
        ? { server: c.server, 'certificate-authority-data': c.caCertificate }
        : // client-node refuses a plain-HTTP server unless TLS verification is off.
          { server: c.server, 'insecure-skip-tls-verify': true },
    })),
    users: contexts.map((c) => ({ name: c.name, user: { token: c.token } })),
    contexts: contexts.map((c) => ({
      name: c.name,
      context: { cluster: c.name, user: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) },
    })),
    'current-context': current ?? contexts[0]?.name ?? '',
    preferences: {},
  };
  return YAML.stringify(config);
}
