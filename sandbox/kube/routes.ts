/**
 * Maps a Kubernetes REST path and HTTP method to the resource, scope and verb it addresses:
 *   /api/v1/<resource>[/<name>[/status]]                         cluster-scoped, or a list across namespaces
 *   /api/v1/namespaces/<ns>/<resource>[/<name>[/status]]         namespaced
 *   /apis/<group>/<version>/...                                  the same for named groups
 */
import { type ResourceType, resourceAt } from './resources';
import { methodNotAllowed, noSuchResource } from './status';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface Route {
  type: ResourceType;
  /** Namespace from the path; undefined for cluster-scoped resources and lists across namespaces. */
  namespace?: string;
  name?: string;
  subresource?: 'status';
  verb: Verb;
}

const READ_VERBS: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);

export function isRead(verb: Verb): boolean {
  return READ_VERBS.has(verb);
}

/** Splits `pathname` into segments; undefined when it is not under /api or /apis. */
function locate(pathname: string): { group: string; version: string; rest: string[] } | undefined {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  if (segments[0] === 'api' && segments.length >= 2)
    return { group: '', version: segments[1], rest: segments.slice(2) };
  if (segments[0] === 'apis' && segments.length >= 3) {
    return { group: segments[1], version: segments[2], rest: segments.slice(3) };
  }
  return undefined;
}

/**
 * The route for a request, or a KubeError (404 for unknown paths, 405 for verbs the resource does not
 * serve) thrown the way the API server would answer.
 */
export function route(method: string, pathname: string, watch: boolean): Route {
  const where = locate(pathname);
  if (!where || where.rest.length === 0) throw noSuchResource();
  const { group, version, rest } = where;
  let type: ResourceType | undefined;
  let namespace: string | undefined;
  let tail: string[];
  const nested =
    rest[0] === 'namespaces' && rest.length >= 3 ? resourceAt(group, version, rest[2]) : undefined;
  if (nested?.namespaced) {
    type = nested;
    namespace = rest[1];
    tail = rest.slice(3);
  } else {
    type = resourceAt(group, version, rest[0]);
    tail = rest.slice(1);
  }
  if (!type || tail.length > 2) throw noSuchResource();
  const [name, subresource] = tail;
  // A namespaced object is only addressable inside its namespace.
  if (type.namespaced && namespace === undefined && name !== undefined) throw noSuchResource();
  if (subresource !== undefined && (subresource !== 'status' || !type.statusSubresource))
    throw noSuchResource();

  const verb = verbFor(method, name !== undefined, watch, subresource !== undefined);
  if (!verb) throw methodNotAllowed();
  // Creating and deleting collections need the namespace in the path.
  if (type.namespaced && namespace === undefined && (verb === 'create' || verb === 'deletecollection')) {
    throw methodNotAllowed();
  }
  if (!subresource && !type.verbs.includes(verb)) throw methodNotAllowed();
  return { type, namespace, name, subresource: subresource as 'status' | undefined, verb };
}

function verbFor(method: string, named: boolean, watch: boolean, subresource: boolean): Verb | undefined {
  if (subresource) {
    return ({ GET: 'get', PUT: 'update', PATCH: 'patch' } as const)[method as 'GET' | 'PUT' | 'PATCH'];
  }
  switch (method) {
    case 'GET':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return named ? undefined : 'create';
    case 'PUT':
      return named ? 'update' : undefined;
    case 'PATCH':
      return named ? 'patch' : undefined;
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
