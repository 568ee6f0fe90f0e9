import assert from 'node:assert/strict';
import {
  CallTimeoutError,
  callTimeoutMs,
  capFor,
  DeadlineReachedError,
  isTimeoutError,
  timedCall,
} from '../../shared/calls';
import { ANSWER_RESERVE_MS, withDeadline } from '../../shared/deadline';
import { classify } from '../../shared/errors';
import { failed, runStep } from '../../shared/reconcile/context';
import { FakeCloud } from '../fakes/cloud';
import { testContext } from '../fakes/context';
import { grpcError } from '../fakes/errors';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('per-call timeouts: min(time left in the invocation, the cap)', () => {
  it('outside an invocation a call gets the cap', () => {
    assert.equal(callTimeoutMs('container.GetCluster', 30_000), 30_000);
  });

  it('inside one, the time left (less the answer reserve) when that is shorter than the cap', async () => {
    await withDeadline(2_000, async () => {
      const timeout = callTimeoutMs('container.GetCluster', 30_000);
      assert.ok(
        timeout <= 2_000 - ANSWER_RESERVE_MS && timeout > 2_000 - ANSWER_RESERVE_MS - 100,
        `${timeout}`,
      );
      assert.equal(callTimeoutMs('container.GetCluster', 500), 500);
    });
  });

  it('with no time left, no call is started: a transient DeadlineReachedError', async () => {
    await withDeadline(ANSWER_RESERVE_MS, async () => {
      await sleep(5);
      assert.throws(
        () => callTimeoutMs('gkehub.memberships.list', 30_000),
        (e) => e instanceof DeadlineReachedError && classify(e) === 'transient',
      );
    });
  });

  it('long polls keep their own cap unless the config names the call', () => {
    assert.equal(capFor('compute.globalOperations.wait', { capMs: 30_000 }), 130_000);
    assert.equal(capFor('compute.networks.get', { capMs: 30_000 }), 30_000);
    assert.equal(
      capFor('compute.globalOperations.wait', {
        capMs: 30_000,
        byCall: { 'compute.globalOperations.wait': 5 },
      }),
      5,
    );
  });
});

describe('timedCall', () => {
  it('hands the timeout to the call and returns its result', async () => {
    let given = 0;
    const value = await timedCall('kube.services.get', 1_234, async (timeoutMs) => {
      given = timeoutMs;
      return 'ok';
    });
    assert.equal(value, 'ok');
    assert.equal(given, 1_234);
  });

  const shapes: Array<[string, () => unknown]> = [
    ['gax gRPC DEADLINE_EXCEEDED', () => grpcError(4, 'Deadline exceeded after 0.1s')],
    [
      'AbortSignal.timeout',
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    ],
    [
      'gaxios timeout',
      () =>
        Object.assign(new Error('The operation was aborted due to timeout'), {
          name: 'GaxiosError',
          code: 'TimeoutError',
        }),
    ],
    [
      'fetch failed, caused by a timeout',
      () => new TypeError('fetch failed', { cause: new DOMException('aborted', 'TimeoutError') }),
    ],
  ];
  for (const [name, make] of shapes) {
    it(`a ${name} after the whole timeout becomes a CallTimeoutError naming the call`, async () => {
      await assert.rejects(
        timedCall('gkehub.memberships.list', 40, async (timeoutMs) => {
          await sleep(timeoutMs + 5);
          throw make();
        }),
        (e) =>
          e instanceof CallTimeoutError &&
          e.call === 'gkehub.memberships.list' &&
          e.message === 'gkehub.memberships.list did not answer within 40 ms' &&
          classify(e) === 'transient',
      );
    });
  }

  it('an early DEADLINE_EXCEEDED answered by the server stays what it is', async () => {
    const answered = grpcError(4, 'DEADLINE_EXCEEDED: server said so');
    await assert.rejects(
      timedCall('container.GetCluster', 5_000, async () => {
        throw answered;
      }),
      (e) => e === answered,
    );
  });

  it('other failures pass through unchanged, however long they took', async () => {
    const refused = grpcError(7, 'permission denied');
    await assert.rejects(
      timedCall('container.GetCluster', 30, async () => {
        await sleep(40);
        throw refused;
      }),
      (e) => e === refused,
    );
  });

  it('recognises timeout shapes and nothing else', () => {
    for (const [, make] of shapes) assert.ok(isTimeoutError(make()));
    assert.equal(isTimeoutError(grpcError(14, 'unavailable')), false);
    assert.equal(isTimeoutError(new Error('boom')), false);
    assert.equal(isTimeoutError(undefined), false);
  });
});

describe('steps and the deadline', () => {
  it('a step is not started once the invocation has no time left; it fails transiently', async () => {
    const { ctx } = testContext(new FakeCloud());
    let ran = false;
    const record = await withDeadline(ANSWER_RESERVE_MS, async () => {
      await sleep(5);
      return runStep(ctx, 'namespaces', 'p/l/c', async () => {
        ran = true;
        return { outcome: 'unchanged' };
      });
    });
    assert.equal(ran, false);
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.match(record.reason ?? '', /deadline was reached before step namespaces/);
  });

  it('with time left the step runs', async () => {
    const { ctx } = testContext(new FakeCloud());
    const record = await withDeadline(5_000, () =>
      runStep(ctx, 'namespaces', 'p/l/c', async () => ({ outcome: 'unchanged' })),
    );
    assert.equal(record.outcome, 'unchanged');
  });

  it('an error recorded after the deadline keeps its own reason (the call that hung), not "deadline reached"', async () => {
    const { ctx } = testContext(new FakeCloud());
    const record = await withDeadline(ANSWER_RESERVE_MS, async () => {
      await sleep(5);
      return failed(ctx, 'exports', 'p/l/c', new CallTimeoutError('resourcemanager.projects.get', 900));
    });
    assert.equal(record.reason, 'resourcemanager.projects.get did not answer within 900 ms');
    assert.equal(record.retryable, true);
  });
});
