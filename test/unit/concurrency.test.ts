import assert from 'node:assert/strict';
import { mapSettled } from '../../shared/concurrency';

/** A task whose completion the test controls, counting how many run at once. */
function gate() {
  let inFlight = 0;
  let peak = 0;
  const started: number[] = [];
  const pending = new Map<number, { resolve: (v: string) => void; reject: (e: unknown) => void }>();
  const fn = (item: number, index: number) => {
    assert.equal(item, index * 10, 'fn gets the item and its index');
    started.push(index);
    inFlight++;
    peak = Math.max(peak, inFlight);
    return new Promise<string>((resolve, reject) => {
      pending.set(index, {
        resolve: (v) => {
          inFlight--;
          resolve(v);
        },
        reject: (e) => {
          inFlight--;
          reject(e);
        },
      });
    });
  };
  return {
    fn,
    started,
    pending,
    peak: () => peak,
    inFlight: () => inFlight,
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('mapSettled', () => {
  const bounds: Array<[items: number, limit: number, expectedPeak: number]> = [
    [10, 3, 3],
    [10, 1, 1],
    [5, 5, 5],
    [3, 8, 3],
    [4, 0, 1],
  ];
  for (const [count, limit, expectedPeak] of bounds) {
    it(`${count} items, limit ${limit}: at most ${expectedPeak} in flight, results in input order`, async () => {
      const items = Array.from({ length: count }, (_, i) => i * 10);
      const g = gate();
      const done = mapSettled(items, limit, g.fn);
      await flush();
      assert.equal(g.inFlight(), expectedPeak, 'fills the pool up to the limit at once');
      // Finish in reverse order of start, one at a time, so later items complete before earlier ones.
      while (g.started.length > 0 && g.pending.size > 0) {
        const newest = Math.max(...g.pending.keys());
        const task = g.pending.get(newest);
        g.pending.delete(newest);
        task?.resolve(`r${newest}`);
        await flush();
        assert.ok(g.inFlight() <= expectedPeak, `in flight ${g.inFlight()}`);
      }
      const results = await done;
      assert.equal(g.peak(), expectedPeak);
      assert.deepEqual(
        results,
        items.map((_, i) => ({ status: 'fulfilled', value: `r${i}` })),
      );
      assert.deepEqual(
        [...g.started].sort((a, b) => a - b),
        items.map((_, i) => i),
        'each item attempted exactly once',
      );
    });
  }

  it('attempts every item when some reject (sync throw or rejection) and keeps each outcome in place', async () => {
    const attempted: number[] = [];
    const boom = new Error('boom');
    const results = await mapSettled([0, 1, 2, 3, 4, 5, 6], 2, async (item) => {
      attempted.push(item);
      await flush();
      if (item % 3 === 0) throw boom;
      if (item === 4) return Promise.reject('plain rejection');
      return item * 2;
    });
    assert.deepEqual(attempted.sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(results, [
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 2 },
      { status: 'fulfilled', value: 4 },
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: 'plain rejection' },
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: boom },
    ]);
  });

  it('a function that throws synchronously does not stop the others', async () => {
    const results = await mapSettled(['a', 'b', 'c'], 2, ((item: string) => {
      if (item === 'a') throw new Error('sync');
      return Promise.resolve(item.toUpperCase());
    }) as (item: string) => Promise<string>);
    assert.equal(results[0].status, 'rejected');
    assert.deepEqual(results.slice(1), [
      { status: 'fulfilled', value: 'B' },
      { status: 'fulfilled', value: 'C' },
    ]);
  });

  it('empty input resolves to [] without calling fn', async () => {
    let calls = 0;
    const results = await mapSettled([], 4, async () => {
      calls++;
    });
    assert.deepEqual(results, []);
    assert.equal(calls, 0);
  });
});
