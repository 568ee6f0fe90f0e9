import assert from 'node:assert/strict';
import { ClusterGoneError, KubeConnectorAdapter, NoEndpointError } from '../../shared/cloud/kube-connector';
import type { ClusterInfo, ClustersPort } from '../../shared/cloud/ports';
import type { ProjectNumbers } from '../../shared/cloud/projects';
import { parseConfig } from '../../shared/config';
import { classify, isNotFound, type PermanentError } from '../../shared/errors';

const ref = { project: 'spoke-prj-one', location: 'us-east4', name: 'gke-1' };

function connector(found: ClusterInfo | undefined): KubeConnectorAdapter {
  const config = parseConfig({
    fleetProject: 'spoke-prj-one',
    projects: ['spoke-prj-one'],
    spokes: [{ network: 'n' }],
    kubeAccess: 'endpoint',
  });
  const clusters = { get: async () => found } as unknown as ClustersPort;
  return new KubeConnectorAdapter(config, clusters, {} as ProjectNumbers, async () => 'token');
}

describe('kube connector: a cluster it cannot reach at its endpoint', () => {
  it('a cluster GKE no longer has: ClusterGoneError, permanent, and "not found" (callers may skip it)', async () => {
    const error = await connector(undefined)
      .connect({ ref })
      .then(
        () => assert.fail('connected to a cluster that does not exist'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ClusterGoneError);
    assert.equal((error as PermanentError).reason, 'cluster-gone');
    assert.equal(classify(error), 'permanent');
    assert.equal(isNotFound(error), true);
  });

  it('a cluster with no endpoint: NoEndpointError, permanent, and not "not found" (no check passes without it)', async () => {
    const error = await connector({ ref } as unknown as ClusterInfo)
      .connect({ ref })
      .then(
        () => assert.fail('connected to a cluster without an endpoint'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof NoEndpointError);
    assert.equal((error as PermanentError).reason, 'no-endpoint');
    assert.equal(classify(error), 'permanent');
    assert.equal(isNotFound(error), false);
  });
});
