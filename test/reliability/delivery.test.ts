/**
 * Delivery semantics, the seeded run of `npm test`; scripts/property-nightly.ts is the large one.
 *
 * Random sequences over two projects, four clusters (PSC, VPC-peered, zonal, not a spoke) and five Service slots:
 * clusters created and deleted with the real GKE client, Services created, labelled, unlabelled and deleted through
 * the Kubernetes API with a developer's token, reconcile requests. The audit entries the stand-ins emit are
 * delivered 1–5 times each, reordered and delayed, sometimes concurrently, through the production handlers. Two
 * properties: after quiescence the events alone must have brought the local cloud to the model (harness.ts
 * SequenceRun.checkModel; the only exceptions are named in EVENT_EXCEPTIONS), and after one more fleet reconcile it
 * must match the model without exception. While handlers ran Spokefleet may only have created managed namespaces/ServiceExports/Events and memberships,
 * and deleted only managed ServiceExports and memberships; user-owned objects stay byte-for-byte unchanged.
 *
 * Replay a failure: the message gives seed and path; `SEED=… WORKERS=1 REPLAY_PATH=… npx tsx
 * scripts/property-nightly.ts` runs the same sequence (same arbitrary, same seed).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Coverage, classifySequence, PropertyEnv, type Sequence, sequenceArbitrary } from './harness';

const SEED = Number(process.env.SEED ?? 20_261_127);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);

/**
 * The least share of sequences that must exercise each case; the seeded run is measured well above these (see the
 * printed table), so a generator change that starves a case fails here instead of silently testing less.
 */
const MIN_SHARE: Record<keyof Coverage, number> = {
  crossProject: 0.45,
  rivalLeft: 0.3,
  unexported: 0.35,
  clusterDeletedWhileLabelled: 0.1,
};

