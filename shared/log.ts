/**
 * Structured logging: one JSON object per line on stdout, written by @google-cloud/logging's LogSync, which Cloud
 * Run's logging agent turns into LogEntries (severity, message, jsonPayload). Every line can carry the fields an
 * operator filters on: eventId, cluster, step, outcome.
 *
 * Secrets never reach a log line: fields whose key looks like a credential are replaced before writing, and
 * callers log error descriptions (shared/errors describeError), never requests or headers.
 */
import type { Writable } from 'node:stream';
import type { Logging } from '@google-cloud/logging';
import { Entry } from '@google-cloud/logging/build/src/entry';
import { LogSync } from '@google-cloud/logging/build/src/log-sync';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface LogFields {
  eventId?: string;
  cluster?: string;
  step?: string;
  outcome?: string;
  reason?: string;
  [field: string]: unknown;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  notice(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the event id for one invocation). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Where lines go; default process.stdout. */
  transport?: { write(line: string): unknown };
  level?: LogLevel;
  /** Log name; Cloud Run ignores it for stdout but it keeps lines self-describing. */
  name?: string;
  projectId?: string;
  fields?: LogFields;
}

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 1, WARNING: 2, ERROR: 3 };
const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };
const SECRET_KEY = /(token|authorization|password|secret|credential|cookie|private.?key|bearer)/i;

/** Replaces credential-looking fields, recursively, so a careless caller cannot leak one. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any field worth logging: dropped rather than written unchecked (and no cycle recurses forever).
  if (depth > 6) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1),
    ]),
  );
}

class StructuredLogger implements Logger {
  constructor(
    private readonly sink: LogSync,
    private readonly minRank: number,
    private readonly fields: LogFields,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.write('DEBUG', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write('INFO', message, fields);
  }
  notice(message: string, fields?: LogFields): void {
    this.write('NOTICE', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write('WARNING', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write('ERROR', message, fields);
  }

  child(fields: LogFields): Logger {
    return new StructuredLogger(this.sink, this.minRank, { ...this.fields, ...fields });
  }

  private write(severity: Severity, message: string, fields?: LogFields): void {
    if (RANK[severity] < this.minRank) return;
    const payload = redact({ message, ...this.fields, ...fields }) as Record<string, unknown>;
    this.sink.write(this.sink.entry({ severity }, payload));
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  // LogSync needs only these three members of a Logging client. Deep imports of LogSync and Entry instead of the
  // whole @google-cloud/logging package keep about 150 ms off every cold start, and a fixed projectId means no
  // look-up (no metadata server calls).
  const logging = {
    projectId: options.projectId ?? process.env.GOOGLE_CLOUD_PROJECT ?? 'spokefleet',
    detectedResource: undefined,
    entry: (metadata: object, data: object) => new Entry(metadata, data),
  } as unknown as Logging;
  const transport = options.transport ?? process.stdout;
  // useMessageField:false puts the fields at the top level of the line, which Cloud Run maps to jsonPayload.
  const sink = new LogSync(logging, options.name ?? 'spokefleet', transport as Writable, {
    useMessageField: false,
  });
  return new StructuredLogger(sink, LEVEL_RANK[options.level ?? 'info'], options.fields ?? {});
}

/** Collects lines in memory; for tests that read the log back. */
export class MemoryTransport {
  readonly lines: string[] = [];
  write(line: string): boolean {
    this.lines.push(...line.split('\n').filter(Boolean));
    return true;
  }
  /** The parsed JSON objects, diagnostics from the logging library itself left out. */
  records(): Array<Record<string, unknown>> {
    return this.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => !('logging.googleapis.com/diagnostic' in r));
  }
}
