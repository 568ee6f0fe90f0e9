/**
 * The names Spokefleet derives from a cluster: the same cluster must map to the same names on every delivery, and
 * names GKE and GKE Hub write in their own spellings must still be recognised as the same cluster.
 */
import assert from 'node:assert/strict';
import {
  clusterIssuer,
  clusterResourceLink,
  fallbackMembershipId,
  preferredMembershipId,
  refFromResourceLink,
  regionOf,
  sameResourceLink,
  toDnsLabel,
} from '../../shared/reconcile/names';

const ref = { project: 'spoke-prj-one', location: 'us-east4-a', name: 'cluster-1' };

describe('names: resource links', () => {
  const link = clusterResourceLink(ref);

  it('a link written with zones/ or as the issuer URL is the same cluster', () => {
    assert.equal(sameResourceLink(link, link.replace('/locations/', '/zones/')), true);
    assert.equal(sameResourceLink(clusterIssuer(ref), link), true);
    assert.equal(sameResourceLink(clusterIssuer(ref).replace('https:', 'http:'), link), true);
  });

  it('another cluster, or no link at all, is never the same', () => {
    assert.equal(sameResourceLink(link, clusterResourceLink({ ...ref, name: 'cluster-2' })), false);
    assert.equal(sameResourceLink(undefined, link), false);
    assert.equal(sameResourceLink(link, undefined), false);
    assert.equal(sameResourceLink(undefined, undefined), false);
    assert.equal(sameResourceLink('', ''), false);
  });

  it('reads the cluster a membership names, in every spelling GKE Hub uses', () => {
    for (const l of [link, link.replace('/locations/', '/zones/'), clusterIssuer(ref)]) {
      assert.deepEqual(refFromResourceLink(l), ref, l);
    }
    assert.deepEqual(refFromResourceLink(clusterIssuer(ref).replace('https:', 'http:')), ref);
  });

  it('anything else is not a GKE cluster', () => {
    for (const l of [
      undefined,
      '',
      '//eks.amazonaws.com/clusters/x',
      `${link}/nodePools/default`,
      `x${link}`,
      link.replace('/clusters/', '/instances/'),
    ]) {
      assert.equal(refFromResourceLink(l), undefined, String(l));
    }
  });
});

describe('names: regions and DNS labels', () => {
  it('a zone gives its region; a region is returned unchanged', () => {
    assert.equal(regionOf('us-east4-a'), 'us-east4');
    assert.equal(regionOf('europe-west10-b'), 'europe-west10');
    assert.equal(regionOf('northamerica-northeast1-c'), 'northamerica-northeast1');
    assert.equal(regionOf('us-east4'), 'us-east4');
    assert.equal(regionOf('europe-west10'), 'europe-west10');
  });

  it('makes a DNS-1123 label of anything', () => {
    assert.equal(toDnsLabel('My_Cluster'), 'my-cluster');
    assert.equal(toDnsLabel('a__b..c'), 'a-b-c');
    assert.equal(toDnsLabel('a--b'), 'a-b');
    assert.equal(toDnsLabel('_edge_'), 'edge');
    assert.equal(toDnsLabel('___'), 'cluster');
    assert.equal(toDnsLabel('a'.repeat(70)), 'a'.repeat(63));
    // Cut at the limit, then no trailing dash.
    assert.equal(toDnsLabel(`${'a'.repeat(62)}_b`), 'a'.repeat(62));
    assert.equal(toDnsLabel('abc-def', 4), 'abc');
  });

  it('the preferred membership id fills the template', () => {
    assert.equal(
      preferredMembershipId('{project}-{location}-{cluster}', ref),
      'spoke-prj-one-us-east4-a-cluster-1',
    );
  });

  it('the fallback id is deterministic, different per cluster and a valid label however long the preferred one', () => {
    const long = 'x'.repeat(63);
    const a = fallbackMembershipId(long, ref);
    assert.equal(a, fallbackMembershipId(long, ref));
    assert.notEqual(a, fallbackMembershipId(long, { ...ref, name: 'cluster-2' }));
    assert.equal(a.length, 63);
    assert.match(a, /^x{54}-[0-9a-f]{8}$/);
  });
});
