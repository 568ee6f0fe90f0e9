/** The MCS limits as pure decisions (shared/policy/limits.ts), case by case; the ones the mutation run found open. */
import assert from 'node:assert/strict';
import { parseConfig } from '../../shared/config';
import { exportsBeyondLimits, FleetView, fleetRefusal, namespaceRefusal } from '../../shared/policy/limits';

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

describe('policy: the fleet view and the order that decides who stays', () => {
  const L = limits({ maxClustersPerService: 2, maxServicesPerFleet: 50 });
  const at = (second: number) => `2026-12-07T10:00:${String(second).padStart(2, '0')}Z`;
  const entry = (cluster: string, createdAt?: string, name = 'api') => ({
    namespace: 'ns',
    name,
    cluster,
    createdAt,
    owned: true,
  });
  const beyond = (exports: ReturnType<typeof entry>[], yielding?: ReturnType<typeof entry>) =>
    [...exportsBeyondLimits(L, exports, yielding).keys()].map((e) => e.cluster);

  it('starts empty, and holds copies of what it was given', () => {
    assert.deepEqual(new FleetView().all(), []);
    const given = entry(SAME_PROJECT, at(1));
    const view = new FleetView([given]);
    view.confirm('ns', 'api', SAME_PROJECT, at(9));
    assert.equal(given.createdAt, at(1));
  });

  it('reserve counts an owned export not created yet, once; it never overwrites what was read', () => {
    const view = new FleetView([{ ...entry(SAME_PROJECT, at(1)), owned: false }]);
    view.reserve('ns', 'api', SELF);
    view.reserve('ns', 'api', SELF);
    view.reserve('ns', 'api', SAME_PROJECT);
    assert.deepEqual(view.all(), [
      { namespace: 'ns', name: 'api', cluster: SAME_PROJECT, createdAt: at(1), owned: false },
      { namespace: 'ns', name: 'api', cluster: SELF, owned: true },
    ]);
  });

  it('confirm dates a reservation; confirming or releasing what it does not hold changes nothing', () => {
    const view = new FleetView();
    view.confirm('ns', 'api', SELF, at(3));
    assert.deepEqual(view.all(), []);
    view.reserve('ns', 'api', SELF);
    view.confirm('ns', 'api', SELF, at(3));
    assert.equal(view.get('ns', 'api', SELF)?.createdAt, at(3));
    view.release('ns', 'web', SELF);
    assert.equal(view.all().length, 1);
    view.release('ns', 'api', SELF);
    assert.deepEqual(view.all(), []);
  });

  it('equal creation times: the cluster name decides, whatever order the exports come in', () => {
    const a = entry('spoke-one/us-east4/a', at(1));
    const b = entry('spoke-one/us-east4/b', at(1));
    const c = entry('spoke-one/us-east4/c', at(1));
    assert.deepEqual(beyond([a, b, c]), ['spoke-one/us-east4/c']);
    assert.deepEqual(beyond([c, b, a]), ['spoke-one/us-east4/c']);
    assert.deepEqual(beyond([b, c, a]), ['spoke-one/us-east4/c']);
  });

  it('an older export stays whatever its name; an undated one (reserved) ranks last', () => {
    const old = entry('spoke-one/us-east4/z', at(1));
    const newer = entry('spoke-one/us-east4/a', at(2));
    const reserved = entry('spoke-one/us-east4/0');
    assert.deepEqual(beyond([reserved, newer, old]), ['spoke-one/us-east4/0']);
  });

  it('the yielding export goes after every other of its creation time, even one whose name sorts later', () => {
    const a = entry('spoke-one/us-east4/a', at(1));
    const b = entry('spoke-one/us-east4/b', at(1));
    const c = entry('spoke-one/us-east4/c', at(1));
    assert.deepEqual(beyond([a, b, c], a), ['spoke-one/us-east4/a']);
    assert.deepEqual(beyond([c, a, b], a), ['spoke-one/us-east4/a']);
  });

  it('the asking cluster’s other exports count: another namespace or another name is another Service', () => {
    const one = limits({ maxServicesPerFleet: 1 });
    const other = (namespace: string, name: string) =>
      new FleetView([{ namespace, name, cluster: SELF, createdAt: at(1), owned: true }]);
    assert.match(fleetRefusal(one, ask(other('other-ns', 'api'))) ?? '', /distinct Services/);
    assert.match(fleetRefusal(one, ask(other('ns', 'web'))) ?? '', /distinct Services/);
    assert.equal(fleetRefusal(one, ask(other('ns', 'api'))), undefined);
  });
});
