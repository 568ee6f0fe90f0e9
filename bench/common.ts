/**
 * What every benchmark shares: the row type of the results table, statistics, the table printer, and small
 * process helpers. Every figure is compared with a baseline measured in the same run (never across runs): the
 * machine is shared, so only ratios are meaningful.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');

/** One row of the results table. */
export interface Figure {
  /** The benchmark it belongs to (a heading in the table). */
  group: string;
  figure: string;
  value: number;
  unit: string;
  /** The figure it is compared with (same unit), measured in the same run or derived (a minimum, a bound). */
  baseline?: number;
  /** value ÷ baseline (or as defined by the benchmark, e.g. a speed-up). */
  ratio?: number;
  /** Human-readable target, e.g. `≤ 1.3×`. */
  target?: string;
  /** Whether the target is met; undefined when the row has no target (information only). */
  met?: boolean;
  note?: string;
}

export interface BenchOptions {
  /** Tiny sizes: checks that everything runs and produces well-formed figures, not speed. */
  smoke: boolean;
  /** Progress lines (stderr), so stdout stays the table. */
  progress: (line: string) => void;
}

export interface Benchmark {
  name: string;
  run(options: BenchOptions): Promise<Figure[]>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const round = (value: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export const ratio = (value: number, baseline: number): number =>
  baseline === 0 ? (value === 0 ? 1 : Number.POSITIVE_INFINITY) : round(value / baseline, 2);

/** A figure well-formed enough to publish: finite numbers, a unit, a consistent target verdict. */
export function checkFigure(f: Figure): string | undefined {
  if (!f.group || !f.figure || !f.unit) return 'missing group, figure or unit';
  if (!Number.isFinite(f.value)) return `value ${f.value} is not finite`;
  if (f.baseline !== undefined && !Number.isFinite(f.baseline)) return `baseline ${f.baseline} is not finite`;
  if (f.ratio !== undefined && !Number.isFinite(f.ratio)) return `ratio ${f.ratio} is not finite`;
  if (f.target !== undefined && f.met === undefined) return 'a target without a verdict';
  return undefined;
}

function show(value: number | undefined, unit = ''): string {
  if (value === undefined) return '';
  const text = Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
  return unit ? `${text} ${unit}` : text;
}

/** The results table: figure | value | baseline | ratio | target | met? (Markdown, so docs can take it as is). */
export function formatTable(figures: readonly Figure[]): string {
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'met?'];
  const rows: string[][] = [];
  let group = '';
  for (const f of figures) {
    if (f.group !== group) {
      group = f.group;
      rows.push([`**${group}**`, '', '', '', '', '']);
    }
    rows.push([
      f.note ? `${f.figure} (${f.note})` : f.figure,
      show(f.value, f.unit),
      show(f.baseline, f.unit),
      f.ratio === undefined ? '' : `${show(f.ratio)}×`,
      f.target ?? '',
      f.met === undefined ? '' : f.met ? 'yes' : 'NO',
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Environment for child processes: no Google credentials, no metadata server, nothing inherited that matters. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    METADATA_SERVER_DETECTION: 'none',
    ...extra,
  };
}

export interface WorkerResult<T> {
  result: T;
  stderr: string;
}

/**
 * Runs a TypeScript worker (tsx) in a fresh Node process; it prints one line `@@<json>` with its result. Used
 * where the figure must come from a process of its own (peak RSS), the way a function instance would be.
 */
export function runWorker<T>(
  file: string,
  input: unknown,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<WorkerResult<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', file], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnv({ BENCH_INPUT: JSON.stringify(input), ...options.env }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('@@'));
      if (code !== 0 || !line) {
        reject(new Error(`worker ${file} failed (${signal ?? code}):\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ result: JSON.parse(line.slice(2)) as T, stderr });
    });
    child.stdin.end();
  });
}

/** Inside a worker: its input, and how it reports. */
export function workerInput<T>(): T {
  return JSON.parse(process.env.BENCH_INPUT ?? '{}') as T;
}

export function reportFromWorker(result: unknown): void {
  process.stdout.write(`\n@@${JSON.stringify(result)}\n`);
}
