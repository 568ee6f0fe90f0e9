/**
 * What every benchmark shares: the row type of the results table, statistics, the table printer, and small
 * process helpers. Every figure is compared with a baseline measured in the same run (never across runs): the
 * machine is shared, so only ratios are meaningful.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger, type Logger } from '../shared/log';

export const ROOT = join(__dirname, '..');
/** The build measured: dist/ (BENCH_DIST=DIR measures another, e.g. a copy of dist/ from before a change). */
export const DIST = process.env.BENCH_DIST ?? join(ROOT, 'dist');

/** A logger that formats every line like production but writes nowhere (I/O is not what is measured). */
export function quietLogger(level: 'info' | 'warning' = 'info'): Logger & { lines(): number } {
  let lines = 0;
  const log = createLogger({
    level,
    transport: {
      write: () => {
        lines++;
        return true;
      },
    },
  });
  return Object.assign(log, { lines: () => lines });
}

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
  /** false: left out of the smoke run (too slow for CI at any size); still run by `npm run bench` and `--only`. */
  smoke?: boolean;
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

/**
 * A worker in a fresh Node process (`args`: what follows `node`), the way a function instance runs: figures such
 * as peak RSS must come from a process of its own. Line protocol on stdout: `@@ready <name>` (the worker waits for a line on
 * stdin before going on, so the parent can reset state and snapshot counters), `@@done <json>` (a job's result).
 */
export class Worker {
  private readonly child: ReturnType<typeof spawn>;
  private stdout = '';
  private stderr = '';
  private readonly messages: Array<{ kind: string; payload: string }> = [];
  private waiting?: () => void;
  private exited?: string;

  constructor(args: string[], input: unknown, env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnv({ BENCH_INPUT: JSON.stringify(input), ...env }),
    });
    this.child.stdout?.on('data', (chunk) => {
      this.stdout += chunk;
      let at = this.stdout.indexOf('\n');
      while (at >= 0) {
        const line = this.stdout.slice(0, at);
        this.stdout = this.stdout.slice(at + 1);
        const match = /^@@(\w+) ?(.*)$/.exec(line);
        if (match) this.messages.push({ kind: match[1], payload: match[2] });
        at = this.stdout.indexOf('\n');
      }
      this.waiting?.();
    });
    this.child.stderr?.on('data', (chunk) => {
      if (process.env.BENCH_DEBUG) process.stderr.write(chunk);
      this.stderr = (this.stderr + chunk).slice(-8000);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = `worker ${args.join(' ')} exited (${signal ?? code}):\n${this.stderr}`;
      this.waiting?.();
    });
  }

  /** The next message of `kind` (earlier messages of other kinds are an error). */
  async next(kind: 'ready' | 'done', timeoutMs = 180_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.messages.shift();
      if (message) {
        if (message.kind !== kind) throw new Error(`worker sent ${message.kind} while ${kind} was expected`);
        return message.payload;
      }
      if (this.exited) throw new Error(this.exited);
      if (Date.now() > deadline) throw new Error(`worker: no ${kind} in ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 1000);
      });
      this.waiting = undefined;
    }
  }

  go(): void {
    this.child.stdin?.write('go\n');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin?.end();
    await Promise.race([exited, sleep(5_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Inside a worker: its input. */
export function workerInput<T>(): T {
  return JSON.parse(process.env.BENCH_INPUT ?? '{}') as T;
}

let stdinLines: AsyncIterator<string> | undefined;

/** Inside a worker: says it is ready for `name` and waits for the parent's go. */
export async function readyFor(name: string): Promise<void> {
  process.stdout.write(`\n@@ready ${name}\n`);
  stdinLines ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const line = await stdinLines.next();
  if (line.done) process.exit(0);
}

export function done(result: unknown): void {
  process.stdout.write(`\n@@done ${JSON.stringify(result)}\n`);
}
