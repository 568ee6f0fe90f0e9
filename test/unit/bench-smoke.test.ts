/**
 * `npm run bench:smoke` in CI: every benchmark runs at tiny sizes and produces well-formed figures. Speed is not
 * checked here (CI machines vary; the full `npm run bench` compares against baselines of its own run), but what
 * does not depend on speed is: writes per event, convergence under the rate limit, and that loading the bundle
 * leaves the client libraries unread.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { formatTable } from '../../bench/common';
import { type RunResult, runBenchmarks } from '../../bench/run';

const ROOT = path.resolve(__dirname, '../..');

describe('bench: smoke run of every benchmark', function () {
  this.timeout(120_000);
  let result: RunResult;

  before(async () => {
    // The cold-start and fleet benchmarks run the built bundle (npm test builds before testing).
    if (!existsSync(path.join(ROOT, 'dist/vendor.js'))) {
      await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { cwd: ROOT });
    }
    result = await runBenchmarks({ smoke: true, progress: () => {} });
  });

  it('produces well-formed figures for every benchmark', () => {
    assert.deepEqual(result.malformed, []);
    const groups = new Set(result.figures.map((f) => f.group.split(' (')[0]));
    assert.deepEqual(
      [...groups],
      [
        'Cold start',
        'API economy',
        'Fleet reconcile',
        'Fleet reconcile growth',
        'Burst',
        'Onboarding critical path',
        'API budget',
      ],
    );
    for (const f of result.figures) assert.ok(f.ratio === undefined || f.ratio >= 0, `${f.figure}: ratio`);
    const table = formatTable(result.figures);
    assert.match(table, /^\| figure +\| value +\| baseline +\| ratio +\| target +\| met\? \|/);
    assert.equal(table.split('\n').length, result.figures.length + groups.size + 2);
  });

  it('writes only the minimum per event, and nothing on redelivery', () => {
    const writes = result.figures.filter(
      (f) => f.group.startsWith('API economy') && f.figure.endsWith(': writes'),
    );
    assert.equal(writes.length, 6);
    for (const f of writes) assert.equal(f.met, true, `${f.figure}: ${f.value} (minimum ${f.baseline})`);
  });

  it('loads no client library with the bundle, and converges through the rate-limited burst', () => {
    const must = (prefix: string, figure: RegExp) => {
      const found = result.figures.find((f) => f.group.startsWith(prefix) && figure.test(f.figure));
      assert.ok(found, `${prefix}: ${figure}`);
      assert.equal(found.met, true, `${found.figure}: ${found.value} ${found.unit}`);
    };
    must('Cold start', /^client libraries \(vendor\.js\) read by require/);
    must('Burst', /^labelled Services with their export/);
    must('Burst', /^messages acknowledged/);
    must('Burst', /^calls answered 429/);
  });
});
