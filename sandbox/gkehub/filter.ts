/**
 * A small subset of AIP-160 list filters, enough for the way memberships are looked up:
 * `endpoint.gkeCluster.resourceLink="//container.googleapis.com/…"`, `labels.app-managed-by = "spokefleet"`,
 * `state.code=READY`, and conjunctions of those with `AND`. Comparators: `=`, `!=`, and `:` (has). Anything
 * else is refused with 400 rather than ignored, so a caller never mistakes an unfiltered list for a filtered one.
 */
import { badRequest } from '../google-rest';

type Predicate = (resource: unknown) => boolean;

const TERM = /^\s*([A-Za-z_][\w.-]*)\s*(!=|=|:)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*$/;

export function parseFilter(filter: string | null): Predicate {
  if (!filter?.trim()) return () => true;
  const terms = filter.split(/\s+AND\s+/).map((term) => {
    const m = TERM.exec(term);
    if (!m) throw badRequest(`Invalid filter: "${filter}"`, 'invalid');
    const [, path, op, quoted, bare] = m;
    const expected = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare;
    return (resource: unknown) => {
      const actual = lookup(resource, path);
      if (op === ':') return expected === '*' ? actual !== undefined : stringify(actual) === expected;
      return op === '=' ? stringify(actual) === expected : stringify(actual) !== expected;
    };
  });
  return (resource) => terms.every((matches) => matches(resource));
}

function lookup(resource: unknown, path: string): unknown {
  let value: unknown = resource;
  // Label keys may contain dots only after `labels.`; take the rest of the path as the key.
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (value === null || typeof value !== 'object') return undefined;
    if (parts[i] === 'labels' && i < parts.length - 1) {
      return (value as Record<string, Record<string, unknown> | undefined>).labels?.[
        parts.slice(i + 1).join('.')
      ];
    }
    value = (value as Record<string, unknown>)[parts[i]];
  }
  return value;
}

function stringify(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
