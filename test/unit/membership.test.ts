/**
 * The membership step's decisions on its own: a membership found settling, one that vanished meanwhile, concurrent
 * writers (409, quota), id conflicts per location, the write left to the redelivery, and which memberships this
 * deployment owns.
 */
import assert from 'node:assert/strict';
import type { Membership } from '../../shared/cloud/ports';
import { withDeadline } from '../../shared/deadline';
import { classify, PermanentError, TransientError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import { ensureMembership, fleetMemberships, ownsMembership } from '../../shared/reconcile/membership';
import { fallbackMembershipId } from '../../shared/reconcile/names';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { FLEET, PROJECT, testConfig, testContext } from '../fakes/context';
import { gaxiosError } from '../fakes/errors';

const REF: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'c1' };
const LINK = `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/c1`;
const GLOBAL = `projects/${FLEET}/locations/global/memberships/c1`;
const cluster = () => clusterInfo(REF, { workloadPool: `${PROJECT}.svc.id.goog` });

function member(cloud: FakeCloud, name: string, extra: Partial<Membership> = {}): Membership {
  const m: Membership = { name, resourceLink: LINK, labels: {}, ...extra };
  cloud.memberships.set(name, m);
  return m;
}

/** Another cluster's membership (same project, other cluster name). */
const otherLink = (n: number | string) =>
  `//container.googleapis.com/projects/${PROJECT}/locations/us-east4/clusters/other-${n}`;

const fill = (cloud: FakeCloud, count: number) => {
  for (let i = 0; i < count; i++) {
    member(cloud, `projects/${FLEET}/locations/global/memberships/other-${i}`, {
      resourceLink: otherLink(i),
    });
  }
};

/** Runs `work` 200 ms into a 600 ms invocation: 150 ms of work time are left. */
const lateInInvocation = <T>(work: () => Promise<T>) =>
  withDeadline(600, async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return work();
  });

const creates = (cloud: FakeCloud) => cloud.log.calls.filter((c) => c.method === 'createMembership');

