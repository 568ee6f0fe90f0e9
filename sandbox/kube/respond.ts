/**
 * The HTTP edges of the API: reading a request body within the API server's limit, writing JSON answers, and
 * failing a request the way an injected fault asks (a Status the API server would send, or a reset).
 */
import type * as http from 'node:http';
import type { FaultKind } from '../faults';
import { qualifiedResource } from './resources';
import type { Route } from './routes';
import { CONFLICT_MESSAGE, conflict, failure, KubeError, type Status } from './status';

/** The API server's request body limit. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new KubeError(
            failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`),
          ),
        );
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function writeJson(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

/** Answers an injected fault the way the API server (or the network) would fail that request. */
export function answerFault(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  fault: FaultKind,
  target: Route,
  principal: string,
): void {
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  const { type } = target;
  const name = target.name ?? '';
  let status: Status;
  switch (fault) {
    case 'unavailable':
      status = failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
      break;
    case 'rate-limited':
      status = failure(429, 'TooManyRequests', 'Too many requests, please try again later.', {
        retryAfterSeconds: 1,
      });
      res.setHeader('Retry-After', '1');
      break;
    case 'internal':
      status = failure(500, 'InternalError', 'Internal error occurred: injected fault', {
        causes: [{ reason: '', message: 'injected fault' }],
      });
      break;
    case 'aborted':
    case 'peering-in-progress':
      status = conflict(type, name, CONFLICT_MESSAGE).status;
      break;
    case 'deadline':
      status = failure(
        504,
        'Timeout',
        'Timeout: request did not complete within requested timeout - context deadline exceeded',
        { retryAfterSeconds: 0 },
      );
      break;
    case 'permission-denied': {
      const where = target.namespace ? ` in the namespace "${target.namespace}"` : '';
      const subject = name ? `${qualifiedResource(type)} "${name}"` : qualifiedResource(type);
      status = failure(
        403,
        'Forbidden',
        `${subject} is forbidden: User "${principal}" cannot ${target.verb} resource "${type.resource}" in API group "${type.group}"${where}`,
        type.group ? { name, group: type.group, kind: type.resource } : { name, kind: type.resource },
      );
      break;
    }
    case 'invalid-argument':
      status = failure(
        400,
        'BadRequest',
        'the server rejected our request for an unknown reason (injected fault)',
      );
      break;
  }
  writeJson(res, status.code, status);
}
