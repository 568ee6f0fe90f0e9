/**
 * Structured logging: one JSON object per line on stdout, which Cloud Run's logging agent turns into a LogEntry
 * (Cloud Logging, "Structured logging", special JSON fields): `severity`, `message`, `timestamp` ({seconds, nanos})
 * and `logging.googleapis.com/insertId` become LogEntry fields, as do any `logging.googleapis.com/*` keys a caller
 * passes (trace, labels, …); every other key lands in jsonPayload. Every line can carry the fields an operator
 * filters on: eventId, cluster, step, outcome. The line is written here, without a logging library: the line format
 * is all Cloud Run needs, and nothing is loaded for it at cold start.
 *
 * Secrets never reach a log line: fields whose key looks like a credential are replaced before writing, and
 * callers log error descriptions (shared/errors describeError), never requests or headers.
 */
import { randomBytes } from 'node:crypto';

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

/**
 * Where lines go, with the fields every line of one logger shares. Cloud Logging orders entries of the same
 * timestamp by insertId, so ids increase within an instance (a random prefix per instance, then a counter).
 */
class Sink {
  private readonly prefix = randomBytes(6).toString('base64url');
  private count = 0;
  constructor(
    private readonly transport: { write(line: string): unknown },
    readonly logName: string,
  ) {}

  write(severity: Severity, payload: Record<string, unknown>): void {
    const ms = Date.now();
    const entry = {
      severity,
      'logging.googleapis.com/insertId': `${this.prefix}${(++this.count).toString(36).padStart(10, '0')}`,
      // The caller's fields may set severity or a logging.googleapis.com/* key themselves, not the time or log.
      ...payload,
      timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
      logName: this.logName,
    };
    this.transport.write(`${toJson(entry, severity)}\n`);
  }
}

/** One JSON line; a value JSON cannot write (a BigInt, a throwing toJSON) costs that value, never the line. */
function toJson(entry: Record<string, unknown>, severity: Severity): string {
  try {
    return JSON.stringify(entry, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
  } catch (error) {
    return JSON.stringify({
      timestamp: entry.timestamp,
      severity,
      message: String(entry.message),
      logName: entry.logName,
      logError: `the line's fields could not be written: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

class StructuredLogger implements Logger {
  constructor(
    private readonly sink: Sink,
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
    this.sink.write(severity, redact({ message, ...this.fields, ...fields }) as Record<string, unknown>);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const projectId = options.projectId ?? process.env.GOOGLE_CLOUD_PROJECT ?? 'spokefleet';
  const sink = new Sink(
    options.transport ?? process.stdout,
    `projects/${projectId}/logs/${encodeURIComponent(options.name ?? 'spokefleet')}`,
  );
  return new StructuredLogger(sink, LEVEL_RANK[options.level ?? 'info'], options.fields ?? {});
}

/** Collects lines in memory; for tests that read the log back. */
export class MemoryTransport {
  readonly lines: string[] = [];
  write(line: string): boolean {
    this.lines.push(...line.split('\n').filter(Boolean));
    return true;
  }
  /** The parsed JSON objects (lines that carry a logging library's diagnostics left out). */
  records(): Array<Record<string, unknown>> {
    return this.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => !('logging.googleapis.com/diagnostic' in r));
  }
}
