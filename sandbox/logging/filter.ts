/**
 * The part of the Cloud Logging query language the local Logging stand-in understands ("Logging query language",
 * Cloud Logging docs): comparisons `FIELD OP VALUE` with OP one of `=`, `!=`, `>`, `>=`, `<`, `<=` (and `:` "has",
 * as equality or `:*` presence), joined by `AND`. Values are double-quoted strings or bare words. Fields are LogEntry
 * paths: `timestamp` (compared as a time), `severity` (compared by level: DEFAULT < DEBUG < INFO < NOTICE < WARNING <
 * ERROR < CRITICAL < ALERT < EMERGENCY), `logName`, `insertId`, `resource.type`, `resource.labels.KEY`,
 * `jsonPayload.PATH`. Anything else — OR, NOT, parentheses, regular expressions — is refused with 400
 * INVALID_ARGUMENT, so a caller never mistakes an unfiltered answer for a filtered one.
 */
import { badRequest } from '../google-rest';

export interface StoredEntry {
  insertId: string;
  logName: string;
  timestamp: string;
  severity: string;
  resource: { type: string; labels: Record<string, string> };
  jsonPayload: Record<string, unknown>;
}

export type EntryPredicate = (entry: StoredEntry) => boolean;

const SEVERITIES = [
  'DEFAULT',
  'DEBUG',
  'INFO',
  'NOTICE',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'ALERT',
  'EMERGENCY',
];
const TERM = /^\s*([A-Za-z_][\w./-]*)\s*(>=|<=|!=|=|>|<|:)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"()]+))\s*$/;

/** Splits on AND outside quoted strings. */
function terms(filter: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === '"' && filter[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && filter.startsWith(' AND ', i)) {
      out.push(current);
      current = '';
      i += 4;
      continue;
    }
    current += c;
  }
  out.push(current);
  return out.filter((t) => t.trim() !== '');
}

function lookup(entry: StoredEntry, path: string): unknown {
  let value: unknown = entry;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compare(field: string, actual: unknown, expected: string): number | undefined {
  if (actual === undefined || actual === null) return undefined;
  if (field === 'timestamp') {
    const a = Date.parse(String(actual));
    const b = Date.parse(expected);
    if (Number.isNaN(b)) throw badRequest(`Invalid timestamp in filter: "${expected}"`, 'invalid');
    return Math.sign(a - b);
  }
  if (field === 'severity') {
    const b = SEVERITIES.indexOf(expected.toUpperCase());
    if (b < 0) throw badRequest(`Invalid severity in filter: "${expected}"`, 'invalid');
    return Math.sign(SEVERITIES.indexOf(String(actual)) - b);
  }
  if (typeof actual === 'number' && !Number.isNaN(Number(expected)))
    return Math.sign(actual - Number(expected));
  const text = typeof actual === 'object' ? JSON.stringify(actual) : String(actual);
  return text === expected ? 0 : text < expected ? -1 : 1;
}

export function parseLogFilter(filter: string | undefined): EntryPredicate {
  if (!filter?.trim()) return () => true;
  const predicates = terms(filter).map((term): EntryPredicate => {
    const m = TERM.exec(term);
    if (!m)
      throw badRequest(`Unsupported filter expression (local Logging stand-in): "${term.trim()}"`, 'invalid');
    const [, field, op, quoted, bare] = m;
    if (
      !/^(timestamp|severity|logName|insertId|resource\.type|resource\.labels\.[\w.-]+|jsonPayload\.[\w.-]+)$/.test(
        field,
      )
    )
      throw badRequest(`Unsupported field in filter (local Logging stand-in): "${field}"`, 'invalid');
    const expected = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
    return (entry) => {
      const actual = lookup(entry, field);
      if (op === ':' && expected === '*') return actual !== undefined;
      const order = compare(field, actual, expected);
      if (order === undefined) return op === '!=';
      switch (op) {
        case '=':
        case ':':
          return order === 0;
        case '!=':
          return order !== 0;
        case '>':
          return order > 0;
        case '>=':
          return order >= 0;
        case '<':
          return order < 0;
        default:
          return order <= 0;
      }
    };
  });
  return (entry) => predicates.every((matches) => matches(entry));
}
