/**
 * Gives every call of a Google client library its timeout (shared/calls: min(time left in the invocation, a cap)),
 * at the one place where clients are built, so no adapter method — today's or one added later — can call without.
 *
 * - gax clients (container over gRPC, compute over REST): each RPC goes through the client's `innerApiCalls`
 *   table (filled by `initialize()`); the wrapper adds the gax call option `timeout`, which gax turns into a gRPC
 *   deadline or, over REST, an abort signal.
 * - googleapis clients (gkehub, cloudresourcemanager): a proxy over the resource tree adds the request option
 *   `timeout`, which gaxios turns into an abort signal.
 * The call is named `<api>.<method>` as the local cloud counts it (`container.GetCluster`, `gkehub.memberships.list`).
 */
import { type CallCaps, callTimeoutMs, capFor, timedCall } from '../calls';

type Inner = (request: unknown, options: unknown, callback?: unknown) => unknown;

interface GaxClient {
  initialize(): unknown;
  innerApiCalls: Record<string, Inner>;
}

const pascal = (method: string) => method.charAt(0).toUpperCase() + method.slice(1);

/** `container.GetCluster`: gRPC method names as the proto spells them. */
export const grpcCallName = (api: string) => (method: string) => `${api}.${pascal(method)}`;
/** `compute.networks.get`: REST resource and method. */
export const restCallName = (api: string, resource: string) => (method: string) =>
  `${api}.${resource}.${method}`;

export function withGaxTimeouts<C extends object>(
  client: C,
  name: (method: string) => string,
  caps: CallCaps,
): C {
  const gax = client as unknown as GaxClient;
  // initialize() fills innerApiCalls synchronously; its promise (the stub) settles on the first call.
  Promise.resolve(gax.initialize()).catch(() => undefined);
  for (const [method, inner] of Object.entries(gax.innerApiCalls)) {
    const call = name(method);
    const cap = capFor(call, caps);
    gax.innerApiCalls[method] = (request, options, callback) => {
      if (callback)
        return inner(request, { ...(options as object), timeout: callTimeoutMs(call, cap) }, callback);
      return timedCall(
        call,
        cap,
        (timeout) => inner(request, { ...(options as object), timeout }) as Promise<unknown>,
      );
    };
  }
  return client;
}

/** googleapis: `hub.projects.locations.memberships.list(params)` → `gkehub.memberships.list` with `{timeout}`. */
export function withGoogleapisTimeouts<T extends object>(api: T, service: string, caps: CallCaps): T {
  // The proxy's own target is an empty object: googleapis' resources are read-only, non-configurable properties,
  // which a proxy on the real object would have to return unchanged.
  const wrap = <O extends object>(object: O, path: readonly string[]): O =>
    new Proxy({} as O, {
      get(_empty, property) {
        const value = Reflect.get(object, property);
        if (typeof property !== 'string' || property === 'context') return value;
        if (typeof value === 'function' && path.length > 0) {
          const call = `${service}.${path[path.length - 1]}.${property}`;
          const cap = capFor(call, caps);
          return (params: unknown, options?: unknown, callback?: unknown) => {
            const method = value as (...args: unknown[]) => unknown;
            if (typeof options === 'function' || callback !== undefined)
              return method.call(object, params, options, callback);
            return timedCall(
              call,
              cap,
              (timeout) =>
                method.call(object, params ?? {}, {
                  ...(options as object | undefined),
                  timeout,
                }) as Promise<unknown>,
            );
          };
        }
        if (value !== null && typeof value === 'object') return wrap(value as object, [...path, property]);
        return value;
      },
    });
  return wrap(api, []);
}
