/** `status --services`: the per-Service view of the fleet from each member's snapshot (pure). */
import assert from 'node:assert/strict';
import {
  clusterServices,
  type MemberSnapshot,
  servicesStatus,
  servicesTable,
} from '../../cli/commands/services';
import type { KubeServiceExport } from '../../shared/cloud/ports';
import { testConfig } from '../fakes/context';

const limits = testConfig().limits;
const C1 = 'prj-a/us-east4/c1';
const C2 = 'prj-a/us-east4/c2';
const C3 = 'prj-b/us-east4/c3';

const exp = (ns: string, name: string, conditions: KubeServiceExport['conditions'] = []) => ({
  metadata: { namespace: ns, name },
  conditions,
});
const imp = (ns: string, name: string) => ({
  metadata: { namespace: ns, name },
  ips: ['10.255.0.1'],
  ports: [{ port: 80 }],
  clusters: [],
});
const member = (cluster: string, rest: Partial<MemberSnapshot> = {}): MemberSnapshot => ({
  cluster,
  exports: [],
  imports: [],
  labelled: [],
  namespaces: {},
  ...rest,
});

describe('cli: status --services', () => {
  it('an export imported everywhere: exporting, importing, the clusterset DNS name, no problem', () => {
    const rows = servicesStatus(limits, [
      member(C1, {
        exports: [exp('mcs-common', 'nginx')],
        imports: [imp('mcs-common', 'nginx')],
        labelled: ['mcs-common/nginx'],
        namespaces: { 'mcs-common': true },
      }),
      member(C2, { imports: [imp('mcs-common', 'nginx')], namespaces: { 'mcs-common': true } }),
    ]);
    assert.deepEqual(rows, [
      {
        service: 'mcs-common/nginx',
        dnsName: 'nginx.mcs-common.svc.clusterset.local',
        exporting: [C1],
        importing: [C1, C2],
        members: 2,
        conditions: [],
        problems: [],
      },
    ]);
    assert.match(
      servicesTable(rows),
      /^SERVICE +EXPORTED-FROM +IMPORTED-IN +DNS-NAME +CONDITIONS +PROBLEMS\n/,
    );
    assert.match(
      servicesTable(rows),
      /mcs-common\/nginx +c1 +2\/2 c1,c2 +nginx\.mcs-common\.svc\.clusterset\.local +OK +<none>/,
    );
  });

  it('problems: a Conflict, a missing namespace, a labelled Service not exported, two projects', () => {
    const conflict = { type: 'Conflict', status: 'True', reason: 'PortConflict', message: 'ports differ' };
    const rows = servicesStatus(limits, [
      member(C1, {
        exports: [exp('team', 'api', [{ type: 'Exported', status: 'True' }, conflict])],
        namespaces: { team: true },
      }),
      member(C2, { labelled: ['team/api'], namespaces: { team: false } }),
      member(C3, { exports: [exp('team', 'api')], namespaces: { team: true } }),
    ]);
    assert.deepEqual(rows[0].problems, [
      `labelled but not exported in ${C2} (see the ExportRefused Event on the Service)`,
      'exported from 2 projects; MCS exports a Service from one project',
      `namespace team missing in ${C2} (not imported there)`,
      `Conflict=True (PortConflict) on ${C1}: ports differ`,
    ]);
    assert.deepEqual(rows[0].conditions, [{ ...conflict, cluster: C1 }]);
    assert.deepEqual(
      clusterServices([member(C1, { exports: [exp('team', 'api')] }), member(C2), member(C3)], rows).map(
        (c) => [c.cluster, c.exports, c.problems],
      ),
      [
        [C1, 1, 1],
        [C2, 0, 1],
        [C3, 0, 0],
      ],
    );
  });

  it('MCS limits: a forbidden namespace, more exporting clusters than allowed, an unreadable member', () => {
    const small = { ...limits, maxClustersPerService: 1, refuseCrossProjectDuplicates: false };
    const rows = servicesStatus(small, [
      member(C1, { exports: [exp('default', 'web')], namespaces: { default: true } }),
      member(C2, { exports: [exp('default', 'web')], namespaces: { default: true } }),
      member(C3, { error: 'HTTP 403' }),
    ]);
    assert.deepEqual(rows[0].problems, [
      'MCS does not export from namespace default',
      'exported by 2 clusters, the MCS limit is 1',
      `could not read ${C3}: HTTP 403`,
    ]);
  });
});
