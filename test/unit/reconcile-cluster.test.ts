import assert from 'node:assert/strict';
import type { ClusterRef } from '../../shared/events/types';
import type { ActionRecord } from '../../shared/reconcile/action';
import { isAdmitted, offboardCluster, reconcileCluster } from '../../shared/reconcile/cluster';
import { Memo } from '../../shared/reconcile/context';
import { fallbackMembershipId } from '../../shared/reconcile/names';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT, testContext } from '../fakes/context';
import { gaxiosError, grpcError, kubeError } from '../fakes/errors';

const ref: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'gke-us-east4-cluster-1' };
const link = `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/gke-us-east4-cluster-1`;
const outcomes = (records: ActionRecord[]) => records.map((r) => `${r.step}:${r.outcome}`);
const ADVERTISE = {
  controllerUrl: 'https://controller.example.com',
  username: 'spokefleet',
  passwordSecret: 'projects/p/secrets/s/versions/1',
  advertise: { verifyDelayMs: 0 },
};

describe('reconcileCluster', () => {
  it('onboards a new spoke cluster: every row converges, with the exact writes', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(
      clusterInfo(ref, {
        peeringName: 'gke-n1-peer',
        createTime: new Date().toISOString(),
        nodePools: [
          { name: 'default-pool', metadataMode: 'GCE_METADATA' },
          { name: 'spot', metadataMode: 'MODE_UNSPECIFIED' },
        ],
      }),
    );
    cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-n1-peer`, {
      name: 'gke-n1-peer',
      exportCustomRoutes: false,
      importCustomRoutes: true,
    });
    const { ctx } = testContext(cloud);

    const records = await reconcileCluster(ctx, ref);

    assert.deepEqual(outcomes(records), [
      'spoke:unchanged',
      'vpc-native:unchanged',
      'workload-identity:updated',
      'node-pools:updated',
      'membership:created',
      'mcs-feature:created',
      'peering:updated',
      'namespaces:created',
    ]);
    assert.deepEqual(
      cloud.log.writes().map((c) => [c.api, c.method, c.args]),
      [
        // The cluster's own project's pool: GKE accepts no other (the fleet pool belongs to the membership).
        ['clusters', 'setWorkloadPool', [ref, `${PROJECT}.svc.id.goog`]],
        // Then its node pools, one at a time, onto the GKE metadata server.
        ['clusters', 'updateNodePoolMetadata', [ref, 'default-pool']],
        ['clusters', 'updateNodePoolMetadata', [ref, 'spot']],
        [
          'fleet',
          'createMembership',
          [
            FLEET,
            'global',
            'gke-us-east4-cluster-1',
            {
              resourceLink: link,
              issuer: `https://container.googleapis.com/v1/projects/${PROJECT}/locations/us-east4/clusters/gke-us-east4-cluster-1`,
              labels: { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' },
            },
          ],
        ],
        ['fleet', 'createFeature', [FLEET, 'multiclusterservicediscovery', { 'managed-by': 'spokefleet' }]],
        // Both flags are sent; the import flag keeps its current value.
        [
          'peering',
          'update',
          [
            PROJECT,
            'gcp-spoke100-us-east4',
            { name: 'gke-n1-peer', exportCustomRoutes: true, importCustomRoutes: true },
          ],
        ],
        [
          `kube:${PROJECT}/us-east4/gke-us-east4-cluster-1`,
          'createNamespace',
          ['mcs-common', { 'app.kubernetes.io/managed-by': 'spokefleet' }],
        ],
      ],
    );
    assert.deepEqual(
      cloud.connects[0].membership,
      `projects/${FLEET}/locations/global/memberships/gke-us-east4-cluster-1`,
    );
  });

  it('a second run writes nothing', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { peeringName: 'gke-n1-peer' }));
    cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-n1-peer`, {
      name: 'gke-n1-peer',
      exportCustomRoutes: false,
      importCustomRoutes: false,
    });
    await reconcileCluster(testContext(cloud).ctx, ref);
    cloud.log.reset();
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(cloud.log.writes(), []);
    assert.ok(
      records.every((r) => r.outcome === 'unchanged'),
      outcomes(records).join(),
    );
  });

  it('a Kubernetes client that cannot be built fails its own step; namespaces and exports are skipped', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { peeringName: 'gke-n1-peer' }));
    cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-n1-peer`, {
      name: 'gke-n1-peer',
      exportCustomRoutes: true,
      importCustomRoutes: false,
    });
    cloud.log.failures.set('kube.connect', () => grpcError(14, 'unavailable'));
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(records).slice(-3), [
      'kube-connect:failed',
      'namespaces:skipped',
      'exports:skipped',
    ]);
    assert.equal(records.find((r) => r.step === 'kube-connect')?.retryable, true);
    assert.deepEqual(
      records.slice(-2).map((r) => r.reason),
      ['the Kubernetes API is unreachable', 'the Kubernetes API is unreachable'],
    );
  });

  it('listing the Services to export fails: an exports row fails (transient), after the namespaces were seeded', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    cloud.log.failures.set(`kube:${PROJECT}/us-east4/gke-us-east4-cluster-1.listServices`, () =>
      kubeError(503, 'unavailable'),
    );
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(records).slice(-2), ['namespaces:created', 'exports:failed']);
    assert.equal(records.at(-1)?.retryable, true);
    assert.match(records.at(-1)?.reason ?? '', /unavailable/);
  });

  const refusals: Array<{ name: string; setup: (c: FakeCloud) => void; expect: string[]; reason: RegExp }> = [
    {
      name: 'non-spoke network → skipped, nothing else',
      setup: (c) =>
        c.addCluster(clusterInfo(ref, { network: { project: PROJECT, name: 'shared-services' } })),
      expect: ['spoke:skipped'],
      reason: /not a configured spoke/,
    },
    {
      name: 'routes-based cluster → refused before anything else',
      setup: (c) => c.addCluster(clusterInfo(ref, { vpcNative: false })),
      expect: ['spoke:unchanged', 'vpc-native:refused'],
      reason: /VPC-native/,
    },
    {
      name: 'HttpLoadBalancing add-on off → refused, naming the command that turns it on',
      setup: (c) => c.addCluster(clusterInfo(ref, { httpLoadBalancing: false })),
      expect: ['spoke:unchanged', 'vpc-native:refused'],
      reason: /HttpLoadBalancing add-on is disabled.*--update-addons=HttpLoadBalancing=ENABLED/,
    },
    {
      name: 'cluster gone → skipped',
      setup: () => {},
      expect: ['spoke:skipped'],
      reason: /not found/,
    },
    {
      name: 'cluster being deleted → skipped',
      setup: (c) => c.addCluster(clusterInfo(ref, { status: 'STOPPING' })),
      expect: ['spoke:skipped'],
      reason: /STOPPING/,
    },
  ];
  for (const t of refusals) {
    it(t.name, async () => {
      const cloud = new FakeCloud();
      t.setup(cloud);
      const records = await reconcileCluster(testContext(cloud).ctx, ref);
      assert.deepEqual(outcomes(records), t.expect);
      assert.match(records.at(-1)?.reason ?? '', t.reason);
      assert.deepEqual(cloud.log.writes(), []);
    });
  }

  it('a cluster in a project that is not allowed is refused without a single read', async () => {
    const cloud = new FakeCloud();
    const other = { ...ref, project: 'someone-elses' };
    cloud.addCluster(clusterInfo(other));
    const records = await reconcileCluster(testContext(cloud).ctx, other);
    assert.deepEqual(outcomes(records), ['spoke:refused']);
    assert.equal(records[0].reason, 'project someone-elses is not in the allowed projects');
    assert.deepEqual(cloud.log.calls, []);
  });

  it('a failed workload identity update stops the membership and the node pools, saying why', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(
      clusterInfo(ref, { nodePools: [{ name: 'default-pool', metadataMode: 'GCE_METADATA' }] }),
    );
    cloud.log.failures.set('clusters.setWorkloadPool', () => grpcError(14, 'unavailable'));
    const records = await reconcileCluster(testContext(cloud, { retryBudgetMs: 0 }).ctx, ref);
    const row = (step: string) => records.find((r) => r.step === step);
    assert.equal(row('workload-identity')?.outcome, 'failed');
    assert.deepEqual(
      [row('node-pools'), row('membership')].map((r) => [r?.outcome, r?.reason]),
      [
        ['skipped', 'workload identity is failed'],
        ['skipped', 'workload identity is failed'],
      ],
    );
    assert.deepEqual(
      cloud.log.calls.filter((c) => c.method === 'updateNodePoolMetadata' || c.method === 'listMemberships'),
      [],
    );
  });

  it('matches spokes by regex on the network name', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { network: { project: PROJECT, name: 'gcp-spoke200-us-east4' } }));
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.equal(records[0].outcome, 'unchanged');
    assert.equal(records[1].reason, 'VPC-native (alias IPs), HttpLoadBalancing add-on on');
  });

  const wiPolicies: Array<{
    policy: 'enable' | 'require' | 'ignore';
    pool?: string;
    expect: string;
    membership: string;
  }> = [
    { policy: 'enable', expect: 'updated', membership: 'created' },
    { policy: 'require', expect: 'refused', membership: 'skipped' },
    { policy: 'ignore', expect: 'skipped', membership: 'created' },
    { policy: 'enable', pool: 'other-prj.svc.id.goog', expect: 'refused', membership: 'skipped' },
    // The fleet project's pool on a cluster of another project is not the cluster's pool.
    { policy: 'enable', pool: `${FLEET}.svc.id.goog`, expect: 'refused', membership: 'skipped' },
    { policy: 'require', pool: `${PROJECT}.svc.id.goog`, expect: 'unchanged', membership: 'created' },
  ];
  for (const t of wiPolicies) {
    it(`workload identity policy ${t.policy} with pool ${t.pool ?? 'unset'} → ${t.expect}`, async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { workloadPool: t.pool }));
      const records = await reconcileCluster(
        testContext(cloud, { workloadIdentity: { policy: t.policy } }).ctx,
        ref,
      );
      assert.equal(records.find((r) => r.step === 'workload-identity')?.outcome, t.expect);
      assert.equal(records.find((r) => r.step === 'membership')?.outcome, t.membership);
    });
  }

  describe('node pools on the GKE metadata server', () => {
    const hourAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();
    const pools = () => [
      { name: 'default-pool', metadataMode: 'GCE_METADATA' },
      { name: 'gpu', metadataMode: 'GKE_METADATA' },
    ];
    const cases: Array<{
      name: string;
      nodePools?: 'migrate' | 'migrate-new' | 'report';
      createTime?: string;
      expect: string;
      writes: string[];
    }> = [
      {
        name: 'migrate-new, a new cluster → migrated',
        createTime: hourAgo(0.1),
        expect: 'updated',
        writes: ['default-pool'],
      },
      {
        name: 'migrate-new, a cluster older than maxEventAgeSeconds → reported',
        createTime: hourAgo(2),
        expect: 'refused',
        writes: [],
      },
      { name: 'migrate-new, no createTime → reported', expect: 'refused', writes: [] },
      {
        name: 'migrate, an old cluster → migrated',
        nodePools: 'migrate',
        createTime: hourAgo(48),
        expect: 'updated',
        writes: ['default-pool'],
      },
      {
        name: 'report, a new cluster → reported',
        nodePools: 'report',
        createTime: hourAgo(0.1),
        expect: 'refused',
        writes: [],
      },
    ];
    for (const t of cases) {
      it(t.name, async () => {
        const cloud = new FakeCloud();
        cloud.addCluster(
          clusterInfo(ref, {
            workloadPool: `${PROJECT}.svc.id.goog`,
            createTime: t.createTime,
            nodePools: pools(),
          }),
        );
        const { ctx } = testContext(cloud, { workloadIdentity: { nodePools: t.nodePools } });
        const records = await reconcileCluster(ctx, ref);
        const record = records.find((r) => r.step === 'node-pools');
        assert.equal(record?.outcome, t.expect);
        assert.deepEqual(
          cloud.log
            .writes()
            .filter((c) => c.method === 'updateNodePoolMetadata')
            .map((c) => c.args[1]),
          t.writes,
        );
        if (t.expect === 'refused') {
          // The report names the pool and the exact command to run, and the rest of onboarding goes on.
          assert.match(record?.reason ?? '', /default-pool \(GCE_METADATA\)/);
          assert.ok(
            record?.reason?.includes(
              `gcloud container node-pools update default-pool --cluster=${ref.name} --location=us-east4 --project=${PROJECT} --workload-metadata=GKE_METADATA`,
            ),
          );
          assert.doesNotMatch(record?.reason ?? '', /gpu/);
          assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'created');
        }
      });
    }

    it('every pool already on GKE_METADATA → unchanged, nothing written', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(
        clusterInfo(ref, {
          workloadPool: `${PROJECT}.svc.id.goog`,
          nodePools: [{ name: 'default-pool', metadataMode: 'GKE_METADATA' }],
        }),
      );
      const records = await reconcileCluster(testContext(cloud).ctx, ref);
      assert.equal(records.find((r) => r.step === 'node-pools')?.outcome, 'unchanged');
      assert.deepEqual(
        cloud.log.writes().filter((c) => c.api === 'clusters'),
        [],
      );
    });

    it('workload identity ignored and off → node pools skipped, never moved', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { createTime: hourAgo(0.1), nodePools: pools() }));
      const records = await reconcileCluster(testContext(cloud, { workloadIdentity: 'ignore' }).ctx, ref);
      assert.equal(records.find((r) => r.step === 'node-pools')?.outcome, 'skipped');
      assert.deepEqual(
        cloud.log.writes().filter((c) => c.api === 'clusters'),
        [],
      );
    });

    it('a failed pool update fails the step as transient, and the next pool is not started', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(
        clusterInfo(ref, {
          workloadPool: `${PROJECT}.svc.id.goog`,
          createTime: hourAgo(0.1),
          nodePools: [
            { name: 'a', metadataMode: 'GCE_METADATA' },
            { name: 'b', metadataMode: 'GCE_METADATA' },
          ],
        }),
      );
      cloud.log.failures.set('clusters.updateNodePoolMetadata', () => grpcError(14, 'busy'));
      const records = await reconcileCluster(testContext(cloud).ctx, ref);
      const record = records.find((r) => r.step === 'node-pools');
      assert.equal(record?.outcome, 'failed');
      assert.equal(record?.retryable, true);
      assert.deepEqual(
        cloud.log.calls.filter((c) => c.method === 'updateNodePoolMetadata').map((c) => c.args[1]),
        ['a'],
      );
    });
  });

  describe('fleet size (GKE Hub quota: 250 global, 50 regional memberships)', () => {
    const fill = (cloud: FakeCloud, location: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const name = `projects/${FLEET}/locations/${location}/memberships/other-${i}`;
        cloud.memberships.set(name, {
          name,
          resourceLink: `//container.googleapis.com/projects/${PROJECT}/locations/${location}/clusters/other-${i}`,
          labels: {},
          workloadIdentityPool: `${FLEET}.svc.id.goog`,
        });
      }
    };

    it('a full global fleet: refused "fleet is full", nothing created, later Kubernetes steps skipped', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
      fill(cloud, 'global', 250);
      fill(cloud, 'us-east4', 50); // regional ones do not count against the global quota
      const records = await reconcileCluster(testContext(cloud).ctx, ref);
      const membership = records.find((r) => r.step === 'membership');
      assert.equal(membership?.outcome, 'refused');
      assert.match(
        membership?.reason ?? '',
        /^fleet is full: 250 global memberships in fleet-host-prj \(quota 250\)/,
      );
      assert.equal(cloud.log.calls.filter((c) => c.method === 'createMembership').length, 0);
      assert.equal(records.find((r) => r.step === 'namespaces')?.outcome, 'skipped');
    });

    it('one below the quota → created; regional location counts regional memberships only', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
      fill(cloud, 'global', 249);
      fill(cloud, 'us-east4', 49);
      const global = await reconcileCluster(testContext(cloud).ctx, ref);
      assert.equal(global.find((r) => r.step === 'membership')?.outcome, 'created');

      const regional = new FakeCloud();
      regional.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
      fill(regional, 'us-east4', 50);
      const records = await reconcileCluster(
        testContext(regional, { membership: { location: 'region' } }).ctx,
        ref,
      );
      assert.match(
        records.find((r) => r.step === 'membership')?.reason ?? '',
        /^fleet is full: 50 regional memberships/,
      );
    });

    it('the quota answer from Hub after a concurrent writer filled the fleet → refused, not retried forever', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
      fill(cloud, 'global', 249);
      cloud.log.failures.set('fleet.createMembership', () => {
        fill(cloud, 'global', 250); // someone else took the last slot
        return gaxiosError(429, 'RESOURCE_EXHAUSTED', 'quota');
      });
      const records = await reconcileCluster(testContext(cloud).ctx, ref);
      const membership = records.find((r) => r.step === 'membership');
      assert.equal(membership?.outcome, 'refused');
      assert.match(membership?.reason ?? '', /fleet is full/);
    });

    it('a 429 while the fleet is not full stays a transient failure', async () => {
      const cloud = new FakeCloud();
      cloud.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
      cloud.log.failures.set('fleet.createMembership', () => gaxiosError(429, 'RESOURCE_EXHAUSTED', 'rate'));
      const records = await reconcileCluster(testContext(cloud, { retryBudgetMs: 0 }).ctx, ref);
      const membership = records.find((r) => r.step === 'membership');
      assert.equal(membership?.outcome, 'failed');
      assert.equal(membership?.retryable, true);
    });
  });

  it('a cluster born in the fleet gets no second membership', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(
      clusterInfo(ref, {
        workloadPool: `${PROJECT}.svc.id.goog`,
        fleetMembership: `//gkehub.googleapis.com/projects/${FLEET}/locations/us-east4/memberships/gke-us-east4-cluster-1`,
      }),
    );
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'unchanged');
    assert.equal(cloud.log.writes().filter((c) => c.method === 'createMembership').length, 0);
    assert.equal(
      cloud.connects[0].membership,
      `projects/${FLEET}/locations/us-east4/memberships/gke-us-east4-cluster-1`,
    );
  });

  it('finds an existing membership by resource link, whatever its id', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    cloud.memberships.set(`projects/${FLEET}/locations/us-east4/memberships/custom`, {
      name: `projects/${FLEET}/locations/us-east4/memberships/custom`,
      resourceLink: link.replace('/locations/', '/zones/'),
      labels: {},
      workloadIdentityPool: `${FLEET}.svc.id.goog`,
    });
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'unchanged');
  });

  it('an existing membership without workload identity gets the cluster as its authority', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    const name = `projects/${FLEET}/locations/global/memberships/by-hand`;
    cloud.memberships.set(name, { name, resourceLink: link, labels: {} });
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'updated');
    assert.deepEqual(
      cloud.log
        .writes()
        .filter((c) => c.api === 'fleet' && c.method !== 'createFeature')
        .map((c) => [c.method, c.args]),
      [
        [
          'setAuthority',
          [
            name,
            `https://container.googleapis.com/v1/projects/${PROJECT}/locations/us-east4/clusters/gke-us-east4-cluster-1`,
          ],
        ],
      ],
    );
  });

  it('falls back to a deterministic id when the preferred one belongs to another cluster', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    const taken = `projects/${FLEET}/locations/global/memberships/gke-us-east4-cluster-1`;
    cloud.memberships.set(taken, {
      name: taken,
      resourceLink: link.replace(PROJECT, 'spoke-prj-two'),
      labels: {},
    });
    await reconcileCluster(testContext(cloud).ctx, ref);
    const create = cloud.log.writes().find((c) => c.method === 'createMembership');
    assert.equal(create?.args[2], fallbackMembershipId('gke-us-east4-cluster-1', ref));
    assert.match(String(create?.args[2]), /^gke-us-east4-cluster-1-[0-9a-f]{8}$/);
  });

  it('regional membership location when configured', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo({ ...ref, location: 'us-east4-a' }));
    await reconcileCluster(testContext(cloud, { membership: { location: 'region' } }).ctx, {
      ...ref,
      location: 'us-east4-a',
    });
    const create = cloud.log.writes().find((c) => c.method === 'createMembership');
    assert.equal(create?.args[1], 'us-east4');
  });

  it('PSC cluster: peering not applicable, nothing read from compute', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    const peering = records.find((r) => r.step === 'peering');
    assert.equal(peering?.outcome, 'skipped');
    assert.match(peering?.reason ?? '', /not applicable/);
    assert.equal(cloud.log.calls.filter((c) => c.api === 'peering').length, 0);
  });

  it('dry-run plans every write and makes none', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(
      clusterInfo(ref, {
        peeringName: 'gke-n1-peer',
        createTime: new Date().toISOString(),
        nodePools: [{ name: 'default-pool', metadataMode: 'GCE_METADATA' }],
      }),
    );
    cloud.peerings.set(`${PROJECT}/gcp-spoke100-us-east4/gke-n1-peer`, {
      name: 'gke-n1-peer',
      exportCustomRoutes: false,
      importCustomRoutes: false,
    });
    const records = await reconcileCluster(testContext(cloud, {}, true).ctx, ref);
    assert.deepEqual(cloud.log.writes(), []);
    assert.deepEqual(outcomes(records), [
      'spoke:unchanged',
      'vpc-native:unchanged',
      'workload-identity:planned',
      'node-pools:planned',
      'membership:planned',
      'mcs-feature:planned',
      'peering:planned',
      'namespaces:skipped',
      'exports:skipped',
    ]);
    assert.ok(records.every((r) => r.dryRun));
  });

  it('dry run with endpoint access: the planned membership does not stop the Kubernetes rows', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { workloadPool: `${PROJECT}.svc.id.goog` }));
    const records = await reconcileCluster(testContext(cloud, { kubeAccess: 'endpoint' }, true).ctx, ref);
    assert.equal(records.find((r) => r.step === 'membership')?.outcome, 'planned');
    assert.equal(records.find((r) => r.step === 'namespaces')?.outcome, 'planned');
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('with aviatrix.advertise on, the advertise step runs and records its decision', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { peeringName: 'gke-n1-peer', ranges: { pods: '10.4.0.0/14' } }));
    const { ctx } = testContext(cloud, { aviatrix: ADVERTISE });
    const asked: unknown[] = [];
    ctx.advertiser = {
      listGateways: async (vpc) => {
        asked.push(vpc);
        return [];
      },
      getGateway: async () => undefined,
      setIncludedCidrs: async () => {},
    };
    const records = await reconcileCluster(ctx, ref);
    const advertise = records.find((r) => r.step === 'advertise');
    assert.equal(advertise?.outcome, 'refused');
    assert.match(advertise?.reason ?? '', /lists no spoke gateway/);
    assert.deepEqual(asked, [{ project: PROJECT, network: 'gcp-spoke100-us-east4' }]);
  });

  it('a transient failure is recorded as retryable and later rows that need it are skipped', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    cloud.log.failures.set('fleet.listMemberships', () => grpcError(14, 'unavailable'));
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    const membership = records.find((r) => r.step === 'membership');
    assert.equal(membership?.outcome, 'failed');
    assert.equal(membership?.retryable, true);
    assert.equal(records.find((r) => r.step === 'namespaces')?.outcome, 'skipped');
    // Independent rows still ran.
    assert.equal(records.find((r) => r.step === 'mcs-feature')?.outcome, 'created');
  });

  it('the MCS feature created by another invocation since the read (409 AlreadyExists): unchanged, not failed', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    // Another cluster's event created the feature between this invocation's read and its create.
    cloud.log.failures.set('fleet.createFeature', () =>
      gaxiosError(409, 'ALREADY_EXISTS', 'Feature "multiclusterservicediscovery" already exists'),
    );
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    const feature = records.find((r) => r.step === 'mcs-feature');
    assert.equal(feature?.outcome, 'unchanged', feature?.reason);
    assert.match(feature?.reason ?? '', /concurrently/);
  });

  it('a permanent failure is not retryable', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    cloud.log.failures.set('fleet.createMembership', () => grpcError(7, 'denied'));
    const records = await reconcileCluster(testContext(cloud).ctx, ref);
    const membership = records.find((r) => r.step === 'membership');
    assert.equal(membership?.outcome, 'failed');
    assert.equal(membership?.retryable, false);
  });
});

