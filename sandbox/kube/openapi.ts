/**
 * The OpenAPI documents kubectl reads before `kubectl apply` (Kubernetes docs, "The Kubernetes API": `/openapi/v2`
 * serves one aggregated document, JSON unless protobuf is asked for; `/openapi/v3` is a JSON index of the
 * group-versions, each at `/openapi/v3/<api|apis/group>/<version>?hash=…`).
 *
 * What kubectl needs from them (k8s.io/cli-runtime query_param_verifier_v3.go): for the kind of each manifest, a
 * PATCH operation tagged `x-kubernetes-group-version-kind` whose parameters include `fieldValidation`. With it,
 * kubectl leaves validation to the server (and sends `fieldValidation=Strict`) instead of downloading the v2
 * document in protobuf to validate on its own. The operations and their write parameters are shaped like the
 * real specification's (api/openapi-spec/v3 in the Kubernetes repository). Each document carries the component
 * schemas of its kinds (schemas.ts): `kubectl explain` reads them, and `kubectl apply` builds a strategic merge
 * patch from them for the built-in kinds (a PATCH whose request body accepts
 * `application/strategic-merge-patch+json`), a JSON merge patch for the custom resources, as against GKE.
 */
import { createHash } from 'node:crypto';
import { VERSION_INFO } from './discovery';
import { RESOURCES, type ResourceType } from './resources';
import { closure, componentOf, PATCH, REF_PREFIX, type Schema } from './schemas';

/** Whether a group is served now (the MCS CRDs arrive later). */
type GroupServed = (group: string) => boolean;

/** `api/v1` or `apis/<group>/<version>`: the index key and URL path of a group-version. */
function gvPath(r: Pick<ResourceType, 'group' | 'version'>): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

const QUERY_STRING = { type: 'string', uniqueItems: true };

/** The query parameters the real specification lists on create, update and patch. */
function writeParameters(v3: boolean) {
  const descriptions: Record<string, string> = {
    dryRun: 'When present, indicates that modifications should not be persisted.',
    fieldManager: 'fieldManager is a name associated with the actor or entity that is making these changes.',
    fieldValidation:
      'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing ' +
      'unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.',
  };
  return Object.entries(descriptions).map(([name, description]) =>
    v3
      ? { name, in: 'query', description, schema: QUERY_STRING }
      : { name, in: 'query', description, ...QUERY_STRING },
  );
}

/** The patch types the stand-in serves (no server-side apply, which the real specification also lists). */
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** The request body of a write: the kind's schema, or for a PATCH the patch types it accepts. */
function requestBody(r: ResourceType, action: string) {
  const kind = { $ref: `${REF_PREFIX}${componentOf(r)}` };
  if (action !== 'patch') return { content: { '*/*': { schema: kind } }, required: true };
  // Custom resources take no strategic merge patch (the server answers 415).
  const types = r.custom ? PATCH_TYPES.filter((t) => !t.startsWith('application/strategic')) : PATCH_TYPES;
  const patch = { $ref: `${REF_PREFIX}${PATCH}` };
  return { content: Object.fromEntries(types.map((t) => [t, { schema: patch }])), required: true };
}

function operation(r: ResourceType, action: string, v3: boolean, write: boolean) {
  const kind = { $ref: `${REF_PREFIX}${componentOf(r)}` };
  return {
    description: `${action} ${r.kind}`,
    operationId: `${action}${r.kind}`,
    ...(write ? { parameters: writeParameters(v3) } : {}),
    ...(write && v3 ? { requestBody: requestBody(r, action) } : {}),
    responses: {
      '200': v3
        ? { description: 'OK', content: { 'application/json': { schema: kind } } }
        : { description: 'OK', schema: kind },
    },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
  };
}

/** Collection and item paths of one resource, with the verbs it serves. */
function resourcePaths(r: ResourceType, v3: boolean): Record<string, Record<string, unknown>> {
  const base = `/${gvPath(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
  const has = (verb: string) => r.verbs.includes(verb);
  const collection: Record<string, unknown> = {};
  if (has('list')) collection.get = operation(r, 'list', v3, false);
  if (has('create')) collection.post = operation(r, 'post', v3, true);
  const item: Record<string, unknown> = {};
  if (has('get')) item.get = operation(r, 'get', v3, false);
  if (has('update')) item.put = operation(r, 'put', v3, true);
  if (has('patch')) item.patch = operation(r, 'patch', v3, true);
  if (has('delete')) item.delete = operation(r, 'delete', v3, false);
  return { [base]: collection, [`${base}/{name}`]: item };
}

function served(all: GroupServed): ResourceType[] {
  return RESOURCES.filter((r) => all(r.group));
}

/** The v3 document of one group-version (`api/v1`, `apis/apps/v1`), or undefined when it is not served. */
export function openApiV3Document(path: string, isServed: GroupServed): unknown {
  const types = served(isServed).filter((r) => gvPath(r) === path);
  if (types.length === 0) return undefined;
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion },
    paths: Object.assign({}, ...types.map((r) => resourcePaths(r, true))),
    components: { schemas: closure(types, [PATCH]) },
  };
}

/** The v3 index: every served group-version and where its document is, with the hash the real server adds. */
export function openApiV3Index(isServed: GroupServed) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const path of new Set(served(isServed).map(gvPath))) {
    const hash = createHash('sha512')
      .update(JSON.stringify(openApiV3Document(path, isServed)))
      .digest('hex')
      .toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

/** The aggregated v2 document (JSON). */
export function openApiV2Document(isServed: GroupServed) {
  const types = served(isServed);
  return toV2({
    swagger: '2.0',
    info: { title: 'Kubernetes', version: VERSION_INFO.gitVersion },
    paths: Object.assign({}, ...types.map((r) => resourcePaths(r, false))),
    definitions: closure(types, [PATCH]),
  });
}

/** Swagger 2 references: `#/definitions/NAME`, a plain `$ref` where v3 wraps it in `allOf`. */
function toV2<T>(document: T): T {
  return JSON.parse(JSON.stringify(document), (_key, value: Schema | unknown) => {
    if (typeof value === 'string' && value.startsWith(REF_PREFIX))
      return `#/definitions/${value.slice(REF_PREFIX.length)}`;
    const schema = value as Schema;
    if (schema && typeof schema === 'object' && Array.isArray(schema.allOf) && schema.allOf.length === 1) {
      const { allOf, ...rest } = schema;
      return { ...rest, ...allOf[0] };
    }
    return value;
  }) as T;
}

/**
 * The answer for an OpenAPI path: a document, 'not-acceptable' when only protobuf is accepted (not served here),
 * or undefined when the path is not an OpenAPI one.
 */
export function openApiAnswer(
  pathname: string,
  accept: string | undefined,
  isServed: GroupServed,
): unknown | 'not-acceptable' | 'not-found' {
  if (pathname !== '/openapi/v2' && pathname !== '/openapi/v3' && !pathname.startsWith('/openapi/v3/'))
    return undefined;
  const acceptsJson =
    !accept ||
    accept.split(',').some((a) => /^\s*(application\/json|\*\/\*|application\/\*)\s*(;|$)/.test(a));
  if (!acceptsJson) return 'not-acceptable';
  if (pathname === '/openapi/v2') return openApiV2Document(isServed);
  if (pathname === '/openapi/v3') return openApiV3Index(isServed);
  return openApiV3Document(pathname.slice('/openapi/v3/'.length), isServed) ?? 'not-found';
}
