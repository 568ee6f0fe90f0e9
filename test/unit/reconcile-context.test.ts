import assert from 'node:assert/strict';
import sinon from 'sinon';
import { ANSWER_RESERVE_MS, withDeadline } from '../../shared/deadline';
import { Memo, runStep, skipped, wrote } from '../../shared/reconcile/context';
import { FakeCloud } from '../fakes/cloud';
import { testContext } from '../fakes/context';
import { grpcError } from '../fakes/errors';

const TARGET = 'spoke-prj-one/us-east4/c1';

describe('Memo: reads shared by one invocation', () => {
  it('concurrent callers share one load', async () => {
    const memo = new Memo();
    let loads = 0;
    const load = async () => ++loads;
    const [a, b] = await Promise.all([memo.get('k', load), memo.get('k', load)]);
    assert.deepEqual([a, b, loads], [1, 1, 1]);
  });

  it('a failed load is forgotten: the next caller loads again', async () => {
    const memo = new Memo();
    let loads = 0;
    const load = async () => {
      if (++loads === 1) throw grpcError(14, 'unavailable');
      return 'members';
    };
    await assert.rejects(memo.get('k', load), /unavailable/);
    assert.equal(await memo.get('k', load), 'members');
    assert.equal(loads, 2);
  });

  it('peek sees a value loaded or loading, and never loads one itself', async () => {
    const memo = new Memo();
    assert.equal(memo.peek('k'), undefined);
    let release: (value: string) => void = () => {};
    const loading = memo.get('k', () => new Promise<string>((resolve) => (release = resolve)));
    const peeked = memo.peek<string>('k');
    assert.ok(peeked, 'the read in flight is visible');
    release('view');
    assert.equal(await peeked, 'view');
    assert.equal(await loading, 'view');
    assert.equal(memo.peek('other'), undefined);
  });
});

describe('runStep: a step decision becomes a record', () => {
  afterEach(() => sinon.restore());

  it('a step is not started when no time is left: a retryable failure naming the deadline', async () => {
    const { ctx } = testContext(new FakeCloud());
    // A frozen clock: the budget is exactly the answer reserve, so the time left for work is exactly 0.
    sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    let ran = 0;
    const record = await withDeadline(ANSWER_RESERVE_MS, () =>
      runStep(ctx, 'membership', TARGET, async () => {
        ran++;
        return { outcome: 'unchanged' };
      }),
    );
    assert.equal(ran, 0);
    assert.equal(record.outcome, 'failed');
    assert.equal(record.retryable, true);
    assert.match(record.reason ?? '', /deadline was reached before step membership/);

    const inTime = await withDeadline(ANSWER_RESERVE_MS + 1, () =>
      runStep(ctx, 'membership', TARGET, async () => ({ outcome: 'unchanged' })),
    );
    assert.equal(inTime.outcome, 'unchanged', 'a millisecond left is enough to start');
  });

  it('durationMs is the time the step took, to a tenth of a millisecond', async () => {
    const { ctx } = testContext(new FakeCloud());
    const before = performance.now();
    const record = await runStep(ctx, 'namespaces', TARGET, async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { outcome: 'unchanged' };
    });
    const took = performance.now() - before;
    assert.ok(record.durationMs >= 29 && record.durationMs <= took + 0.05, `${record.durationMs} of ${took}`);
    assert.equal(record.durationMs, Math.round(record.durationMs * 10) / 10);
  });

  it('wrote: the outcome in a real run; in a dry run, planned with what would be done', () => {
    const { ctx } = testContext(new FakeCloud());
    assert.deepEqual(wrote(ctx, 'created', 'namespace mcs-common'), {
      outcome: 'created',
      reason: 'namespace mcs-common',
    });
    const plan = testContext(new FakeCloud(), {}, true).ctx;
    assert.deepEqual(wrote(plan, 'deleted', 'ServiceExport'), {
      outcome: 'planned',
      reason: 'would be deleted: ServiceExport',
    });
  });
});

describe('each record is logged once, at a severity by its outcome', () => {
  const decide = (outcome: 'created' | 'refused') => async () => ({ outcome, reason: `why ${outcome}` });

  it('failed at ERROR, refused at WARNING, the rest at INFO; the message names the step and target', async () => {
    const { ctx, transport } = testContext(new FakeCloud());
    await runStep(ctx, 'membership', TARGET, decide('created'));
    await runStep(ctx, 'peering', TARGET, decide('refused'));
    await runStep(ctx, 'namespaces', TARGET, () => Promise.reject(grpcError(7, 'PERMISSION_DENIED')));
    skipped('exports', TARGET, ctx, 'the cluster has no fleet membership');
    assert.deepEqual(
      transport.records().map((l) => [l.severity, l.message, l.step, l.outcome]),
      [
        ['INFO', `membership ${TARGET}: created`, 'membership', 'created'],
        ['WARNING', `peering ${TARGET}: refused`, 'peering', 'refused'],
        ['ERROR', `namespaces ${TARGET}: failed`, 'namespaces', 'failed'],
        ['INFO', `exports ${TARGET}: skipped`, 'exports', 'skipped'],
      ],
    );
    assert.equal(transport.records()[3]?.reason, 'the cluster has no fleet membership');
  });
});
