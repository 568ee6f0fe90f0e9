/**
 * Label and field selectors with the API server's grammar and semantics (k8s.io/apimachinery pkg/labels and
 * pkg/fields): requirements joined by commas are ANDed; `!=` and `notin` also match objects without the key.
 */

export type LabelOperator = 'in' | 'notin' | 'exists' | 'doesnotexist' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export class SelectorError extends Error {}

type Token =
  | { type: 'id'; value: string }
  | { type: 'op'; value: '=' | '==' | '!=' | '!' | '>' | '<' | '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' || c === '!') {
      const two = input.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ type: 'op', value: two });
        i += 2;
      } else {
        tokens.push({ type: 'op', value: c });
        i++;
      }
    } else if (c === '>' || c === '<' || c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'op', value: c });
      i++;
    } else {
      let j = i;
      while (j < input.length && !/[\s=!<>(),]/.test(input[j])) j++;
      tokens.push({ type: 'id', value: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/** Parses a label selector such as `app=web,tier!=db,env in (a,b),!legacy`. Empty means "everything". */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const tokens = tokenize(selector);
  const requirements: LabelRequirement[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const fail = (why: string): never => {
    throw new SelectorError(`unable to parse requirement: ${why} in selector "${selector}"`);
  };
  const identifier = (what: string): string => {
    const t = tokens[i++];
    if (t?.type !== 'id') return fail(`expected ${what}`);
    return t.value;
  };
  while (i < tokens.length) {
    const first = peek();
    if (first.type === 'op' && first.value === '!') {
      i++;
      requirements.push({ key: identifier('a key after "!"'), operator: 'doesnotexist', values: [] });
    } else {
      const key = identifier('a key');
      const next = peek();
      if (!next || (next.type === 'op' && next.value === ',')) {
        requirements.push({ key, operator: 'exists', values: [] });
      } else if (next.type === 'op' && ['=', '==', '!='].includes(next.value)) {
        i++;
        // An empty value (`a=`) is legal and matches the empty string.
        let value = '';
        const t = peek();
        if (t?.type === 'id') {
          value = t.value;
          i++;
        }
        requirements.push({ key, operator: next.value === '!=' ? 'notin' : 'in', values: [value] });
      } else if (next.type === 'op' && (next.value === '>' || next.value === '<')) {
        i++;
        const value = identifier('a number');
        if (!/^-?\d+$/.test(value)) fail(`"${value}" is not an integer`);
        requirements.push({ key, operator: next.value === '>' ? 'gt' : 'lt', values: [value] });
      } else if (next.type === 'id' && (next.value === 'in' || next.value === 'notin')) {
        i++;
        const open = tokens[i++];
        if (open?.type !== 'op' || open.value !== '(') fail('expected "(" after in/notin');
        const values: string[] = [];
        for (;;) {
          const t = tokens[i++];
          if (!t) fail('unterminated value set');
          if (t.type === 'id') {
            values.push(t.value);
            const sep = tokens[i++];
            if (sep?.type === 'op' && sep.value === ')') break;
            if (sep?.type !== 'op' || sep.value !== ',') fail('expected "," or ")" in value set');
          } else if (t.type === 'op' && t.value === ')' && values.length === 0) {
            fail('for "in" and "notin" operators, values set can\'t be empty');
          } else {
            fail('expected a value');
          }
        }
        requirements.push({ key, operator: next.value, values });
      } else {
        fail(`unexpected "${next.value}" after key "${key}"`);
      }
    }
    const sep = tokens[i];
    if (sep === undefined) break;
    if (sep.type !== 'op' || sep.value !== ',') fail(`expected "," but found "${sep.value}"`);
    i++;
    if (i === tokens.length) fail('trailing ","');
  }
  return requirements;
}

export function labelsMatch(
  requirements: LabelRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.operator) {
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case 'doesnotexist':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(l[r.key])) return false;
        const actual = Number(l[r.key]);
        const bound = Number(r.values[0]);
        return r.operator === 'gt' ? actual > bound : actual < bound;
      }
    }
    return false;
  });
}

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** Parses `metadata.name=x,metadata.namespace!=y`. Values may escape `,` and `=` with a backslash. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '\\' && i + 1 < selector.length) {
      current += c + selector[++i];
    } else if (c === ',') {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current || parts.length) parts.push(current);
  return parts
    .filter((p) => p.trim() !== '')
    .map((part) => {
      const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(part.trim());
      if (!m) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
      const value = m[3].replace(/\\(.)/g, '$1');
      return { field: m[1].trim(), operator: m[2] === '!=' ? '!=' : '=', value };
    });
}

/** Reads a dotted path (`metadata.name`, `involvedObject.kind`) from an object as the field selector sees it. */
export function fieldValue(object: unknown, path: string): string {
  let cursor: unknown = object;
  for (const part of path.split('.')) {
    if (typeof cursor !== 'object' || cursor === null) return '';
    cursor = (cursor as Record<string, unknown>)[part];
  }
  if (cursor === undefined || cursor === null) return '';
  if (typeof cursor === 'object') return '';
  return String(cursor);
}

export function fieldsMatch(requirements: FieldRequirement[], object: unknown): boolean {
  return requirements.every((r) => (fieldValue(object, r.field) === r.value) === (r.operator === '='));
}
