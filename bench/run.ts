/**
 * `npm run bench` (full sizes, under 5 minutes on 2 cores) and `npm run bench:smoke` (`--smoke`: tiny sizes).
 *
 *   tsx bench/run.ts [--smoke] [--only cold-start,api-economy,fleet,burst,onboarding,api-budget,fleet-adoption]
 *     [--json FILE] [--time-scale F]   (onboarding, fleet-adoption: the realistic profile's scale, default 0.005 and 0.02)
 *
 * fleet-adoption is not part of the smoke run (it needs the realistic profile's minutes at any fleet size).
 *
 * Prints one table (figure, value, baseline, ratio, target, met?) on stdout; progress goes to stderr. Every
 * baseline is measured in the same run, so the ratios hold on a busy machine where absolute times do not.
 * Cold start serves dist/ (run `npm run build` first; the npm scripts do).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fleetAdoption } from './adoption';
import { apiEconomy } from './api-economy';
import { burst } from './burst';
import { coldStart } from './cold-start';
import { type Benchmark, checkFigure, type Figure, formatTable } from './common';
import { fleetReconcile } from './fleet';
import { apiBudget, onboarding } from './onboarding';

export const BENCHMARKS: Benchmark[] = [
  coldStart,
  apiEconomy,
  fleetReconcile,
  burst,
  onboarding,
  apiBudget,
  fleetAdoption,
];

export interface RunResult {
  figures: Figure[];
  /** Figures that are not well-formed (should be none). */
  malformed: string[];
  machine: { node: string; cpus: number; date: string; smoke: boolean };
  seconds: number;
}

export async function runBenchmarks(options: {
  smoke: boolean;
  only?: string[];
  progress?: (line: string) => void;
}): Promise<RunResult> {
  const started = performance.now();
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const figures: Figure[] = [];
  for (const bench of BENCHMARKS) {
    if (options.only && !options.only.includes(bench.name)) continue;
    if (options.smoke && bench.smoke === false) continue;
    const t = performance.now();
    figures.push(...(await bench.run({ smoke: options.smoke, progress })));
    progress(`${bench.name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const malformed = figures.flatMap((f) => {
    const problem = checkFigure(f);
    return problem ? [`${f.group} / ${f.figure}: ${problem}`] : [];
  });
  return {
    figures,
    malformed,
    machine: {
      node: process.version,
      cpus: cpus().length,
      date: new Date().toISOString(),
      smoke: options.smoke,
    },
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1]?.split(',') : undefined;
  const jsonAt = args.indexOf('--json');
  const result = await runBenchmarks({ smoke, only });
  process.stdout.write(
    `\nSpokefleet benchmarks${smoke ? ' (smoke sizes)' : ''} — Node ${result.machine.node}, ${result.machine.cpus} cores, ${result.machine.date}, ${result.seconds} s\n\n`,
  );
  process.stdout.write(`${formatTable(result.figures)}\n`);
  const missed = result.figures.filter((f) => f.met === false);
  process.stdout.write(
    `\n${result.figures.filter((f) => f.met).length} targets met, ${missed.length} missed${missed.length ? `: ${missed.map((f) => f.figure).join('; ')}` : ''}\n`,
  );
  if (jsonAt >= 0) writeFileSync(args[jsonAt + 1], `${JSON.stringify(result, null, 2)}\n`);
  if (result.malformed.length) {
    process.stderr.write(`malformed figures:\n${result.malformed.join('\n')}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().then(
    // Stand-in sockets and timers may linger; the run is over.
    () => process.exit(),
    (error) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
