/**
 * KubeConnector: builds a Kubernetes client for a cluster, through the Connect gateway (the membership's URL,
 * addressed by project number) or directly at the cluster endpoint with its CA, per `kubeAccess`.
 */
import type { Config } from '../config';
import { PermanentError, type RetryOptions } from '../errors';
import { parseMembershipName } from '../reconcile/names';
import { KubeAdapter, kubeConfigFor } from './kube';
import type { ClustersPort, KubeConnector, KubePort, KubeTarget } from './ports';
import type { ProjectNumbers } from './projects';

export const CONNECT_GATEWAY = 'https://connectgateway.googleapis.com';

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
    const base = this.config.endpoints?.connectGateway ?? CONNECT_GATEWAY;
    return {
      server: `${base}/v1/projects/${number}/locations/${membership.location}/gkeMemberships/${membership.id}`,
    };
  }

  private async viaEndpoint(target: KubeTarget): Promise<{ server: string; caCertificate?: string }> {
    const cluster = target.cluster ?? (await this.clusters.get(target.ref));
    if (!cluster?.endpoint) {
      throw Object.assign(new Error(`cluster ${target.ref.name} has no endpoint`), { code: 404 });
    }
    return { server: `https://${cluster.endpoint}`, caCertificate: cluster.caCertificate };
  }
}
