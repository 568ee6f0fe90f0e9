/**
 * `spokefleet status` reads each cluster's state from a dry run's action records: what is `unchanged` holds,
 * what is `planned` does not, refused and failed are problems. Table-driven over the shapes reconcileCluster
 * produces.
 */
import assert from 'node:assert/strict';
import { clusterServicesTable } from '../../cli/commands/services';
import {
  type ClusterStatus,
  deriveStatus,
  fleetStatus,
  statusJson,
  statusTable,
  WIDE_STATUS_COLUMNS,
} from '../../cli/commands/status';
import { shorten } from '../../cli/table';
import type { ActionRecord, Outcome, Step } from '../../shared/reconcile/action';

const C = 'acme-spokes/us-east4/gke-1';
const MEMBERSHIP = 'projects/acme-hub/locations/global/memberships/gke-1';

function r(step: Step, target: string, outcome: Outcome, reason?: string): ActionRecord {
  return { step, target, outcome, reason, dryRun: true, durationMs: 1 };
}

/** The records of an onboarded peering cluster with one export, as a dry run reports them. */
const onboarded = (cluster = C): ActionRecord[] => [
  r('spoke', cluster, 'unchanged', 'network acme-spokes/gcp-spoke100 is a spoke'),
  r('vpc-native', cluster, 'unchanged', 'VPC-native (alias IPs)'),
  r('workload-identity', cluster, 'unchanged', 'pool acme-hub.svc.id.goog'),
  r('membership', cluster, 'unchanged', `membership ${MEMBERSHIP}`),
  r('mcs-feature', 'acme-hub', 'unchanged', 'multiclusterservicediscovery enabled in acme-hub'),
  r('peering', cluster, 'unchanged', 'gke-abc-peer: export=true import=false'),
  r('namespaces', `${cluster}/mcs-common`, 'unchanged'),
  r('exports', `${cluster}/mcs-common/nginx`, 'unchanged', 'exported'),
];

const base: Omit<ClusterStatus, 'cluster'> = {
  spoke: 'yes',
  vpcNative: 'yes',
  workloadIdentity: 'on',
  membership: MEMBERSHIP,
  peering: 'yes',
  advertised: '-',
  namespaces: { present: ['mcs-common'], missing: [], unknown: [] },
  exports: 1,
  drift: 0,
  problems: [],
};

const notChecked: Partial<ClusterStatus> = {
  vpcNative: '-',
  workloadIdentity: '-',
  membership: '-',
  peering: '-',
  namespaces: { present: [], missing: [], unknown: [] },
  exports: 0,
};

const replace = (records: ActionRecord[], step: Step, record: ActionRecord) =>
  records.map((x) => (x.step === step ? record : x));

