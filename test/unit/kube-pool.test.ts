/**
 * The Kubernetes connection pool (shared/cloud/kube.ts) relies on two client-node internals: KubeConfig's
 * `applySecurityAuthentication` puts a new undici Agent on the RequestContext with `setDispatcher`, and the fetch
 * library sends with `getDispatcher()`. These tests go through both as client-node runs them, against a loopback
 * server that counts connections, so a client-node release that changes either fails here; the version is pinned
 * exactly in package.json for the same reason.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext } from '@kubernetes/client-node';
import { closeKubePools, kubeConfigFor } from '../../shared/cloud/kube';

describe('kube: one connection pool per origin, through client-node internals', () => {
  let server: Server;
  let url: string;
  const sockets = new Set<Socket>();
  let connections = 0;
  let closed = 0;
  const seen: IncomingHttpHeaders[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"NamespaceList","items":[]}');
    });
    server.on('connection', (socket: Socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => {
        closed++;
        sockets.delete(socket);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await closeKubePools();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('the installed client-node is the exact version package.json pins', () => {
    const pinned = (
      JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }
    ).dependencies['@kubernetes/client-node'];
    const installed = (
      JSON.parse(readFileSync('node_modules/@kubernetes/client-node/package.json', 'utf8')) as {
        version: string;
      }
    ).version;
    assert.match(pinned, /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
    assert.equal(installed, pinned);
  });

  it('requests of two configs for one origin share one pooled dispatcher and one connection; each keeps its token', async () => {
    await closeKubePools();
    const before = connections;
    const dispatchers = new Set<unknown>();
    const library = new IsomorphicFetchHttpLibrary();
    for (const token of ['token-a', 'token-b', 'token-a']) {
      const kc = kubeConfigFor({ server: url, token, insecure: true });
      const context = new RequestContext(`${url}/api/v1/namespaces`, HttpMethod.GET);
      await kc.applySecurityAuthentication(context);
      const dispatcher = context.getDispatcher();
      assert.ok(dispatcher, 'client-node put a dispatcher on the request (its Agent, or the pooled one)');
      dispatchers.add(dispatcher);
      const response = await library.send(context).toPromise();
      assert.equal(response.httpStatusCode, 200);
      await response.body.text();
      // The connection goes back to the pool once undici has seen the response end, a turn later.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(dispatchers.size, 1, 'every request sent with the pooled dispatcher');
    assert.equal(
      connections - before,
      1,
      'one connection for three requests: the fetch library used the pool',
    );
    assert.deepEqual(
      seen.slice(-3).map((h) => h.authorization),
      ['Bearer token-a', 'Bearer token-b', 'Bearer token-a'],
    );
  });

  it('closeKubePools closes the pooled connections', async () => {
    assert.ok(sockets.size > 0, 'a pooled connection is open');
    const open = sockets.size;
    const closedBefore = closed;
    await closeKubePools();
    for (let i = 0; i < 50 && sockets.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.size, 0, 'no connection left open');
    assert.equal(closed - closedBefore, open);
  });
});
