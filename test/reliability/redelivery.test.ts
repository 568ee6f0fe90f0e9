/**
 * Redelivery end to end: the stand-ins' audit entries go through the real Pub/Sub emulator, whose
 * push subscription delivers them to onAuditLogEvent served by functions-framework's CLI from the built bundle.
 * With GKE Hub failing completely for about 2 s, the handler rethrows (HTTP 500), the emulator redelivers the same
 * message, and once Hub is back the redelivery succeeds. (That a poison message is acknowledged and blocks nothing
 * is test/e2e/pubsub.test.ts.) The function processes' whole output is then scanned for tokens.
 * Skipped when gcloud (with the Pub/Sub emulator) is not installed.
 */
import assert from 'node:assert/strict';
import { type Sandbox, startSandbox } from '../../sandbox/harness';
import { DEVELOPER_TOKEN, SANDBOX_TOKEN } from '../../sandbox/local-cloud';
import { emulatorAvailable } from '../../sandbox/pubsub-emulator';
import { createCluster, until } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { CLUSTER_SLOTS, DEMO_PROJECT } from './harness';

describe('reliability: redelivery through the Pub/Sub emulator', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;

  before(async function () {
    if (!emulatorAvailable()) this.skip();
    // A small in-process budget, so a 2 s outage outlasts it and the event must go back to Pub/Sub.
    sandbox = await startSandbox({ delivery: 'pubsub', config: { retryBudgetMs: 300 } });
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('a handler that fails transiently is redelivered by Pub/Sub and then succeeds', async () => {
    const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'redelivered-a' };
    const link = `//container.googleapis.com/projects/${ref.project}/locations/${ref.location}/clusters/${ref.name}`;
    const memberships = () =>
      sandbox.cloud.hub.store.list().memberships.filter((m) => m.endpoint?.gkeCluster?.resourceLink === link);
    const outageStarted = Date.now();
    sandbox.cloud.faults.setRule('gkehub.*', { errorRate: 1, faults: ['unavailable'] });
    let outageMs = 0;
    try {
      await createCluster(sandbox, ref, CLUSTER_SLOTS[0].spec);
      await until(
        () => sandbox.audit.logs.some((l) => l.reason === 'transient' && l.severity === 'WARNING'),
        'a rethrown delivery',
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2_000 - (Date.now() - outageStarted))));
    } finally {
      sandbox.cloud.faults.clearRules();
      outageMs = Date.now() - outageStarted;
    }
    assert.equal(memberships().length, 0, 'nothing was onboarded during the outage');
    await until(() => memberships().length === 1, 'membership after redelivery', 30_000);
    const recoveredMs = Date.now() - outageStarted;

    // The same message (one event id) was rethrown at least once, then done by a redelivery.
    const rethrown = sandbox.audit.logs.filter((l) => l.reason === 'transient' && l.severity === 'WARNING');
    const eventId = rethrown[0].eventId;
    const sameEvent = () => sandbox.audit.logs.filter((l) => l.eventId === eventId);
    await until(
      () => sameEvent().some((l) => l.step === 'membership' && l.outcome === 'created'),
      'the redelivery of the same message to log the membership it created',
      10_000,
    );
    const attempts = sameEvent().filter((l) => l.step === 'spoke').length;
    assert.ok(attempts >= 2, `${attempts} deliveries of ${String(eventId)}`);
    console.log(
      `      Hub down for ${outageMs} ms: ${attempts} deliveries of one message ` +
        `(${rethrown.filter((l) => l.eventId === eventId).length} rethrown), onboarded ${recoveredMs} ms after the outage began`,
    );
  });

  it("no line the function processes wrote contains the sandbox token, the developer's token or a bearer header", () => {
    const all = [sandbox.audit, sandbox.reconcile].flatMap((fn) => [
      ...fn.logs.map((l) => JSON.stringify(l)),
      ...fn.output,
    ]);
    assert.ok(all.length >= 10, `${all.length} lines`);
    const leaks = all.filter((line) =>
      [SANDBOX_TOKEN, DEVELOPER_TOKEN, 'Bearer'].some((s) => line.includes(s)),
    );
    assert.deepEqual(leaks, []);
  });
});