describe('cli status: deriveStatus', () => {
  const cases: Array<{ name: string; records: ActionRecord[]; expected: Partial<ClusterStatus> }> = [
    { name: 'onboarded, peering, one managed export', records: onboarded(), expected: {} },
    {
      name: 'not a spoke: nothing else checked',
      records: [r('spoke', C, 'skipped', 'network acme-spokes/shared is not a configured spoke')],
      expected: {
        spoke: 'no',
        spokeReason: 'network acme-spokes/shared is not a configured spoke',
        ...notChecked,
      },
    },
    {
      name: 'project not allowed: refused, a problem',
      records: [r('spoke', C, 'refused', 'project acme-spokes is not in the allowed projects')],
      expected: {
        spoke: 'no',
        spokeReason: 'project acme-spokes is not in the allowed projects',
        ...notChecked,
        problems: ['spoke: project acme-spokes is not in the allowed projects'],
      },
    },
    {
      name: 'GetCluster failed: spoke unknown',
      records: [r('spoke', C, 'failed', '14 UNAVAILABLE: connection refused')],
      expected: { spoke: 'unknown', ...notChecked, problems: ['spoke: 14 UNAVAILABLE: connection refused'] },
    },
    {
      name: 'routes-based: refused at vpc-native',
      records: [
        r('spoke', C, 'unchanged'),
        r(
          'vpc-native',
          C,
          'refused',
          'cluster is routes-based; Multi-Cluster Services requires a VPC-native cluster',
        ),
      ],
      expected: {
        ...notChecked,
        vpcNative: 'no',
        problems: [
          'vpc-native: cluster is routes-based; Multi-Cluster Services requires a VPC-native cluster',
        ],
      },
    },
    {
      name: 'new cluster: workload identity, membership planned; kube not reachable yet',
      records: [
        r('spoke', C, 'unchanged'),
        r('vpc-native', C, 'unchanged'),
        r('workload-identity', C, 'planned', 'would be updated: enabled workload identity'),
        r('membership', C, 'planned', `would be created: membership ${MEMBERSHIP}`),
        r('mcs-feature', 'acme-hub', 'planned', 'would be created: feature'),
        r('peering', C, 'planned', 'would be updated: gke-abc-peer: export=true import=false'),
        r('namespaces', C, 'skipped', 'the membership does not exist yet (dry run)'),
        r('exports', C, 'skipped', 'the membership does not exist yet (dry run)'),
      ],
      expected: {
        workloadIdentity: 'off',
        membership: 'none',
        peering: 'no',
        namespaces: { present: [], missing: [], unknown: [] },
        exports: 0,
        drift: 3,
      },
    },
    {
      name: 'born-in-fleet membership, Private Service Connect (no peering)',
      records: replace(
        replace(
          onboarded(),
          'membership',
          r(
            'membership',
            C,
            'unchanged',
            'cluster is a fleet member as projects/acme-hub/locations/us-east4/memberships/gke-1',
          ),
        ),
        'peering',
        r('peering', C, 'skipped', 'not applicable: no control-plane peering'),
      ),
      expected: { membership: 'projects/acme-hub/locations/us-east4/memberships/gke-1', peering: 'n/a' },
    },
    {
      name: 'a membership without workload identity exists; the plan gives it an authority',
      records: replace(
        onboarded(),
        'membership',
        r(
          'membership',
          C,
          'planned',
          `would be updated: membership ${MEMBERSHIP}: workload identity enabled`,
        ),
      ),
      expected: { membership: `${MEMBERSHIP} (no workload identity)`, drift: 1 },
    },
    {
      name: 'membership created concurrently still names it',
      records: replace(
        onboarded(),
        'membership',
        r('membership', C, 'unchanged', `membership ${MEMBERSHIP} (created concurrently)`),
      ),
      expected: {},
    },
    {
      name: 'workload identity on another pool: refused, membership skipped',
      records: [
        r('spoke', C, 'unchanged'),
        r('vpc-native', C, 'unchanged'),
        r(
          'workload-identity',
          C,
          'refused',
          'workload identity uses pool other.svc.id.goog, not acme-hub.svc.id.goog',
        ),
        r('membership', C, 'skipped', 'workload identity is refused'),
        r('mcs-feature', 'acme-hub', 'unchanged'),
        r('peering', C, 'unchanged'),
        r('namespaces', C, 'skipped', 'the cluster has no fleet membership'),
        r('exports', C, 'skipped', 'the cluster has no fleet membership'),
      ],
      expected: {
        workloadIdentity: 'other-pool',
        membership: 'none',
        namespaces: { present: [], missing: [], unknown: [] },
        exports: 0,
        problems: [
          'workload-identity: workload identity uses pool other.svc.id.goog, not acme-hub.svc.id.goog',
        ],
      },
    },
    {
      name: 'workload identity off under policy require, or skipped under ignore',
      records: replace(
        onboarded(),
        'workload-identity',
        r('workload-identity', C, 'skipped', 'workload identity is off and policy is ignore'),
      ),
      expected: { workloadIdentity: 'off' },
    },
    {
      name: 'drift: a seeded namespace deleted, an export missing, a stale export, a refused export',
      records: [
        ...onboarded().filter((x) => x.step !== 'namespaces' && x.step !== 'exports'),
        r('namespaces', `${C}/mcs-common`, 'planned', 'would be created: namespace mcs-common'),
        r('namespaces', `${C}/team-a`, 'unchanged'),
        r('exports', `${C}/mcs-common/nginx`, 'unchanged', 'exported'),
        r('exports', `${C}/mcs-common/web`, 'unchanged', 'exported'),
        r('exports', `${C}/mcs-common/theirs`, 'unchanged', 'exported by a user-owned ServiceExport'),
        r('exports', `${C}/mcs-common/api`, 'planned', 'would be created: ServiceExport'),
        r('exports', `${C}/mcs-common/old`, 'planned', 'would be deleted: ServiceExport'),
        r(
          'exports',
          `${C}/default/db`,
          'refused',
          'namespace default is not allowed for Multi-Cluster Services',
        ),
      ],
      expected: {
        namespaces: { present: ['team-a'], missing: ['mcs-common'], unknown: [] },
        exports: 2,
        drift: 3,
        problems: ['exports default/db: namespace default is not allowed for Multi-Cluster Services'],
      },
    },
    {
      name: 'Kubernetes API unreachable: namespaces failed on the cluster, exports skipped',
      records: [
        ...onboarded().filter((x) => x.step !== 'namespaces' && x.step !== 'exports'),
        r('namespaces', C, 'failed', '503 no healthy upstream'),
        r('exports', C, 'skipped', 'the Kubernetes API is unreachable'),
      ],
      expected: {
        namespaces: { present: [], missing: [], unknown: [] },
        exports: 0,
        problems: ['namespaces: 503 no healthy upstream'],
      },
    },
    {
      name: 'a namespace read failed',
      records: [
        ...onboarded().filter((x) => x.step !== 'namespaces'),
        r('namespaces', `${C}/mcs-common`, 'failed', '403 forbidden'),
      ],
      expected: {
        namespaces: { present: [], missing: [], unknown: ['mcs-common'] },
        problems: ['namespaces mcs-common: 403 forbidden'],
      },
    },
    {
      name: 'peering read failed',
      records: replace(onboarded(), 'peering', r('peering', C, 'failed', 'peering gke-abc-peer not found')),
      expected: { peering: 'unknown', problems: ['peering: peering gke-abc-peer not found'] },
    },
    {
      name: 'aviatrix.advertise on: the spoke gateway advertises the ranges',
      records: [
        ...onboarded(),
        r('advertise', C, 'unchanged', 'gateway spoke100-gw advertises 10.4.0.0/14 (pods)'),
      ],
      expected: { advertised: 'yes' },
    },
    {
      name: 'aviatrix.advertise on: ranges missing from the include list',
      records: [
        ...onboarded(),
        r('advertise', C, 'planned', 'would be updated: gateway spoke100-gw: adds 10.4.0.0/14 (pods)'),
      ],
      expected: { advertised: 'no', drift: 1 },
    },
    {
      name: 'aviatrix.advertise on: nothing to advertise',
      records: [
        ...onboarded(),
        r('advertise', C, 'unchanged', 'nothing to advertise: the cluster reports no pods range'),
      ],
      expected: { advertised: 'n/a' },
    },
    {
      name: 'aviatrix.advertise on: no gateway, a problem',
      records: [
        ...onboarded(),
        r('advertise', C, 'refused', 'VPC p/n: the Aviatrix Controller lists no spoke gateway for it'),
      ],
      expected: {
        advertised: 'unknown',
        problems: ['advertise: VPC p/n: the Aviatrix Controller lists no spoke gateway for it'],
      },
    },
    {
      name: 'membership list failed',
      records: replace(onboarded(), 'membership', r('membership', C, 'failed', '503 unavailable')),
      expected: { membership: 'unknown', problems: ['membership: 503 unavailable'] },
    },
  ];

  for (const { name, records, expected } of cases) {
    it(name, () => {
      const [status, ...others] = deriveStatus(records);
      assert.equal(others.length, 0);
      assert.deepEqual(status, { cluster: C, ...base, ...expected });
    });
  }

  it('one row per cluster, in the order the records name them; the fleet-wide feature is no row', () => {
    const c2 = 'acme-spokes/us-east4/gke-2';
    const c3 = 'acme-spokes-two/europe-west1-b/gke-3';
    const rows = deriveStatus([
      ...onboarded(c2),
      ...onboarded(C),
      r('spoke', c3, 'skipped', 'network x is not a configured spoke'),
    ]);
    assert.deepEqual(
      rows.map((row) => [row.cluster, row.spoke]),
      [
        [c2, 'yes'],
        [C, 'yes'],
        [c3, 'no'],
      ],
    );
  });

  it('fleetStatus reads the MCS feature', () => {
    assert.deepEqual(fleetStatus(onboarded(), 'acme-hub'), { project: 'acme-hub', mcsFeature: 'enabled' });
    assert.equal(fleetStatus([r('mcs-feature', 'acme-hub', 'planned')], 'acme-hub').mcsFeature, 'missing');
    assert.equal(fleetStatus([r('mcs-feature', 'acme-hub', 'failed')], 'acme-hub').mcsFeature, 'unknown');
    assert.equal(fleetStatus([], 'acme-hub').mcsFeature, 'unknown');
  });

  it('statusTable: short names with a LOCATION column, counts of problems; fits 120 columns', () => {
    const rows = deriveStatus([
      ...onboarded(),
      r('spoke', 'acme-spokes/us-east4/shared', 'skipped', 'not a spoke'),
      ...replace(
        onboarded('acme-spokes/us-east4/gke-broken'),
        'peering',
        r('peering', 'acme-spokes/us-east4/gke-broken', 'failed', '503 unavailable'),
      ),
    ]);
    const lines = statusTable(rows).split('\n');
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0].split(/\s+/), [
      'NAME',
      'LOCATION',
      'SPOKE',
      'WI',
      'FLEET',
      'PEERING',
      'NS',
      'EXPORTS',
      'DRIFT',
      'PROBLEMS',
    ]);
    assert.deepEqual(lines[1].split(/\s+/), [
      'gke-1',
      'us-east4',
      'yes',
      'on',
      'yes',
      'yes',
      '1/1',
      '1',
      '0',
      '0',
    ]);
    assert.deepEqual(lines[2].split(/\s+/), ['shared', 'us-east4', 'no', '-', '-', '-', '-', '-', '0', '0']);
    assert.deepEqual(lines[3].split(/\s+/), [
      'gke-broken',
      'us-east4',
      'yes',
      'on',
      'yes',
      '?',
      '1/1',
      '1',
      '0',
      '1',
    ]);
    assert.ok(lines.every((l) => l.length <= 120));
  });

  it('statusTable: the longest names GKE allows still fit 120 columns, shortened at the middle, rows distinct', () => {
    // 30-character project ids, 40-character cluster names, the longest zone name, two projects (PROJECT shown),
    // advertise on (ADVERT shown), ten namespaces: every column at its widest. Unfitted this is 165 columns.
    const project = (n: number) => `acme-spokes-production-east-0${n}`;
    const name = (n: number) => `gke-northamerica-northeast1-payments-0${n}`;
    const location = 'northamerica-northeast1-a';
    const records = [1, 2].flatMap((n) => {
      const cluster = `${project(n)}/${location}/${name(n)}`;
      return [
        ...onboarded(cluster),
        r('advertise', cluster, 'planned', 'would add 10.0.0.0/14 to the gateway'),
        ...Array.from({ length: 9 }, (_, i) => r('namespaces', `${cluster}/ns-${i}`, 'planned')),
      ];
    });
    const lines = statusTable(deriveStatus(records)).split('\n');
    for (const line of lines) assert.ok(line.length <= 120, `${line.length} columns: ${line}`);
    const [first, second] = lines.slice(1).map((l) => l.split(/\s+/));
    assert.notEqual(first[1], second[1], 'shortened names still tell the clusters apart');
    assert.match(first[1], /^gke-.*….*-01$/, 'both ends of the name kept');
    assert.equal(first[0].length, second[0].length);
    assert.deepEqual(first.slice(3), ['yes', 'on', 'yes', 'yes', 'no', '1/10', '1', '10', '0']);
  });

  it('the Services summary under the status table fits 120 columns too, whole cluster paths shortened', () => {
    const longest =
      'acme-spokes-production-east-01/northamerica-northeast1-a/gke-northamerica-northeast1-payments-01';
    const table = clusterServicesTable([
      { cluster: longest, exports: 3, imports: 12, problems: 1 },
      { cluster: 'acme-spokes/us-east4/gke-1', exports: 0, imports: 12, problems: 0 },
    ]);
    const lines = table.split('\n');
    for (const line of lines) assert.ok(line.length <= 120, `${line.length} columns: ${line}`);
    assert.match(lines[1], /^acme-spokes-production-east-01\/n.*….*-payments-01\s+3\s+12\s+1$/);
    assert.match(lines[2], /^acme-spokes\/us-east4\/gke-1\s+0\s+12\s+0$/);
  });

  it('shorten keeps both ends and the width asked for', () => {
    assert.equal(shorten('abcdefghij', 10), 'abcdefghij');
    assert.equal(shorten('abcdefghij', 7), 'abc…hij');
    assert.equal(shorten('abcdefghij', 8), 'abcd…hij');
    assert.equal(shorten('abcdefghij', 1), 'a');
  });

  it('statusTable: PROJECT appears when rows span projects; ADVERT when advertise is on', () => {
    const two = deriveStatus([...onboarded(), ...onboarded('acme-other/us-east4/gke-9')]);
    assert.match(statusTable(two).split('\n')[0], /^PROJECT\s+NAME\s+LOCATION\s/);
    const advertised = deriveStatus([
      ...onboarded(),
      r('advertise', C, 'planned', 'would add 10.0.0.0/14 to the gateway'),
    ]);
    assert.match(statusTable(advertised).split('\n')[0], /PEERING\s+ADVERT\s+NS/);
    assert.doesNotMatch(statusTable(deriveStatus(onboarded())).split('\n')[0], /ADVERT/);
  });

  it('-o wide: project, whole membership, namespaces and problems spelled out', () => {
    const rows = deriveStatus([
      ...replace(onboarded(), 'peering', r('peering', C, 'failed', '503 unavailable')),
      r('spoke', 'acme-spokes/us-east4/shared', 'skipped', 'not a spoke'),
    ]);
    const lines = statusTable(rows, { wide: true }).split('\n');
    assert.deepEqual(
      lines[0].split(/\s+/),
      WIDE_STATUS_COLUMNS.map((c) => c.header.toUpperCase()),
    );
    assert.match(
      lines[1],
      /^acme-spokes\s+us-east4\s+gke-1\s+yes\s+yes\s+on\s+global\/gke-1\s+unknown\s+-\s+mcs-common\s+1\s+0\s+peering: 503 unavailable$/,
    );
    assert.match(lines[2], /\(not a spoke\)$/);
  });

  it('statusJson: real booleans, null where unknown or not checked', () => {
    const [ok] = deriveStatus(onboarded()).map(statusJson);
    assert.equal(ok.spoke, true);
    assert.equal(ok.vpcNative, true);
    assert.equal(ok.workloadIdentity, true);
    assert.equal(ok.member, true);
    assert.equal(ok.membership, MEMBERSHIP);
    assert.equal(ok.membershipWorkloadIdentity, true);
    assert.equal(ok.peeringExport, true);
    assert.equal(ok.peeringApplies, true);
    assert.equal(ok.advertised, null);
    assert.equal(ok.name, 'gke-1');
    assert.equal(ok.location, 'us-east4');
    const [off] = deriveStatus([r('spoke', C, 'skipped', 'not a spoke')]).map(statusJson);
    assert.equal(off.spoke, false);
    assert.equal(off.member, null);
    assert.equal(off.vpcNative, null);
    const [failing] = deriveStatus(
      replace(onboarded(), 'peering', r('peering', C, 'failed', '503 unavailable')),
    ).map(statusJson);
    assert.equal(failing.peeringExport, null);
    assert.equal(failing.peeringApplies, null);
    for (const value of Object.values(ok))
      assert.notEqual(typeof value === 'string' && /^(yes|no)$/.test(value), true);
  });
});
