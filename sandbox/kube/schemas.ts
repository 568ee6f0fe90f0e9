/**
 * The component schemas of the kinds the stand-in serves, in the form the API server publishes them in its
 * OpenAPI v3 documents (`components.schemas`, references wrapped in `allOf`, `x-kubernetes-*` extensions), and
 * what its field validation reads.
 *
 * Built-in kinds are derived from @kubernetes/client-node's generated models, which are generated from the
 * Kubernetes OpenAPI specification: each model's `attributeTypeMap` gives the properties with their types and
 * formats, its declaration file the descriptions and which properties are required. Component names follow
 * the specification's (`io.k8s.api.core.v1.Service`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`).
 * The strategic-merge keys are the ones the stand-in's patch already uses (resources.ts).
 *
 * The MCS kinds are GKE's CRDs, `serviceexports.net.gke.io` and `serviceimports.net.gke.io`, version v1, as
 * `kubectl get crd -o yaml` prints them from a GKE cluster (kept as data in tommy351/kubernetes-models-ts,
 * `third-party/gke/crd/serviceexports.yaml` and `serviceimports.yaml`, dumped by its `scripts/dump-crd.ts`),
 * with the `apiVersion`, `kind` and `metadata` properties the API server adds to every CRD's published schema.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { RESOURCES, type ResourceType } from './resources';

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  allOf?: Schema[];
  $ref?: string;
  maxItems?: number;
  'x-kubernetes-group-version-kind'?: Array<{ group: string; kind: string; version: string }>;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
}

export const REF_PREFIX = '#/components/schemas/';

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

const MODELS = k8s as unknown as Record<string, { attributeTypeMap?: Attribute[] } | undefined>;

/** The client-node model of each built-in kind the stand-in serves. */
const MODEL_OF_KIND: Record<string, string> = {
  Namespace: 'V1Namespace',
  Service: 'V1Service',
  Event: 'CoreV1Event',
  EndpointSlice: 'V1EndpointSlice',
  Deployment: 'V1Deployment',
};

const META_TYPES = new Set([
  'ObjectMeta',
  'ManagedFieldsEntry',
  'OwnerReference',
  'LabelSelector',
  'LabelSelectorRequirement',
  'Condition',
  'ListMeta',
]);
const DISCOVERY_TYPES = new Set([
  'EndpointSlice',
  'Endpoint',
  'EndpointConditions',
  'EndpointHints',
  'ForZone',
  'ForNode',
]);

/** `V1ServicePort` → `io.k8s.api.core.v1.ServicePort`; the package is the specification's for that type. */
export function specName(model: string): string {
  const match = /^(Core|Discovery)?V1(\w+)$/.exec(model);
  if (!match) throw new Error(`no specification name for the model ${model}`);
  const [, prefix, name] = match;
  if (prefix === 'Core') return `io.k8s.api.core.v1.${name}`;
  if (prefix === 'Discovery' || DISCOVERY_TYPES.has(name)) return `io.k8s.api.discovery.v1.${name}`;
  if (META_TYPES.has(name)) return `io.k8s.apimachinery.pkg.apis.meta.v1.${name}`;
  if (/^(Deployment|RollingUpdateDeployment)/.test(name)) return `io.k8s.api.apps.v1.${name}`;
  return `io.k8s.api.core.v1.${name}`;
}

/** The Go struct name the API server's decoder names in type errors: `ServicePort`. */
export function goStructName(component: string): string {
  return component.slice(component.lastIndexOf('.') + 1);
}

const modelsDir = join(
  dirname(createRequire(__filename).resolve('@kubernetes/client-node')),
  'gen',
  'models',
);