describe('reliability: delivery semantics (property, seeded)', function () {
  this.timeout(180_000);
  let env: PropertyEnv;
  const figures = { sequences: 0, ops: 0, deliveries: 0, nacks: 0, ms: 0, converged: 0, excused: 0 };
  const covered: Record<keyof Coverage, number> = {
    crossProject: 0,
    rivalLeft: 0,
    unexported: 0,
    clusterDeletedWhileLabelled: 0,
  };

  before(async () => {
    env = await PropertyEnv.start();
  });
  after(async () => {
    await env?.close();
    if (figures.sequences)
      console.log(
        `      ${figures.sequences} sequences, ${figures.ops} operations, ${figures.deliveries} deliveries ` +
          `(${figures.nacks} rethrown and redelivered) in ${Math.round(figures.ms)} ms: ` +
          `${((figures.sequences * 1000) / figures.ms).toFixed(2)} sequences/s; ` +
          `${figures.converged}/${figures.sequences} converged on events alone, ${figures.excused} by a named exception; ` +
          `coverage ${Object.entries(covered)
            .map(([name, n]) => `${name} ${n}/${figures.sequences}`)
            .join(', ')}`,
      );
  });

  it(`${RUNS} random sequences (seed ${SEED}) converge on their events alone and after a fleet reconcile, touching only what Spokefleet manages`, async () => {
    const started = performance.now();
    const result = await fc.check(
      fc.asyncProperty(sequenceArbitrary(), async (sequence) => {
        const { violations, eventViolations, stats } = await env.run(sequence);
        figures.sequences++;
        figures.ops += stats.ops;
        figures.deliveries += stats.deliveries;
        figures.nacks += stats.nacks;
        if (stats.convergedBeforeFleetReconcile) figures.converged++;
        else if (eventViolations.length === 0) figures.excused++;
        for (const [name, hit] of Object.entries(classifySequence(sequence)))
          if (hit) covered[name as keyof Coverage]++;
        const problems = [
          ...eventViolations.map((v) => `events alone: ${v}`),
          ...violations.map((v) => `after the fleet reconcile: ${v}`),
        ];
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    figures.ms = performance.now() - started;
    if (result.failed) {
      assert.fail(
        `${fc.defaultReportMessage(result)}\nviolations:\n${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}\nreplay: SEED=${result.seed} WORKERS=1 REPLAY_PATH=${result.counterexamplePath} ` +
          'npx tsx scripts/property-nightly.ts',
      );
    }
    assert.deepEqual(env.harness.logs.leaks, [], 'no log line contains a token');
    for (const [name, least] of Object.entries(MIN_SHARE))
      assert.ok(
        covered[name as keyof Coverage] >= Math.ceil(least * figures.sequences),
        `only ${covered[name as keyof Coverage]}/${figures.sequences} sequences exercise ${name} (want ≥ ${least * 100} %)`,
      );
  });

  it('the generator makes the cases that matter (fc.statistics over 1000 sequences, no cloud)', () => {
    const shares = new Map<string, number>();
    fc.statistics(
      sequenceArbitrary(),
      (sequence) =>
        Object.entries(classifySequence(sequence))
          .filter(([, hit]) => hit)
          .map(([name]) => name),
      {
        numRuns: 1000,
        seed: SEED,
        logger: (line) => {
          const match = /^([A-Za-z]+)\.+([\d.]+)%$/.exec(line.trim());
          if (match) shares.set(match[1], Number(match[2]) / 100);
        },
      },
    );
    for (const [name, least] of Object.entries(MIN_SHARE))
      assert.ok(
        (shares.get(name) ?? 0) >= least,
        `${name}: ${shares.get(name) ?? 0} of sequences, want ≥ ${least}`,
      );
  });

  it('regression: one Service labelled in clusters of two projects, delivered concurrently, is exported from one project only', async () => {
    // Found by the nightly property (seeds 100 and 101): both invocations passed the fleet-wide check before
    // either export existed. Spokefleet now re-checks after creating and the later one withdraws.
    const sequence = (deliverySeed: number): Sequence => ({
      byHand: false,
      deliverySeed,
      ops: [
        { kind: 'createCluster', c: 0 },
        { kind: 'createCluster', c: 1 },
        { kind: 'createCluster', c: 2 },
        { kind: 'deliver', n: 6, parallel: false },
        { kind: 'deliver', n: 6, parallel: false },
        { kind: 'deliver', n: 6, parallel: false },
        { kind: 'putService', c: 0, s: 0, labelled: true },
        { kind: 'putService', c: 2, s: 0, labelled: true },
        { kind: 'putService', c: 1, s: 0, labelled: true },
        { kind: 'reconcile', scope: 'fleet', c: 0 },
        { kind: 'deliver', n: 6, parallel: true },
      ],
    });
    let raced = 0;
    for (let seed = 0; seed < 4; seed++) {
      const { violations, eventViolations, stats } = await env.run(sequence(seed));
      assert.deepEqual(eventViolations, [], `delivery seed ${seed}, events alone`);
      assert.deepEqual(violations, [], `delivery seed ${seed}`);
      raced += stats.nacks;
    }
    // The race is real here: some deliveries withdrew their export and were rethrown.
    assert.ok(raced > 0, 'concurrent exports were detected and withdrawn');
  });

  it('regression: two clusters of two projects onboarded concurrently do not both export the same Service', async () => {
    // Found by the nightly property after the fix above (seed 20261128, path 1399): each invocation's re-check
    // used the member list it had read at its start, before the other cluster had joined the fleet. The re-check
    // now reads the members again. This sequence failed 5 times out of 5 before, and passes now.
    const { violations, eventViolations } = await env.run({
      byHand: false,
      deliverySeed: 1511958713,
      ops: [
        { kind: 'createCluster', c: 0 },
        { kind: 'createCluster', c: 0 },
        { kind: 'createCluster', c: 2 },
        { kind: 'setLabel', c: 0, s: 3, labelled: true },
        { kind: 'deleteService', c: 1, s: 1 },
        { kind: 'putService', c: 3, s: 4, labelled: true },
        { kind: 'putService', c: 0, s: 0, labelled: false },
        { kind: 'createCluster', c: 0 },
        { kind: 'putService', c: 2, s: 0, labelled: true },
        { kind: 'deleteService', c: 1, s: 0 },
        { kind: 'putService', c: 0, s: 0, labelled: true },
        { kind: 'setLabel', c: 0, s: 2, labelled: false },
        { kind: 'deleteService', c: 2, s: 1 },
        { kind: 'putService', c: 0, s: 4, labelled: false },
      ],
    });
    assert.deepEqual(eventViolations, [], 'events alone');
    assert.deepEqual(violations, []);
  });
});
