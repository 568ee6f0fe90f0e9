/**
 * `networkPattern` matching with RE2 (re2js, a pure-JavaScript port): its matching time is linear in the name, so a
 * pattern like `^([a-z0-9]+-?)*-spoke$` cannot hold an instance in catastrophic backtracking the way JavaScript's
 * RegExp does. The syntax is RE2's (the one Terraform's regex functions use too): no lookaround, no
 * backreferences. Search semantics, like RegExp#test: anchor with `^…$` to match the whole name.
 */
import type { RE2JS } from 're2js';

const compiled = new Map<string, RE2JS>();

/** Loaded on the first pattern: a config without one pays nothing at cold start (about 20 ms of module load). */
let engine: typeof RE2JS | undefined;
const re2 = (): typeof RE2JS => {
  engine ??= (require('re2js') as typeof import('re2js')).RE2JS;
  return engine;
};

/** Why `source` is not a usable pattern, or undefined when it is. */
export function networkPatternProblem(source: string): string | undefined {
  try {
    compileNetworkPattern(source);
    return undefined;
  } catch (error) {
    return String((error as Error).message ?? error).replace(/^error parsing regexp: /, '');
  }
}

/** The compiled pattern, cached: every spoke check of an instance reuses it. Throws on a syntax error. */
export function compileNetworkPattern(source: string): RE2JS {
  let pattern = compiled.get(source);
  if (!pattern) {
    pattern = re2().compile(source);
    compiled.set(source, pattern);
  }
  return pattern;
}

/** Does the network name contain a match of the pattern (RegExp#test semantics, in linear time)? */
export function matchesNetworkPattern(source: string, name: string): boolean {
  return compileNetworkPattern(source).test(name);
}
