/**
 * The three patch formats the Kubernetes API accepts in JSON:
 * - JSON merge patch (RFC 7386): objects merge, `null` removes a key, anything else replaces.
 * - Strategic merge patch: a merge patch that merges lists with a known merge key element by element and
 *   understands the `$patch`, `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…`
 *   directives `kubectl apply` sends.
 * - JSON patch (RFC 6902): a list of add/remove/replace/move/copy/test operations on JSON pointers.
 * All functions return a new value and never modify their arguments.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A patch that cannot be applied; the API server answers 422 (or 400 for a malformed patch). */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly malformed = false,
  ) {
    super(message);
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** Lists of scalars whose strategy is "merge" rather than "replace" (union in a strategic merge). */
const PRIMITIVE_MERGE_LISTS = new Set(['metadata.finalizers']);

/**
 * Applies a strategic merge patch. `mergeKeys` maps a dotted path (no indices) to the key that identifies
 * the list's elements; lists not named there are replaced whole, as for a type without patch metadata.
 */
export function strategicMergePatch(
  target: Json | undefined,
  patch: Json,
  mergeKeys: Record<string, string>,
): Json {
  return smpValue(target, patch, mergeKeys, '');
}

function smpValue(target: Json | undefined, patch: Json, keys: Record<string, string>, path: string): Json {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'replace') return withoutDirectives(patch);
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchError(`unknown patch type: ${String(directive)} in map`);
  }
  const result: JsonObject = isObject(target) ? clone(target) : {};
  let retainKeys: string[] | undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (key === '$retainKeys') {
      if (!Array.isArray(value)) throw new PatchError('$retainKeys must be a list', true);
      retainKeys = value.map(String);
      continue;
    }
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const remove = Array.isArray(value) ? value : [];
      const current = result[field];
      if (Array.isArray(current)) {
        result[field] = current.filter((item) => !remove.some((r) => deepEqual(r, item)));
      }
      continue;
    }
    if (key.startsWith('$')) continue; // $setElementOrder is applied after the lists are merged
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (isObject(value) && value.$patch === 'delete') {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = smpList(result[key], value, keys, childPath);
    } else {
      result[key] = smpValue(result[key], value, keys, childPath);
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(SET_ELEMENT_ORDER.length);
    const list = result[field];
    if (Array.isArray(list)) result[field] = reorder(list, order, keys[path ? `${path}.${field}` : field]);
  }
  if (retainKeys) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  return result;
}

function smpList(
  target: Json | undefined,
  patch: Json[],
  keys: Record<string, string>,
  path: string,
): Json[] {
  const current = Array.isArray(target) ? target : [];
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(withoutDirectives);
  }
  const mergeKey = keys[path];
  if (!mergeKey) {
    if (PRIMITIVE_MERGE_LISTS.has(path)) {
      const union = clone(current);
      for (const item of patch) if (!union.some((u) => deepEqual(u, item))) union.push(clone(item));
      return union;
    }
    return patch.map(withoutDirectives);
  }
  const result = clone(current);
  for (const item of patch) {
    if (!isObject(item))
      throw new PatchError(`elements of ${path} must be objects with the merge key "${mergeKey}"`);
    const at = result.findIndex((r) => isObject(r) && deepEqual(r[mergeKey], item[mergeKey]));
    if (item.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = smpValue(result[at], item, keys, path);
    } else {
      result.push(smpValue(undefined, item, keys, path));
    }
  }
  return result;
}

/** `$setElementOrder`: listed elements first, in the given order; any others keep their relative order after. */
function reorder(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const identity = (item: Json): Json => (mergeKey && isObject(item) ? (item[mergeKey] ?? null) : item);
  const wanted = order.map(identity);
  const rank = (item: Json) => {
    const at = wanted.findIndex((w) => deepEqual(w, identity(item)));
    return at < 0 ? wanted.length : at;
  };
  return list
    .map((item, index) => ({ item, index }))
    .sort((a, b) => rank(a.item) - rank(b.item) || a.index - b.index)
    .map(({ item }) => item);
}

function withoutDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDirectives);
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, v] of Object.entries(value)) if (!key.startsWith('$')) result[key] = withoutDirectives(v);
  return result;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as JsonObject)[k], (b as JsonObject)[k]))
  );
}

interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) {
    throw new PatchError(`invalid JSON pointer: ${JSON.stringify(path)}`, true);
  }
  return path === ''
    ? []
    : path
        .slice(1)
        .split('/')
        .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[], path: string): { parent: JsonObject | Json[]; key: string } {
  let cursor: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(cursor)
      ? cursor[Number(token)]
      : isObject(cursor)
        ? cursor[token]
        : undefined;
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new PatchError(`doc is missing path: "${path}"`);
    }
    cursor = next;
  }
  if (typeof cursor !== 'object' || cursor === null) throw new PatchError(`doc is missing path: "${path}"`);
  return { parent: cursor, key: tokens[tokens.length - 1] };
}

function arrayIndex(list: Json[], key: string, path: string, allowEnd: boolean): number {
  if (allowEnd && key === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new PatchError(`invalid array index "${key}" in "${path}"`);
  const index = Number(key);
  if (index > list.length || (!allowEnd && index === list.length)) {
    throw new PatchError(`array index ${index} out of bounds in "${path}"`);
  }
  return index;
}

function getAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens, path);
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, key, path, false)] : parent[key];
  if (value === undefined) throw new PatchError(`doc is missing path: "${path}"`);
  return value;
}

function removeAt(doc: Json, path: string): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, path, false), 1)[0];
  if (!Object.hasOwn(parent, key))
    throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`);
  const value = parent[key];
  delete parent[key];
  return value;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = pointer(path);
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, key, path, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, key))
      throw new PatchError(`replace operation does not apply: doc is missing key: ${path}`);
    parent[key] = value;
  }
  return doc;
}

export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be a list of operations', true);
  let doc = clone(target);
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw.op !== 'string')
      throw new PatchError('each JSON patch operation needs an "op"', true);
    const op = raw as unknown as JsonPatchOperation;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, clone(op.value ?? null), false);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'replace':
        doc = addAt(doc, op.path, clone(op.value ?? null), true);
        break;
      case 'move': {
        const value = removeAt(doc, op.from ?? '');
        doc = addAt(doc, op.path, value, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, clone(getAt(doc, op.from ?? '')), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, op.path), op.value ?? null)) {
          throw new PatchError(`testing value ${op.path} failed: test failed`);
        }
        break;
      default:
        throw new PatchError(`unexpected operation "${op.op}"`, true);
    }
  }
  return doc;
}