describe('ensureMembership', () => {
  it('a cluster born in the fleet: unchanged, naming GKE’s membership', async () => {
    const cloud = new FakeCloud();
    const decision = await ensureMembership(
      testContext(cloud).ctx,
      clusterInfo(REF, { fleetMembership: `//gkehub.googleapis.com/${GLOBAL}` }),
    );
    assert.deepEqual(decision, {
      outcome: 'unchanged',
      reason: `cluster is a fleet member as ${GLOBAL}`,
      membership: GLOBAL,
      exists: true,
    });
    assert.deepEqual(cloud.log.calls, []);
  });

  it('a settled membership with workload identity: unchanged, the reason names only the membership', async () => {
    const cloud = new FakeCloud();
    member(cloud, GLOBAL, { workloadIdentityPool: `${FLEET}.svc.id.goog`, state: 'READY' });
    const decision = await ensureMembership(testContext(cloud).ctx, cluster());
    assert.deepEqual(decision, {
      outcome: 'unchanged',
      reason: `membership ${GLOBAL}`,
      membership: GLOBAL,
      exists: true,
    });
    assert.equal(cloud.log.calls.filter((c) => c.method === 'awaitMembership').length, 0);
  });

  describe('a membership found CREATING', () => {
    it('is waited for; the decision says it exists', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { workloadIdentityPool: `${FLEET}.svc.id.goog`, state: 'CREATING' });
      const decision = await ensureMembership(testContext(cloud).ctx, cluster());
      assert.deepEqual(decision, {
        outcome: 'unchanged',
        reason: `membership ${GLOBAL} (CREATING when found, now READY)`,
        membership: GLOBAL,
        exists: true,
      });
    });

    it('a settled membership that reports no state reads "settled"', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { workloadIdentityPool: `${FLEET}.svc.id.goog`, state: 'UPDATING' });
      cloud.fleet.awaitMembership = async (name: string) => ({
        ...(cloud.memberships.get(name) as Membership),
        state: undefined,
      });
      const decision = await ensureMembership(testContext(cloud).ctx, cluster());
      assert.equal(decision.reason, `membership ${GLOBAL} (UPDATING when found, now settled)`);
    });

    it('dry run: not waited for; reported as it is', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { state: 'CREATING' });
      const decision = await ensureMembership(testContext(cloud, {}, true).ctx, cluster());
      assert.deepEqual(decision, {
        outcome: 'unchanged',
        reason: `membership ${GLOBAL} is CREATING`,
        membership: GLOBAL,
        exists: true,
      });
      assert.deepEqual(
        cloud.log.calls.map((c) => c.method),
        ['listMemberships'],
      );
    });

    it('a wait that runs out is transient "operation-running", keeping the timeout as its cause', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { state: 'CREATING' });
      cloud.stuckMemberships.add(GLOBAL);
      await assert.rejects(ensureMembership(testContext(cloud).ctx, cluster()), (e: unknown) => {
        assert.ok(e instanceof TransientError);
        assert.equal(e.reason, 'operation-running');
        assert.ok(e.cause instanceof TransientError && e.cause.reason === 'operation-timeout');
        return true;
      });
    });

    for (const [what, error] of [
      ['a permanent error (403)', gaxiosError(403, 'PERMISSION_DENIED', 'denied')],
      [
        'a transient error other than the wait running out',
        new TransientError('rate limited', 'rate-limited'),
      ],
    ] as const) {
      it(`${what} from the wait is rethrown as it is, keeping its class`, async () => {
        const cloud = new FakeCloud();
        member(cloud, GLOBAL, { state: 'CREATING' });
        cloud.log.failures.set('fleet.awaitMembership', () => error);
        const classOf = classify(error);
        await assert.rejects(ensureMembership(testContext(cloud).ctx, cluster()), (e: unknown) => {
          assert.equal(e, error);
          assert.equal(classify(e), classOf);
          return true;
        });
      });
    }

    it('gone by the end of the wait (its create failed): the list is read again and the preferred id is used', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { state: 'CREATING' });
      cloud.fleet.awaitMembership = async (name: string) => {
        cloud.memberships.delete(name);
        return undefined;
      };
      const decision = await ensureMembership(testContext(cloud).ctx, cluster());
      assert.equal(decision.outcome, 'created');
      assert.deepEqual(
        creates(cloud).map((c) => c.args[2]),
        ['c1'],
      );
      assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 2);
    });
  });

  describe('registered without workload identity', () => {
    it('gets the cluster as its authority: updated, naming what changed', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL);
      const decision = await ensureMembership(testContext(cloud).ctx, cluster());
      assert.deepEqual(decision, {
        outcome: 'updated',
        reason: `membership ${GLOBAL}: workload identity enabled`,
        membership: GLOBAL,
        exists: true,
      });
    });

    it('not started when the invocation has less time left than the update takes', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL);
      // 45 s × 0.004 = 180 ms typical; 200 ms into a 600 ms invocation (250 ms reserved), 150 ms are left.
      const { ctx } = testContext(cloud, { timeScale: 0.004 });
      await assert.rejects(
        lateInInvocation(() => ensureMembership(ctx, cluster())),
        /^TransientError: memberships\.patch \(authority\) not started/,
      );
      assert.deepEqual(cloud.log.writes(), []);
    });
  });

  describe('creating', () => {
    it('created: the reason and the decision name the new membership', async () => {
      const cloud = new FakeCloud();
      const decision = await ensureMembership(testContext(cloud).ctx, cluster());
      assert.deepEqual(decision, {
        outcome: 'created',
        reason: `membership ${GLOBAL}`,
        membership: GLOBAL,
        exists: true,
      });
    });

    it('dry run: planned under the name it would have, not existing', async () => {
      const cloud = new FakeCloud();
      const decision = await ensureMembership(testContext(cloud, {}, true).ctx, cluster());
      assert.deepEqual(decision, {
        outcome: 'planned',
        reason: `would be created: membership ${GLOBAL}`,
        membership: GLOBAL,
        exists: false,
      });
    });

    it('not started when the invocation has less time left than a create takes', async () => {
      const cloud = new FakeCloud();
      // 90 s × 0.002 = 180 ms typical, 150 ms left.
      const { ctx } = testContext(cloud, { timeScale: 0.002 });
      await assert.rejects(
        lateInInvocation(() => ensureMembership(ctx, cluster())),
        /^TransientError: memberships\.create not started/,
      );
      assert.deepEqual(creates(cloud), []);
    });

    it('a full fleet is refused, and the decision says no membership exists', async () => {
      const cloud = new FakeCloud();
      fill(cloud, 2);
      const decision = await ensureMembership(
        testContext(cloud, { limits: { maxGlobalMemberships: 2 } }).ctx,
        cluster(),
      );
      assert.equal(decision.outcome, 'refused');
      assert.equal(decision.exists, false);
      assert.match(decision.reason ?? '', /^fleet is full: 2 global memberships/);
    });

    it('the quota answer after a concurrent writer filled the fleet: refused, no membership exists', async () => {
      const cloud = new FakeCloud();
      fill(cloud, 1);
      cloud.log.failures.set('fleet.createMembership', () => {
        fill(cloud, 2);
        return gaxiosError(429, 'RESOURCE_EXHAUSTED', 'quota');
      });
      const decision = await ensureMembership(
        testContext(cloud, { limits: { maxGlobalMemberships: 2 } }).ctx,
        cluster(),
      );
      assert.equal(decision.outcome, 'refused');
      assert.equal(decision.exists, false);
    });

    it('409 because another invocation created this cluster’s membership (the last slot): unchanged, not "full"', async () => {
      const cloud = new FakeCloud();
      fill(cloud, 1);
      cloud.log.failures.set('fleet.createMembership', () => {
        member(cloud, GLOBAL, { workloadIdentityPool: `${FLEET}.svc.id.goog` });
        return gaxiosError(409, 'ALREADY_EXISTS', 'already exists');
      });
      const decision = await ensureMembership(
        testContext(cloud, { limits: { maxGlobalMemberships: 2 } }).ctx,
        cluster(),
      );
      assert.deepEqual(decision, {
        outcome: 'unchanged',
        reason: `membership ${GLOBAL} (created concurrently)`,
        membership: GLOBAL,
        exists: true,
      });
      assert.equal(creates(cloud).length, 1);
    });

    it('409 twice with no membership of this cluster listed: two creates, then the conflict is rethrown', async () => {
      const cloud = new FakeCloud();
      let calls = 0;
      const conflict = gaxiosError(409, 'ALREADY_EXISTS', 'already exists');
      // A runaway retry loop ends with a different error instead of hanging the test.
      cloud.log.failures.set('fleet.createMembership', () =>
        ++calls > 3 ? new Error('create retried without end') : conflict,
      );
      await assert.rejects(
        ensureMembership(testContext(cloud).ctx, cluster()),
        (e: unknown) => e === conflict,
      );
      assert.equal(creates(cloud).length, 2);
    });

    it('a permanent error is thrown at the first create, without a second try', async () => {
      const cloud = new FakeCloud();
      const denied = gaxiosError(403, 'PERMISSION_DENIED', 'denied');
      cloud.log.failures.set('fleet.createMembership', () => denied);
      await assert.rejects(ensureMembership(testContext(cloud).ctx, cluster()), (e: unknown) => e === denied);
      assert.equal(creates(cloud).length, 1);
    });

    it('keeps the invocation’s list current: a second cluster of the same name gets the fallback id without a 409', async () => {
      const cloud = new FakeCloud();
      const twin: ClusterRef = { ...REF, project: 'spoke-prj-two' };
      const { ctx } = testContext(cloud);
      await ensureMembership(ctx, cluster());
      const second = await ensureMembership(
        ctx,
        clusterInfo(twin, { workloadPool: 'spoke-prj-two.svc.id.goog' }),
      );
      assert.equal(second.outcome, 'created');
      assert.deepEqual(
        creates(cloud).map((c) => c.args[2]),
        ['c1', fallbackMembershipId('c1', twin)],
      );
      assert.equal(cloud.log.calls.filter((c) => c.method === 'listMemberships').length, 1);
      assert.deepEqual(
        (await fleetMemberships(ctx)).map((m) => m.name),
        [GLOBAL, `projects/${FLEET}/locations/global/memberships/${fallbackMembershipId('c1', twin)}`],
      );
    });

    it('membership ids are per location: the preferred id held in another location is still used', async () => {
      const cloud = new FakeCloud();
      member(cloud, GLOBAL, { resourceLink: otherLink('x') });
      await ensureMembership(testContext(cloud, { membership: { location: 'region' } }).ctx, cluster());
      assert.deepEqual(
        creates(cloud).map((c) => [c.args[1], c.args[2]]),
        [['us-east4', 'c1']],
      );
    });

    it('preferred and fallback ids both held by other clusters: a permanent "membership-conflict" naming both', async () => {
      const cloud = new FakeCloud();
      const fallback = fallbackMembershipId('c1', REF);
      member(cloud, GLOBAL, { resourceLink: otherLink('x') });
      member(cloud, `projects/${FLEET}/locations/global/memberships/${fallback}`, {
        resourceLink: otherLink('y'),
      });
      await assert.rejects(ensureMembership(testContext(cloud).ctx, cluster()), (e: unknown) => {
        assert.ok(e instanceof PermanentError);
        assert.equal(e.reason, 'membership-conflict');
        assert.equal(e.message, `membership ids c1 and ${fallback} are both taken by other clusters`);
        return true;
      });
      assert.deepEqual(creates(cloud), []);
    });
  });
});

describe('ownsMembership: the only memberships this deployment deletes', () => {
  const config = testConfig();
  const labelled = (labels: Record<string, string>): Membership => ({ name: GLOBAL, labels });
  it('both labels, this owner → owned', () => {
    assert.equal(
      ownsMembership(config, labelled({ 'managed-by': 'spokefleet', 'spokefleet-owner': 'spokefleet' })),
      true,
    );
  });
  it('this owner’s label but managed by something else → not owned', () => {
    assert.equal(
      ownsMembership(config, labelled({ 'managed-by': 'terraform', 'spokefleet-owner': 'spokefleet' })),
      false,
    );
    assert.equal(ownsMembership(config, labelled({ 'spokefleet-owner': 'spokefleet' })), false);
  });
  it('another owner → not owned', () => {
    assert.equal(
      ownsMembership(config, labelled({ 'managed-by': 'spokefleet', 'spokefleet-owner': 'b' })),
      false,
    );
  });
});
