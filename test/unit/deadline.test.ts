import assert from 'node:assert/strict';
import { waitFor } from '../../shared/cloud/operations';
import { invocationDeadline, withDeadline } from '../../shared/deadline';
import { classify, withRetry } from '../../shared/errors';

const unavailable = () => Object.assign(new Error('unavailable'), { code: 14 });

describe('invocation deadline', () => {
  it('is unset outside an invocation and set inside, also across awaits', async () => {
    assert.equal(invocationDeadline(), undefined);
    await withDeadline(1_000, async () => {
      const deadline = invocationDeadline();
      assert.ok(deadline && deadline > Date.now());
      await new Promise((resolve) => setTimeout(resolve, 1));
      assert.equal(invocationDeadline(), deadline);
    });
  });

  it('cuts withRetry short: no sleep that would end past the invocation deadline', async () => {
    const sleeps: number[] = [];
    let attempts = 0;
    await assert.rejects(
      withDeadline(300, () =>
        withRetry(
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
            sleep: async (ms) => void sleeps.push(ms),
          },
        ),
      ),
      (e) => classify(e) === 'transient',
    );
    // Sleeps are instant here, so the loop may go on while the clock stays under 300 ms; each planned sleep must fit.
    assert.ok(attempts >= 1);
    assert.ok(sleeps.every((ms) => ms <= 300));
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
