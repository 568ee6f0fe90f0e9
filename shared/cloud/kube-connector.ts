/**
 * KubeConnector: builds a Kubernetes client for a cluster, through the Connect gateway (the membership's URL,
 * addressed by project number) or directly at the cluster endpoint with its CA, per `kubeAccess`.
 *
 * A membership outside `global` is served only by its location's gateway, `LOCATION-connectgateway.googleapis.com`
 * (gcloud: command_lib/container/fleet/memberships/util.py, and `RegionalGatewayEndpoint` in gateway.py).
 */
import type { Config } from '../config';
import { NotFoundError, PermanentError, type RetryOptions } from '../errors';
import { parseMembershipName } from '../membership-name';
import { KubeAdapter, kubeConfigFor } from './kube';
import type { ClustersPort, KubeConnector, KubePort, KubeTarget } from './ports';
import type { ProjectNumbers } from './projects';

export const CONNECT_GATEWAY = 'https://connectgateway.googleapis.com';

/**
 * GKE has no such cluster (any more): nothing to connect to and nothing there to read. It answers "not found", so
 * the callers that skip clusters deleted since the member list was read (the fleet-wide export view) skip it.
 */
export class ClusterGoneError extends NotFoundError {
  constructor(cluster: string) {
    super(`cluster ${cluster} no longer exists`, 'cluster-gone');
  }
}

/**
 * The cluster exists but GKE reports no endpoint (still provisioning, or being deleted): its Kubernetes API cannot
 * be reached, so what it exports is unknown. Permanent and not "not found", so a check that must see every member
 * cluster (the cross-project rule) fails instead of passing without it.
 */
export class NoEndpointError extends PermanentError {
  constructor(cluster: string) {
    super(`cluster ${cluster} has no endpoint`, 'no-endpoint');
  }
}

/**
 * The gateway host for a membership location: the global host for `global`, `https://LOCATION-connectgateway…`
 * otherwise. A local override is a template whose `{location}` is replaced the same way for every location.
 */
export function connectGatewayBase(location: string, override?: string): string {
  if (override) return override.replaceAll('{location}', location).replace(/\/$/, '');
  return location === 'global' ? CONNECT_GATEWAY : `https://${location}-connectgateway.googleapis.com`;
}

export class KubeConnectorAdapter implements KubeConnector {
  constructor(
    private readonly config: Config,
    private readonly clusters: ClustersPort,
    private readonly projects: ProjectNumbers,
    private readonly token: () => Promise<string>,
    private readonly retry: RetryOptions = {},
  ) {}

  async connect(target: KubeTarget): Promise<KubePort> {
    const { server, caCertificate } =
      this.config.kubeAccess === 'connectGateway'
        ? await this.viaGateway(target)
        : await this.viaEndpoint(target);
    const kc = kubeConfigFor({
      server,
      caCertificate,
      token: await this.token(),
      insecure: server.startsWith('http://'),
    });
    return new KubeAdapter(kc, this.retry, { capMs: this.config.callTimeoutSeconds * 1000 });
  }

  private async viaGateway(target: KubeTarget): Promise<{ server: string; caCertificate?: string }> {
    const membership = target.membership ? parseMembershipName(target.membership) : undefined;
    if (!membership)
      throw new PermanentError(
        'the cluster has no fleet membership for the Connect gateway',
        'no-membership',
      );
    const number = await this.projects.numberOf(membership.project);
    const base = connectGatewayBase(membership.location, this.config.endpoints?.connectGateway);
    return {
      server: `${base}/v1/projects/${number}/locations/${membership.location}/gkeMemberships/${membership.id}`,
    };
  }

  private async viaEndpoint(target: KubeTarget): Promise<{ server: string; caCertificate?: string }> {
    const cluster = target.cluster ?? (await this.clusters.get(target.ref));
    if (!cluster) throw new ClusterGoneError(target.ref.name);
    if (!cluster.endpoint) throw new NoEndpointError(target.ref.name);
    return { server: `https://${cluster.endpoint}`, caCertificate: cluster.caCertificate };
  }
}
