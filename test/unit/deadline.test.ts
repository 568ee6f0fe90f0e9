import assert from 'node:assert/strict';
import { localWait } from '../../shared/cloud';
import { waitFor } from '../../shared/cloud/operations';
import {
  ANSWER_RESERVE_MS,
  invocationBudgetMs,
  invocationDeadline,
  withDeadline,
  workDeadline,
} from '../../shared/deadline';
import { classify, withRetry } from '../../shared/errors';
import { grpcError } from '../fakes/errors';

const unavailable = () => grpcError(14, 'unavailable');

describe('invocation deadline', () => {
  it('is unset outside an invocation and set inside, also across awaits', async () => {
    assert.equal(invocationDeadline(), undefined);
    assert.equal(invocationBudgetMs(), undefined);
    await withDeadline(1_000, async () => {
      const deadline = invocationDeadline();
      assert.ok(deadline && deadline > Date.now());
      await new Promise((resolve) => setTimeout(resolve, 1));
      assert.equal(invocationDeadline(), deadline);
      assert.equal(invocationBudgetMs(), 1_000);
    });
  });

  it('cuts withRetry short: no sleep that would end past the invocation deadline (fake clock)', async () => {
    const sleeps: number[] = [];
    let attempts = 0;
    let clock = 0;
    let workEnds = 0;
    await assert.rejects(
      withDeadline(1_000, () => {
        // The fake clock starts at the real one (the deadline was set from it) and moves only by the sleeps.
        clock = Date.now();
        workEnds = workDeadline() ?? Number.NaN;
        return withRetry(
          async () => {
            attempts++;
            throw unavailable();
          },
          {
            budgetMs: 60_000,
            baseDelayMs: 200,
            maxDelayMs: 200,
            maxAttempts: 100,
            random: () => 1,
            now: () => clock,
            sleep: async (ms) => {
              sleeps.push(ms);
              clock += ms;
            },
          },
        );
      }),
      (e) => classify(e) === 'transient',
    );
    // 1,000 ms less the 250 ms answer reserve leaves about 750 ms: sleeps end at 200, 400, 600; one more would end
    // at 800, past it, so the fourth failure is rethrown. Without the deadline the 60 s budget allows 100 attempts.
    assert.deepEqual(sleeps, [200, 200, 200]);
    assert.equal(attempts, 4);
    assert.ok(clock <= workEnds, 'no sleep ended past the work deadline');
  });

  it('with a real clock, a 60 s retry budget stops at a 250 ms invocation deadline', async () => {
    const started = Date.now();
    await assert.rejects(
      withDeadline(250, () =>
        withRetry(
          async () => {
            throw unavailable();
          },
          { budgetMs: 60_000, baseDelayMs: 40, maxDelayMs: 40, maxAttempts: 1_000, random: () => 1 },
        ),
      ),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 400, `stopped after ${elapsed} ms`);
  });

  it('polls an operation once more just before the deadline, not an interval early', async () => {
    const started = Date.now();
    // Polls every 400 ms, the work deadline 600 ms away, the operation done after 450 ms: the poll at 400 ms is too
    // early and the next interval would end past the deadline, so the last poll comes just before it.
    const done = await withDeadline(600 + ANSWER_RESERVE_MS, () =>
      waitFor('operation-y', async () => (Date.now() - started >= 450 ? 'done' : undefined), {
        timeoutMs: 300_000,
        intervalMs: 400,
        maxIntervalMs: 400,
      }),
    );
    assert.equal(done, 'done');
    assert.ok(Date.now() - started < 600 + ANSWER_RESERVE_MS);
  });

  it('against the stand-ins, the longest poll interval is the deployed 10 s times the time scale', () => {
    assert.deepEqual(localWait(1), { intervalMs: 20, maxIntervalMs: 200 });
    assert.equal(localWait(0.005).maxIntervalMs, 50);
    assert.equal(localWait(0.0001).maxIntervalMs, 20);
  });

  it('cuts an operation wait short with a transient error', async () => {
    const started = Date.now();
    await assert.rejects(
      withDeadline(200, () =>
        waitFor('operation-x', async () => undefined, {
          timeoutMs: 300_000,
          intervalMs: 50,
          maxIntervalMs: 50,
        }),
      ),
      (e) => classify(e) === 'transient' && /did not finish in time/.test(String((e as Error).message)),
    );
    assert.ok(Date.now() - started < 400);
  });
});
