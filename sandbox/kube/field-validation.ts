/**
 * Server-side field validation, as the API server does it on create, update and patch (Kubernetes docs, "API
 * Concepts", field validation): the `fieldValidation` query parameter is `Strict` (an object with fields its
 * schema does not know fails), `Warn` (the default: such fields are dropped, each named in a `Warning` header)
 * or `Ignore` (dropped silently). Fields are checked against the component schemas the OpenAPI documents serve
 * (schemas.ts); a value of the wrong JSON type fails whatever the directive, as the decoder fails it.
 */
import type { ResourceType } from './resources';
import { componentOf, components, goStructName, REF_PREFIX, resolve, type Schema } from './schemas';

export type Directive = 'Strict' | 'Warn' | 'Ignore';

/** The directive of a request; absent means Warn. */
export function directiveOf(query: URLSearchParams): Directive {
  const value = query.get('fieldValidation');
  return value === 'Strict' || value === 'Ignore' ? value : 'Warn';
}

export interface TypeMismatch {
  /** `spec.ports[0].port` */
  path: string;
  /** Go's name for what the JSON held: `string`, `number`, `bool`, `array`, `object`. */
  got: string;
  /** The Go struct holding the field and the field's dotted path without indices, as the decoder names them. */
  struct: string;
  field: string;
  /** The Go type expected: `int32`, `string`, `bool`, `v1.ServiceSpec`, `[]v1.ServicePort`, `map[string]string`. */
  goType: string;
}

export interface FieldReport {
  /** Paths of fields the schema does not know, in the order the object lists them. */
  unknown: string[];
  /** The first value of the wrong type (the decoder stops at it), built-in kinds only. */
  mismatch?: TypeMismatch;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

/** The Go type a schema decodes into, for the decoder's message. */
function goType(schema: Schema, all: Record<string, Schema>): string {
  const ref = schema.allOf?.[0]?.$ref ?? schema.$ref;
  if (ref) return `v1.${goStructName(ref.slice(REF_PREFIX.length))}`;
  if (schema.type === 'array') return `[]${schema.items ? goType(schema.items, all) : 'interface {}'}`;
  if (schema.type === 'object' && schema.additionalProperties)
    return `map[string]${goType(schema.additionalProperties, all)}`;
  if (schema.type === 'integer') return schema.format === 'int64' ? 'int64' : 'int32';
  if (schema.type === 'number') return 'float64';
  if (schema.type === 'boolean') return 'bool';
  if (schema.type === 'object') return 'map[string]interface {}';
  return 'string';
}

/** Whether a JSON value fits a schema's type; numbers are taken for strings (quantities decode from both). */
function fits(schema: Schema, value: unknown): boolean {
  if (value === null) return true;
  if (schema.format === 'int-or-string') return typeof value === 'string' || Number.isInteger(value);
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' || typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    default:
      return true;
  }
}

/** Walks an object against its kind's schema. */
export function checkFields(type: ResourceType, object: Record<string, unknown>): FieldReport {
  const all = components();
  const report: FieldReport = { unknown: [] };
  const checkTypes = !type.custom;
  const walk = (schema: Schema, value: unknown, path: string, field: string, struct: string): void => {
    const resolved = resolve(all, schema);
    if (!fits(resolved, value)) {
      if (checkTypes && !report.mismatch)
        report.mismatch = { path, got: jsonKind(value), struct, field, goType: goType(schema, all) };
      return;
    }
    if (Array.isArray(value) && resolved.items) {
      value.forEach((item, i) => {
        walk(resolved.items as Schema, item, `${path}[${i}]`, field, struct);
      });
      return;
    }
    if (!isRecord(value)) return;
    if (resolved.additionalProperties) {
      for (const [key, item] of Object.entries(value))
        walk(resolved.additionalProperties, item, `${path}.${key}`, field, struct);
      return;
    }
    // An object schema without properties (FieldsV1, RawExtension) takes anything.
    if (!resolved.properties) return;
    const ref = schema.allOf?.[0]?.$ref ?? schema.$ref;
    // The decoder names the innermost struct and the field's path from the root.
    const inner = ref ? goStructName(ref.slice(REF_PREFIX.length)) : struct;
    for (const [key, item] of Object.entries(value)) {
      const child = `${path ? `${path}.` : ''}${key}`;
      const property = resolved.properties[key];
      if (!property) {
        if (!(path === '' && (key === 'apiVersion' || key === 'kind'))) report.unknown.push(child);
        continue;
      }
      walk(property, item, child, `${field ? `${field}.` : ''}${key}`, inner);
    }
  };
  const root = componentOf(type);
  walk({ allOf: [{ $ref: `${REF_PREFIX}${root}` }] }, object, '', '', goStructName(root));
  return report;
}

/** The object without the fields at `paths` (what the API server drops under Warn and Ignore). */
export function withoutFields<T>(object: T, paths: readonly string[]): T {
  const copy = structuredClone(object);
  for (const path of paths) {
    const steps = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
      m[2] !== undefined ? Number(m[2]) : m[1],
    );
    let node: unknown = copy;
    for (const step of steps.slice(0, -1)) node = (node as Record<string | number, unknown>)?.[step];
    const last = steps.at(-1);
    if (isRecord(node) && typeof last === 'string') delete node[last];
  }
  return copy;
}

/** `strict decoding error: unknown field "spec.foo", unknown field "spec.bar"` (apimachinery's strict decoding error). */
export function strictDecodingError(unknown: readonly string[]): string {
  return `strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`;
}

/** What Go's JSON decoder says about a value of the wrong type. */
export function unmarshalError(m: TypeMismatch): string {
  return `json: cannot unmarshal ${m.got} into Go struct field ${m.struct}.${m.field} of type ${m.goType}`;
}

/** A Go `%+v` of a decoded JSON map, as the API server quotes a strategic merge patch: `map[spec:map[foo:1]]`. */
export function goValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (isRecord(value))
    return `map[${Object.keys(value)
      .sort()
      .map((k) => `${k}:${goValue(value[k])}`)
      .join(' ')}]`;
  if (value === null || value === undefined) return '<nil>';
  return String(value);
}