function unescaped(text: string): string {
  return text.replace(/\\(['"\\])/g, '$1').trim();
}

/** Descriptions and required properties from a model's declaration file. */
function declaration(model: string): {
  description?: string;
  properties: Map<string, { description?: string; required: boolean }>;
} {
  const text = readFileSync(join(modelsDir, `${model}.d.ts`), 'utf8');
  const description = /\/\*\*\n\* (.*)\n\*\/\nexport declare class/.exec(text)?.[1];
  const properties = new Map<string, { description?: string; required: boolean }>();
  const property = /(?:\/\*\*\n\s*\* (.*)\n\s*\*\/\n)?\s*'([^']+)'(\?)?:/g;
  for (const match of text.matchAll(property)) {
    properties.set(match[2], { description: match[1] && unescaped(match[1]), required: match[3] !== '?' });
  }
  return { description: description && unescaped(description), properties };
}

function primitive(type: string, format: string): Schema | undefined {
  switch (type) {
    case 'string':
      return { type: 'string', ...(format && format !== '' ? { format } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      return format === 'double'
        ? { type: 'number', format: 'double' }
        : { type: 'integer', format: format || 'int32' };
    case 'Date':
    case 'V1MicroTime':
      // metav1.Time and MicroTime: RFC 3339 strings.
      return { type: 'string', format: 'date-time' };
    case 'IntOrString':
      return { type: 'string', format: 'int-or-string' };
    case 'any':
      // RawExtension, FieldsV1: any object, no properties to check.
      return { type: 'object' };
    default:
      return undefined;
  }
}

/** Builds the components reachable from the served kinds. */
function buildComponents(): Record<string, Schema> {
  const components: Record<string, Schema> = {};
  const typeSchema = (type: string, format: string): Schema => {
    const known = primitive(type, format);
    if (known) return known;
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return { type: 'array', items: typeSchema(array[1], format) };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return { type: 'object', additionalProperties: typeSchema(map[1], format) };
    return { allOf: [{ $ref: `${REF_PREFIX}${component(type)}` }] };
  };
  const component = (model: string): string => {
    const name = specName(model);
    if (components[name]) return name;
    const attributes = MODELS[model]?.attributeTypeMap;
    if (!attributes) throw new Error(`@kubernetes/client-node has no model ${model}`);
    const { description, properties: declared } = declaration(model);
    const schema: Schema = { ...(description ? { description } : {}), type: 'object', properties: {} };
    components[name] = schema;
    const required: string[] = [];
    for (const attribute of attributes) {
      const about = declared.get(attribute.name);
      const property = typeSchema(attribute.type, attribute.format);
      if (about?.description) property.description = about.description;
      (schema.properties as Record<string, Schema>)[attribute.baseName] = property;
      if (about?.required) required.push(attribute.baseName);
    }
    if (required.length) schema.required = required;
    return name;
  };
  for (const type of RESOURCES) {
    const model = MODEL_OF_KIND[type.kind];
    if (!model) continue;
    const name = component(model);
    components[name]['x-kubernetes-group-version-kind'] = [
      { group: type.group, kind: type.kind, version: type.version },
    ];
    markMergeKeys(components, name, type);
  }
  components[PATCH] = {
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    type: 'object',
  };
  Object.assign(components, mcsComponents(components));
  return components;
}

export const PATCH = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';

/** The component a schema stands for: itself, or the one its `allOf` reference names. */
export function resolve(components: Record<string, Schema>, schema: Schema): Schema {
  const ref = schema.allOf?.[0]?.$ref ?? schema.$ref;
  return ref ? (components[ref.slice(REF_PREFIX.length)] ?? schema) : schema;
}

/** `spec.ports` merges by `port`: the extensions kubectl reads to build a strategic merge patch. */
function markMergeKeys(components: Record<string, Schema>, kindComponent: string, type: ResourceType): void {
  for (const [path, key] of Object.entries(type.mergeKeys)) {
    let schema: Schema | undefined = components[kindComponent];
    const parts = path.split('.');
    for (const [i, part] of parts.entries()) {
      const property: Schema | undefined = schema?.properties?.[part];
      if (!property) break;
      if (i === parts.length - 1) {
        property['x-kubernetes-patch-merge-key'] = key;
        property['x-kubernetes-patch-strategy'] = 'merge';
        break;
      }
      const next = property.type === 'array' && property.items ? property.items : property;
      schema = resolve(components, next);
    }
  }
}

const CONDITION_STATUS = 'description: Status is one of {"True", "False", "Unknown"}';

/** GKE's CRD schemas (v1), as the API server publishes a CRD: named by the reversed group. */
function mcsComponents(components: Record<string, Schema>): Record<string, Schema> {
  const meta = { allOf: [{ $ref: `${REF_PREFIX}${specName('V1ObjectMeta')}` }] };
  const objectMeta = components[specName('V1ObjectMeta')] ? meta : { type: 'object' as const };
  const envelope = (kind: string, properties: Record<string, Schema>, required?: string[]): Schema => ({
    type: 'object',
    properties: {
      apiVersion: {
        description:
          'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.',
        type: 'string',
      },
      metadata: objectMeta,
      ...properties,
    },
    ...(required ? { required } : {}),
    'x-kubernetes-group-version-kind': [{ group: 'net.gke.io', kind, version: 'v1' }],
  });
  const int32 = { type: 'integer' as const, format: 'int32' };
  return {
    'io.gke.net.v1.ServiceExport': envelope('ServiceExport', {
      status: {
        type: 'object',
        properties: {
          conditions: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                lastTransitionTime: { type: 'string', format: 'date-time' },
                message: { type: 'string' },
                reason: { type: 'string' },
                status: { type: 'string', description: CONDITION_STATUS },
                type: { type: 'string' },
              },
            },
          },
        },
      },
    }),
    'io.gke.net.v1.ServiceImport': envelope('ServiceImport', {
      spec: {
        type: 'object',
        properties: {
          ips: { type: 'array', items: { type: 'string' }, maxItems: 1 },
          ports: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                appProtocol: { type: 'string' },
                name: { type: 'string' },
                port: int32,
                protocol: { type: 'string' },
              },
              required: ['port'],
            },
          },
          sessionAffinity: { type: 'string' },
          sessionAffinityConfig: {
            type: 'object',
            properties: {
              clientIP: { type: 'object', properties: { timeoutSeconds: int32 } },
            },
          },
          type: { type: 'string' },
        },
        required: ['ports', 'type'],
      },
      status: {
        type: 'object',
        properties: {
          clusters: {
            type: 'array',
            items: { type: 'object', properties: { cluster: { type: 'string' } }, required: ['cluster'] },
          },
        },
      },
    }),
  };
}

let cached: Record<string, Schema> | undefined;

/** Every component schema, built once. */
export function components(): Record<string, Schema> {
  cached ??= buildComponents();
  return cached;
}

/** The component name of a served kind: `io.k8s.api.core.v1.Service`, `io.gke.net.v1.ServiceExport`. */
export function componentOf(type: ResourceType): string {
  const model = MODEL_OF_KIND[type.kind];
  if (model) return specName(model);
  return `${type.group.split('.').reverse().join('.')}.${type.version}.${type.kind}`;
}

/** The components a set of kinds needs: theirs and every one they reference, in name order. */
export function closure(
  types: readonly ResourceType[],
  extra: readonly string[] = [],
): Record<string, Schema> {
  const all = components();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !all[name]) return;
    seen.add(name);
    const text = JSON.stringify(all[name]);
    for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) visit(match[1]);
  };
  for (const type of types) visit(componentOf(type));
  for (const name of extra) visit(name);
  return Object.fromEntries([...seen].sort().map((name) => [name, all[name]]));
}
