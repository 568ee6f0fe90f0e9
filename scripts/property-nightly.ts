/**
 * The nightly-size run of the delivery-semantics property (the small seeded run is
 * test/reliability/delivery.test.ts). Random sequences of cluster and Service changes and reconcile requests over a
 * small fleet, their audit entries delivered 1–5 times in random order with delays, through the production
 * handlers; after quiescence the events alone must have brought the local cloud to the model (named exceptions
 * only), and after one more fleet reconcile it must match the model.
 *
 *   npx tsx scripts/property-nightly.ts                       10,000 sequences, 2 workers, seed from the clock
 *   RUNS=2000 WORKERS=1 MINUTES=10 npx tsx scripts/property-nightly.ts
 *   SEED=123 npx tsx scripts/property-nightly.ts              replay: the seed a failing run printed
 *   SEED=123 REPLAY_PATH=4:1:0 npx tsx scripts/property-nightly.ts   …and straight to its shrunk counterexample
 *
 * Each worker is one process with its own local cloud and its own seed (SEED + worker index), so a failure is
 * replayed with WORKERS=1 and the seed that worker printed. Deliveries within a `parallel` batch interleave on
 * timing, so a replay repeats the sequence and every delivery choice, but not necessarily the exact interleaving.
 * Exit code 0 when every sequence held, 1 otherwise. The last line is a JSON summary.
 */
import { fork } from 'node:child_process';
import fc from 'fast-check';
import { PropertyEnv, type RunStats, sequenceArbitrary } from '../test/reliability/harness';

process.env.METADATA_SERVER_DETECTION = 'none';

interface Summary {
  worker: number;
  seed: number;
  runs: number;
  failed: boolean;
  interrupted: boolean;
  seconds: number;
  ops: number;
  deliveries: number;
  nacks: number;
  convergedBeforeFleetReconcile: number;
  logLines: number;
  leaks: number;
  counterexample?: string;
  path?: string;
  error?: string;
}

const env = (name: string, fallback: number): number => {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : Number(value);
};

async function worker(index: number, seed: number, runs: number, minutes: number): Promise<Summary> {
  const property = await PropertyEnv.start();
  const totals = { ops: 0, deliveries: 0, nacks: 0, converged: 0 };
  const started = performance.now();
  let lastReport = started;
  let done = 0;
  try {
    const result = await fc.check(
      fc.asyncProperty(sequenceArbitrary(), async (sequence) => {
        const { violations, eventViolations, stats } = await property.run(sequence);
        add(totals, stats);
        done++;
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          const rate = done / ((lastReport - started) / 1000);
          console.error(`[worker ${index}] ${done} sequences, ${rate.toFixed(2)}/s`);
        }
        const problems = [
          ...eventViolations.map((v) => `events alone: ${v}`),
          ...violations.map((v) => `after the fleet reconcile: ${v}`),
        ];
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      {
        seed,
        numRuns: process.env.REPLAY_PATH ? 1 : runs,
        path: process.env.REPLAY_PATH || undefined,
        endOnFailure: process.env.SHRINK !== '1',
        interruptAfterTimeLimit: minutes * 60_000,
        markInterruptAsFailure: false,
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const summary: Summary = {
      worker: index,
      seed,
      runs: result.numRuns,
      failed: result.failed,
      interrupted: result.interrupted,
      seconds: Math.round(seconds),
      ops: totals.ops,
      deliveries: totals.deliveries,
      nacks: totals.nacks,
      convergedBeforeFleetReconcile: totals.converged,
      logLines: property.harness.logs.scanned,
      leaks: property.harness.logs.leaks.length,
    };
    if (result.failed) {
      summary.counterexample = JSON.stringify(result.counterexample);
      summary.path = result.counterexamplePath ?? undefined;
      summary.error =
        result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    }
    return summary;
  } finally {
    await property.close();
  }
}

function add(totals: { ops: number; deliveries: number; nacks: number; converged: number }, stats: RunStats) {
  totals.ops += stats.ops;
  totals.deliveries += stats.deliveries;
  totals.nacks += stats.nacks;
  if (stats.convergedBeforeFleetReconcile) totals.converged++;
}

async function main(): Promise<number> {
  const seed = env('SEED', Date.now() % 2 ** 31);
  const runs = env('RUNS', 10_000);
  const minutes = env('MINUTES', 600);
  const workers = process.env.REPLAY_PATH ? 1 : Math.max(1, env('WORKERS', 2));

  if (process.env.PROPERTY_WORKER !== undefined) {
    const summary = await worker(env('PROPERTY_WORKER', 0), seed, runs, minutes);
    // Exit once the parent has the summary: the IPC channel (and a sequence fast-check abandoned at the time limit)
    // would otherwise keep this process alive.
    await new Promise<void>((resolve) => (process.send ? process.send(summary, () => resolve()) : resolve()));
    process.exit(0);
  }

  console.error(
    `property-nightly: ${runs} sequences, ${workers} worker(s), seed ${seed}, at most ${minutes} min`,
  );
  const started = performance.now();
  const share = (i: number) => Math.floor(runs / workers) + (i < runs % workers ? 1 : 0);
  const summaries =
    workers === 1
      ? [await worker(0, seed, runs, minutes)]
      : await Promise.all(
          Array.from(
            { length: workers },
            (_, i) =>
              new Promise<Summary>((resolve, reject) => {
                const child = fork(__filename, [], {
                  env: {
                    ...process.env,
                    PROPERTY_WORKER: String(i),
                    SEED: String(seed + i),
                    RUNS: String(share(i)),
                    MINUTES: String(minutes),
                  },
                  execArgv: process.execArgv,
                });
                child.once('message', (m) => resolve(m as Summary));
                child.once(
                  'exit',
                  (code) => code !== 0 && reject(new Error(`worker ${i} exited with ${code}`)),
                );
              }),
          ),
        );
  const seconds = (performance.now() - started) / 1000;
  let failed = false;
  for (const s of summaries) {
    if (!s.failed && s.leaks === 0) continue;
    failed = true;
    if (s.leaks > 0) console.error(`worker ${s.worker}: ${s.leaks} log lines contained a token`);
    if (s.failed) {
      console.error(`\nworker ${s.worker} FAILED after ${s.runs} sequences (seed ${s.seed}):\n${s.error}`);
      console.error(`counterexample: ${s.counterexample}`);
      console.error(
        `replay: SEED=${s.seed} WORKERS=1${s.path ? ` REPLAY_PATH=${s.path}` : ''} npx tsx scripts/property-nightly.ts`,
      );
    }
  }
  const total = summaries.reduce((n, s) => n + s.runs, 0);
  const summary = {
    sequences: total,
    failed,
    seconds: Math.round(seconds),
    sequencesPerSecond: Number((total / seconds).toFixed(2)),
    extrapolated10kMinutes: Math.round(10_000 / (total / seconds) / 60),
    workers: summaries,
    node: process.version,
  };
  console.log(JSON.stringify(summary));
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
