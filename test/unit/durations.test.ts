/**
 * The table of typical GCP durations: well-formed rows with a source each, and the same numbers in
 * docs/local-cloud.md as in the code that draws them (the docs are what a reader checks the sources against).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Timing } from '../../sandbox/timing';
import { GCP_DURATIONS } from '../../shared/durations';

const unit = (ms: number) => (ms % 60_000 === 0 && ms >= 120_000 ? `${ms / 60_000} min` : `${ms / 1000} s`);

/** `9–15 min`, `30 s–2 min`: how the docs write a row's bounds. */
function range(minMs: number, maxMs: number): string {
  const [min, max] = [unit(minMs), unit(maxMs)];
  const [minValue, minUnit] = min.split(' ');
  return minUnit === max.split(' ')[1] ? `${minValue}–${max}` : `${min}–${max}`;
}

describe('typical GCP durations', () => {
  it('every row has min ≤ typical ≤ max and says where its numbers come from', () => {
    for (const [kind, row] of Object.entries(GCP_DURATIONS)) {
      assert.ok(row.minMs > 0 && row.minMs <= row.typicalMs && row.typicalMs <= row.maxMs, kind);
      assert.ok(row.source.length > 30, `${kind}: source`);
    }
  });

  it('docs/local-cloud.md shows each row with the same bounds and typical value', () => {
    const docs = readFileSync(join(__dirname, '..', '..', 'docs', 'local-cloud.md'), 'utf8');
    const table = docs.slice(docs.indexOf('## Timing profiles'), docs.indexOf('## Known differences'));
    for (const [kind, row] of Object.entries(GCP_DURATIONS)) {
      const cells = `| ${range(row.minMs, row.maxMs)}`;
      assert.ok(
        table.split('\n').some((line) => line.includes(cells) && line.includes(`| ${unit(row.typicalMs)} `)),
        `${kind}: no row with ${cells} and typical ${unit(row.typicalMs)}`,
      );
    }
  });

  it('the realistic profile draws within the bounds, scaled and seeded; instant draws nothing', () => {
    const a = new Timing({ profile: 'realistic', scale: 0.01, seed: 3 });
    const b = new Timing({ profile: 'realistic', scale: 0.01, seed: 3 });
    for (let i = 0; i < 50; i++) {
      const ms = a.draw('clusterUpdate') ?? -1;
      assert.equal(ms, b.draw('clusterUpdate'));
      const row = GCP_DURATIONS.clusterUpdate;
      assert.ok(ms >= row.minMs * 0.01 - 1 && ms <= row.maxMs * 0.01 + 1, String(ms));
    }
    assert.equal(new Timing().draw('clusterUpdate'), undefined);
    assert.equal(new Timing().delivery('audit'), undefined);
    assert.deepEqual(a.delivery('reconcile'), {
      backoffMs: 100,
      maxBackoffMs: 600, // the reconcile subscription's 60 s maximum backoff, × 0.01
      maxAttempts: 20,
      requestTimeoutMs: 5_400,
    });
  });

  it('a node-pool update draws one batch per surge batch of its nodes in every zone', () => {
    const t = new Timing({ profile: 'realistic', scale: 1, seed: 1 });
    const pool = {
      initialNodeCount: 2,
      locations: ['us-east4-a', 'us-east4-b'],
      upgradeSettings: { maxSurge: 1, maxUnavailable: 0, strategy: 'SURGE' },
    } as unknown as Parameters<Timing['gkeOperationMs']>[1];
    const ms = t.gkeOperationMs('UPGRADE_NODES', pool) ?? 0;
    const row = GCP_DURATIONS.nodePoolUpdatePerBatch;
    assert.ok(ms >= 4 * row.minMs && ms <= 4 * row.maxMs, String(ms));
  });
});
