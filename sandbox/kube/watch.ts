/**
 * Watch streams: one JSON event per line (`{"type":"ADDED","object":{...}}`), as the API server sends them
 * without protobuf. Starting without a resourceVersion (or at "0") first replays the current objects as
 * ADDED; starting at a resourceVersion replays the changes after it, or answers 410 Expired when they are
 * no longer remembered — which is what informers expect.
 */
import type * as http from 'node:http';
import { failure } from './status';
import type { KubeObject, KubeStore, StoreChange } from './store';

export interface WatchOptions {
  store: KubeStore;
  /** Does the object belong to this watch (resource, namespace, selectors)? */
  matches(object: KubeObject): boolean;
  resource: string;
  resourceVersion?: string;
  /** The stream ends after this long, as the API server's own watch timeout does. */
  timeoutSeconds: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';

/** Streams events until the client leaves, the timeout passes or `stop()` is called; resolves when ended. */
export function serveWatch(
  res: http.ServerResponse,
  options: WatchOptions,
): { done: Promise<void>; stop(): void } {
  const { store, matches, resource } = options;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const send = (type: EventType, object: unknown) => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };

  let stop = () => {};
  const done = new Promise<void>((resolve) => {
    let ended = false;
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    stop = () => {
      if (ended) return;
      ended = true;
      unsubscribe();
      clearTimeout(timer);
      res.end();
      resolve();
    };
    res.on('close', stop);

    const forward = (change: StoreChange) => {
      if (change.resource.resource !== resource) return;
      const now = matches(change.object);
      if (change.type === 'MODIFIED') {
        const before = change.previous !== undefined && matches(change.previous);
        if (before && now) send('MODIFIED', change.object);
        else if (now) send('ADDED', change.object);
        else if (before) send('DELETED', change.object);
      } else if (now) {
        send(change.type, change.object);
      }
    };

    const from = options.resourceVersion;
    if (from === undefined || from === '' || from === '0') {
      for (const object of store.list(resource)) if (matches(object)) send('ADDED', object);
    } else {
      const changes = /^\d+$/.test(from) ? store.changesSince(Number(from)) : undefined;
      if (!changes) {
        send(
          'ERROR',
          failure(410, 'Expired', `too old resource version: ${from} (${store.resourceVersion()})`),
        );
        stop();
        return;
      }
      for (const change of changes) forward(change);
    }
    unsubscribe = store.subscribe(forward);
    timer = setTimeout(stop, options.timeoutSeconds * 1000);
    timer.unref();
  });
  return { done, stop: () => stop() };
}