describe('offboardCluster', () => {
  const managed = `projects/${FLEET}/locations/global/memberships/gke-us-east4-cluster-1`;

  it('deletes the membership Spokefleet created', async () => {
    const cloud = new FakeCloud();
    cloud.memberships.set(managed, {
      name: managed,
      resourceLink: link,
      labels: { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' },
    });
    const records = await offboardCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(records), ['offboard:deleted']);
    assert.equal(records[0].reason, `membership ${managed}`);
    assert.deepEqual(
      cloud.log.writes().map((c) => [c.method, c.args]),
      [['deleteMembership', [managed]]],
    );
  });

  const owned = { 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' };

  it('dry run: planned, nothing deleted', async () => {
    const cloud = new FakeCloud();
    cloud.memberships.set(managed, { name: managed, resourceLink: link, labels: { ...owned } });
    const records = await offboardCluster(testContext(cloud, {}, true).ctx, ref);
    assert.deepEqual(outcomes(records), ['offboard:planned']);
    assert.equal(records[0].reason, `would be deleted: membership ${managed}`);
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('deleted meanwhile (404 on delete): unchanged; another delete error fails the row', async () => {
    const cloud = new FakeCloud();
    cloud.memberships.set(managed, { name: managed, resourceLink: link, labels: { ...owned } });
    cloud.log.failures.set('fleet.deleteMembership', () => gaxiosError(404, 'NOT_FOUND', 'gone'));
    const gone = await offboardCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(
      gone.map((r) => [r.step, r.outcome, r.reason]),
      [['offboard', 'unchanged', 'membership already gone']],
    );
    cloud.log.failures.set('fleet.deleteMembership', () => gaxiosError(503, 'UNAVAILABLE', 'busy'));
    const busy = await offboardCluster(testContext(cloud, { retryBudgetMs: 0 }).ctx, ref);
    assert.deepEqual(outcomes(busy), ['offboard:failed']);
    assert.equal(busy[0].retryable, true);
  });

  it('a project that is not allowed is refused without a read', async () => {
    const cloud = new FakeCloud();
    const records = await offboardCluster(testContext(cloud).ctx, { ...ref, project: 'someone-elses' });
    assert.deepEqual(outcomes(records), ['offboard:refused']);
    assert.equal(records[0].reason, 'project someone-elses is not in the allowed projects');
    assert.deepEqual(cloud.log.calls, []);
  });

  it('with aviatrix.advertise on, only a cluster actually offboarded gets the note that its ranges stay', async () => {
    const withAdvertise = (cloud: FakeCloud) => testContext(cloud, { aviatrix: ADVERTISE }).ctx;
    const cloud = new FakeCloud();
    cloud.memberships.set(managed, { name: managed, resourceLink: link, labels: { ...owned } });
    assert.deepEqual(outcomes(await offboardCluster(withAdvertise(cloud), ref)), [
      'offboard:deleted',
      'advertise:skipped',
    ]);
    // Refused (not an allowed project) and skipped (the cluster exists again): no note.
    assert.deepEqual(
      outcomes(await offboardCluster(withAdvertise(cloud), { ...ref, project: 'someone-elses' })),
      ['offboard:refused'],
    );
    cloud.addCluster(clusterInfo(ref));
    assert.deepEqual(outcomes(await offboardCluster(withAdvertise(cloud), ref)), ['offboard:skipped']);
  });

  for (const [labels, why] of [
    [{ 'managed-by': 'spokefleet', 'spokefleet-owner': 'fleet-b' }, /Spokefleet deployment fleet-b/],
    [{ 'managed-by': 'spokefleet' }, /no spokefleet-owner label/],
  ] as const) {
    it(`leaves a managed membership of another owner alone (${JSON.stringify(labels)})`, async () => {
      const cloud = new FakeCloud();
      cloud.memberships.set(managed, { name: managed, resourceLink: link, labels: { ...labels } });
      const records = await offboardCluster(testContext(cloud).ctx, ref);
      assert.deepEqual(outcomes(records), ['offboard:skipped']);
      assert.match(records[0].reason ?? '', why);
      assert.deepEqual(cloud.log.writes(), []);
    });
  }

  it('leaves an unmanaged membership alone', async () => {
    const cloud = new FakeCloud();
    cloud.memberships.set(managed, {
      name: managed,
      resourceLink: link,
      labels: { 'spokefleet-owner': 'spokefleet' },
    });
    const records = await offboardCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(records), ['offboard:skipped']);
    assert.equal(records[0].reason, `membership ${managed} was not created by Spokefleet; left alone`);
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('does not offboard a cluster that exists again (late delete entry)', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    // A membership this deployment owns: only the cluster's existence keeps it.
    cloud.memberships.set(managed, { name: managed, resourceLink: link, labels: { ...owned } });
    const records = await offboardCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(records), ['offboard:skipped']);
    assert.equal(records[0].reason, 'the cluster exists; not offboarding');
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('no membership → unchanged; twice → still nothing written', async () => {
    const cloud = new FakeCloud();
    const first = await offboardCluster(testContext(cloud).ctx, ref);
    assert.deepEqual(outcomes(first), ['offboard:unchanged']);
    assert.equal(first[0].reason, 'no membership for this cluster');
    assert.deepEqual(outcomes(await offboardCluster(testContext(cloud).ctx, ref)), ['offboard:unchanged']);
    assert.deepEqual(cloud.log.writes(), []);
  });
});

describe('spokes from the Aviatrix Controller', () => {
  it('a cluster whose VPC only the Controller lists as a spoke is onboarded', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { network: { project: PROJECT, name: 'gcp-spoke300-us-east4' } }));
    const { ctx } = testContext(cloud);
    assert.equal((await reconcileCluster({ ...ctx, memo: new Memo() }, ref))[0].outcome, 'skipped');
    ctx.extraSpokes = async () => [{ project: PROJECT, network: 'gcp-spoke300-us-east4' }];
    const records = await reconcileCluster({ ...ctx, memo: new Memo() }, ref);
    assert.equal(records[0].outcome, 'unchanged');
    assert.match(records[0].reason ?? '', /is a spoke/);
  });
});

describe('isAdmitted: the admission checks for a cluster a project or fleet request listed', () => {
  it('true only when spoke and prerequisites both pass', async () => {
    const { ctx } = testContext(new FakeCloud());
    assert.equal(await isAdmitted(ctx, clusterInfo(ref)), true);
    assert.equal(await isAdmitted(ctx, clusterInfo(ref, { vpcNative: false })), false);
    assert.equal(await isAdmitted(ctx, clusterInfo(ref, { httpLoadBalancing: false })), false);
    assert.equal(
      await isAdmitted(ctx, clusterInfo(ref, { network: { project: PROJECT, name: 'shared-services' } })),
      false,
    );
  });

  it('a spoke look-up that fails counts as not admitted', async () => {
    const { ctx } = testContext(new FakeCloud());
    ctx.extraSpokes = () => Promise.reject(grpcError(14, 'controller down'));
    const outside = clusterInfo(ref, { network: { project: PROJECT, name: 'gcp-spoke300-us-east4' } });
    assert.equal(await isAdmitted(ctx, outside), false);
  });
});
