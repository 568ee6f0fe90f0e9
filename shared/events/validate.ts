/**
 * Validators for everything that arrives from outside: Google Cloud and Kubernetes names, timestamps, and a
 * bounded JSON decoder. All patterns are ASCII-only on purpose — no `i` or `u` flag — so Unicode look-alikes
 * (Cyrillic "а", fullwidth digits, …) never pass as a name an API call is then made with.
 */
import { PermanentError } from '../errors';
import {
  DNS1035_LABEL,
  DNS1123_LABEL,
  isDns1035Label,
  isDns1123Label,
  isProjectId,
  PROJECT_ID,
} from '../validators';

export { isDns1035Label, isDns1123Label, isProjectId };

/** A zone (`us-east4-a`) or a region (`us-east4`). */
const LOCATION = /^[a-z]+-[a-z]+\d+(-[a-z])?$/;
/** GKE cluster name: at most 40 characters, starts with a letter, does not end with a hyphen. */
const CLUSTER_NAME = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
/** RFC 3339 as Google writes it: `2024-09-13T01:37:13.987956868Z`, up to nanoseconds, `Z` or an offset. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const isLocation = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 63 && LOCATION.test(value);
export const isClusterName = (value: unknown): value is string =>
  typeof value === 'string' && CLUSTER_NAME.test(value);
export const isTimestamp = (value: unknown): value is string =>
  typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));

export const PATTERNS = {
  projectId: PROJECT_ID,
  location: LOCATION,
  clusterName: CLUSTER_NAME,
  dns1123Label: DNS1123_LABEL,
  dns1035Label: DNS1035_LABEL,
  timestamp: RFC3339,
} as const;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export interface JsonLimits {
  /** Largest accepted input, in bytes. */
  maxBytes: number;
  /** Deepest accepted nesting of objects and arrays. */
  maxDepth: number;
  /** What the bytes should be, for messages ("LogEntry", "reconcile request"). */
  what: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes bytes that must hold one JSON object, refusing anything oversized, not UTF-8, not JSON, nested deeper
 * than `maxDepth`, or not an object. The depth is measured by a flat scan before parsing, so a hostile
 * `[[[[…` costs one pass and never reaches a recursive walker.
 */
export function parseJsonObject(data: Buffer, limits: JsonLimits): Record<string, unknown> {
  if (!Buffer.isBuffer(data)) throw new PermanentError(`${limits.what} is not bytes`, 'not-bytes');
  if (data.length > limits.maxBytes) {
    throw new PermanentError(
      `${limits.what} is ${data.length} bytes, more than the ${limits.maxBytes} accepted`,
      'payload-too-large',
    );
  }
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    throw new PermanentError(`${limits.what} is not valid UTF-8`, 'not-utf8');
  }
  const depth = maxJsonDepth(text);
  if (depth > limits.maxDepth) {
    throw new PermanentError(`${limits.what} nests deeper than ${limits.maxDepth} levels`, 'too-deep');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PermanentError(
      `${limits.what} is not JSON: ${(error as Error).message.slice(0, 200)}`,
      'not-json',
    );
  }
  if (!isPlainObject(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new PermanentError(`${limits.what} must be a JSON object, got ${kind}`, 'not-object');
  }
  return value;
}

/** Deepest bracket nesting outside string literals; exact for valid JSON, a harmless estimate otherwise. */
export function maxJsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return max;
}
