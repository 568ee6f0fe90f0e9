/**
 * What `spokefleet config validate` adds to the functions' own validation (parseConfig): a "did you mean" for
 * every unknown key, and checks that need knowledge outside the config file — the function timeout the config
 * will run under, the placeholders a membership id template may use. Pure: tested without files.
 */
import type { z } from 'zod';
import { configSchema } from '../shared/config';

/** The function timeout Terraform deploys with unless `function_settings` says otherwise. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 540;
/** The placeholders membershipIdFromTemplate replaces. */
export const ID_TEMPLATE_PLACEHOLDERS = ['{cluster}', '{project}', '{location}'] as const;

type Schema = z.core.$ZodType;

/** The schema inside wrappers (optional, default, prefault, preprocess pipes, refinements). */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = current._zod.def as unknown as Record<string, unknown>;
    if (def.innerType) current = def.innerType as Schema;
    else if (def.type === 'pipe') current = def.out as Schema;
    else break;
  }
  return current;
}

/** The keys an object at `path` may have (every union member's), or [] when the path leads to no object. */
export function knownKeysAt(path: ReadonlyArray<PropertyKey>, schema: Schema = configSchema): string[] {
  let nodes = [unwrap(schema)];
  for (const segment of path) {
    nodes = nodes.flatMap((node) => {
      const def = node._zod.def as unknown as Record<string, unknown>;
      if (def.type === 'union') return (def.options as Schema[]).map(unwrap);
      return [node];
    });
    nodes = nodes.flatMap((node) => {
      const def = node._zod.def as unknown as Record<string, unknown>;
      if (def.type === 'array' && typeof segment === 'number') return [unwrap(def.element as Schema)];
      if (def.type === 'object' && typeof segment === 'string') {
        const child = (def.shape as Record<string, Schema>)[segment];
        return child ? [unwrap(child)] : [];
      }
      return [];
    });
  }
  const keys = nodes.flatMap((node) => {
    const def = node._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'union') return (def.options as Schema[]).map(unwrap);
    return [node];
  });
  return [
    ...new Set(
      keys.flatMap((node) => {
        const def = node._zod.def as unknown as Record<string, unknown>;
        return def.type === 'object' ? Object.keys(def.shape as object) : [];
      }),
    ),
  ];
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
export function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** The closest known key, when it is close enough to be a typo (at most a third of the word, at least 2 edits). */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const candidate of known) {
    const d = distance(key, candidate);
    if (!best || d < best.d) best = { key: candidate, d };
  }
  if (!best) return undefined;
  return best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/**
 * The problems of `input`, one per issue in the order parseConfig lists them, an unknown key followed by the key
 * it probably meant.
 */
export function explainedProblems(input: unknown): string[] {
  const result = configSchema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(root)';
    if (issue.code !== 'unrecognized_keys') return `${path}: ${issue.message}`;
    const known = knownKeysAt(issue.path);
    const hints = issue.keys.flatMap((key) => {
      const near = suggest(key, known);
      return near ? [`"${key}": did you mean "${near}"?`] : [];
    });
    return `${path}: ${issue.message}${hints.length ? ` (${hints.join('; ')})` : ''}`;
  });
}

export interface DeploymentFacts {
  /** The timeout the functions are deployed with (Terraform's function_settings.*.timeout_seconds). */
  functionTimeoutSeconds: number;
}

/** Cross-field checks beyond the schema, on an input that parsed. */
export function crossFieldProblems(input: unknown, facts: DeploymentFacts): string[] {
  const problems: string[] = [];
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const parsed = configSchema.parse(input);
  if (parsed.invocationBudgetSeconds >= facts.functionTimeoutSeconds) {
    problems.push(
      `invocationBudgetSeconds: ${parsed.invocationBudgetSeconds} s${raw.invocationBudgetSeconds === undefined ? ' (the default)' : ''} ` +
        `is not below the function timeout (${facts.functionTimeoutSeconds} s): the platform would end an invocation ` +
        'before Spokefleet stops its work and hands the event back; keep a margin for the last call (Terraform sets 8/9 of the timeout)',
    );
  }
  const template = parsed.membership.idTemplate;
  const unknown = [...template.matchAll(/\{[^{}]*\}/g)]
    .map((m) => m[0])
    .filter((p) => !(ID_TEMPLATE_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown.length > 0) {
    problems.push(
      `membership.idTemplate: unknown placeholder${unknown.length === 1 ? '' : 's'} ${[...new Set(unknown)].join(', ')} ` +
        `(known: ${ID_TEMPLATE_PLACEHOLDERS.join(', ')}); it would stay in the membership id as written`,
    );
  }
  return problems;
}
