/** The MCS feature step on its own: enabled, created, planned, created concurrently, a create that fails. */
import assert from 'node:assert/strict';
import { classify } from '../../shared/errors';
import { ensureMcsFeature } from '../../shared/reconcile/feature';
import { FakeCloud } from '../fakes/cloud';
import { FLEET, testContext } from '../fakes/context';
import { gaxiosError } from '../fakes/errors';

describe('ensureMcsFeature', () => {
  it('enabled: unchanged, read once per invocation', async () => {
    const cloud = new FakeCloud();
    cloud.features.add(`${FLEET}/multiclusterservicediscovery`);
    const { ctx } = testContext(cloud);
    const decision = await ensureMcsFeature(ctx);
    await ensureMcsFeature(ctx);
    assert.deepEqual(decision, {
      outcome: 'unchanged',
      reason: `multiclusterservicediscovery enabled in ${FLEET}`,
    });
    assert.equal(cloud.log.calls.length, 1);
  });

  it('missing: created once for the invocation, naming it', async () => {
    const cloud = new FakeCloud();
    const { ctx } = testContext(cloud);
    const [first, second] = await Promise.all([ensureMcsFeature(ctx), ensureMcsFeature(ctx)]);
    assert.deepEqual(first, { outcome: 'created', reason: `multiclusterservicediscovery in ${FLEET}` });
    assert.deepEqual(second, first);
    assert.equal(cloud.log.writes().length, 1);
  });

  it('dry run: planned, nothing created', async () => {
    const cloud = new FakeCloud();
    assert.deepEqual(await ensureMcsFeature(testContext(cloud, {}, true).ctx), {
      outcome: 'planned',
      reason: `would be created: multiclusterservicediscovery in ${FLEET}`,
    });
    assert.deepEqual(cloud.log.writes(), []);
  });

  it('a create that fails for another reason than "already exists" fails the step', async () => {
    const cloud = new FakeCloud();
    cloud.log.failures.set('fleet.createFeature', () => gaxiosError(403, 'PERMISSION_DENIED', 'denied'));
    await assert.rejects(
      ensureMcsFeature(testContext(cloud).ctx),
      (e: unknown) => classify(e) === 'permanent',
    );
  });
});
