/** The MCS limits as pure decisions (shared/policy/limits.ts), case by case; the ones the mutation run found open. */
import assert from 'node:assert/strict';
import { parseConfig } from '../../shared/config';
import { FleetView, fleetRefusal, namespaceRefusal } from '../../shared/policy/limits';

const SELF = 'spoke-one/us-east4/gke-1';
const SAME_PROJECT = 'spoke-one/us-east4/gke-2';
const OTHER_PROJECT = 'spoke-two/us-east4/gke-3';

function limits(overrides: Record<string, unknown> = {}) {
  return parseConfig({
    fleetProject: 'spoke-one',
    projects: ['spoke-one', 'spoke-two'],
    spokes: [{ network: 'n' }],
    limits: overrides,
  }).limits;
}

const fleet = (entries: Record<string, string[]>): FleetView =>
  new FleetView(
    Object.entries(entries).flatMap(([key, clusters]) => {
      const [namespace, name] = key.split('/');
      return clusters.map((cluster) => ({ namespace, name, cluster, owned: true }));
    }),
  );

const ask = (view: FleetView) => ({ namespace: 'ns', name: 'api', cluster: SELF, fleet: view });

describe('policy: MCS limits', () => {
  it('a forbidden namespace is refused with the list of forbidden namespaces, comma-separated', () => {
    assert.equal(
      namespaceRefusal(limits(), 'default'),
      'namespace default cannot be exported (MCS does not export from default, kube-system)',
    );
    assert.equal(namespaceRefusal(limits(), 'mcs-common'), undefined);
  });

  it('the asking cluster does not count against itself (its own export is already in the view)', () => {
    assert.equal(
      fleetRefusal(limits({ maxClustersPerService: 1 }), ask(fleet({ 'ns/api': [SELF] }))),
      undefined,
    );
    assert.match(
      fleetRefusal(limits({ maxClustersPerService: 1 }), ask(fleet({ 'ns/api': [SELF, SAME_PROJECT] }))) ??
        '',
      /already exported by 1 clusters, the MCS limit is 1/,
    );
  });

  it('another project exporting the name: refused, unless the cross-project rule is off', () => {
    assert.match(
      fleetRefusal(limits(), ask(fleet({ 'ns/api': [OTHER_PROJECT] }))) ?? '',
      /already exported from another project \(cluster spoke-two\/us-east4\/gke-3\)/,
    );
    assert.equal(
      fleetRefusal(
        limits({ refuseCrossProjectDuplicates: false }),
        ask(fleet({ 'ns/api': [OTHER_PROJECT] })),
      ),
      undefined,
    );
  });

  it('joining a Service already exported adds no distinct Service to the fleet count', () => {
    const view = fleet({ 'ns/api': [SAME_PROJECT], 'ns/other': [SAME_PROJECT] });
    assert.equal(fleetRefusal(limits({ maxServicesPerFleet: 1 }), ask(view)), undefined);
  });

  it('the fleet count leaves out the Service asked about and names no cluster exports any more', () => {
    const max1 = limits({ maxServicesPerFleet: 1 });
    assert.equal(fleetRefusal(max1, ask(fleet({ 'ns/api': [SELF] }))), undefined, 'itself');
    assert.equal(fleetRefusal(max1, ask(fleet({ 'ns/gone': [] }))), undefined, 'an emptied entry');
    assert.match(
      fleetRefusal(max1, ask(fleet({ 'ns/other': [SAME_PROJECT] }))) ?? '',
      /the fleet already exports 1 distinct Services, the MCS limit is 1/,
    );
  });
});
