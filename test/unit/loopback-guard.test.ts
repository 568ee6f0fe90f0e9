/**
 * The loopback guard the demo, the sandbox, its functions and the tests run under: a connection or DNS lookup off
 * loopback fails (throw mode here, from test/setup.ts) and is recorded; in a process of its own (exit mode) it
 * ends the process with 1 and says what was refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dns from 'node:dns';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const GUARD = join(__dirname, '../../sandbox/loopback-guard.cjs');
const guard = require(GUARD) as { violations: string[]; isLoopback(host: unknown): boolean };

function connectOnce(host: string, port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.end();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('loopback guard', () => {
  afterEach(() => {
    guard.violations.splice(0);
  });

  it('isLoopback: 127.0.0.0/8, ::1, localhost; nothing else', () => {
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      'localhost',
      undefined,
    ])
      assert.equal(guard.isLoopback(host), true, String(host));
    for (const host of [
      '10.0.0.1',
      '169.254.169.254',
      'metadata.google.internal',
      'example.com',
      '128.0.0.1',
      '0.0.0.0',
    ])
      assert.equal(guard.isLoopback(host), false, host);
  });

  it('a TCP connection to loopback goes through; one elsewhere fails and is recorded', async () => {
    const server = createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    try {
      assert.equal(await connectOnce('127.0.0.1', port), 'connected');
      assert.deepEqual(guard.violations, []);
      assert.equal(await connectOnce('169.254.169.254', 80), 'ELOOPBACKONLY');
      assert.match(guard.violations[0], /connection to 169\.254\.169\.254:80 refused/);
    } finally {
      server.close();
    }
  });

  it('DNS lookups of other names fail (callback, promise, resolver); localhost resolves', async () => {
    const viaCallback = await new Promise<string>((resolve) =>
      dns.lookup('metadata.google.internal', (error) =>
        resolve((error as NodeJS.ErrnoException)?.code ?? 'ok'),
      ),
    );
    assert.equal(viaCallback, 'ELOOPBACKONLY');
    await assert.rejects(dns.promises.lookup('example.com'), { code: 'ELOOPBACKONLY' });
    await assert.rejects(new dns.promises.Resolver().resolve4('example.com'), { code: 'ELOOPBACKONLY' });
    assert.equal(guard.violations.length, 3);
    const local = await dns.promises.lookup('localhost');
    assert.ok(guard.isLoopback(local.address));
  });

  it('fetch of the metadata server fails the call', async () => {
    await assert.rejects(fetch('http://metadata.google.internal/computeMetadata/v1/'));
    assert.ok(guard.violations.some((v) => /metadata\.google\.internal/.test(v)));
  });

  it('in a process of its own (exit mode) the first such call ends it with 1', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--require',
          GUARD,
          '-e',
          "require('node:http').get('http://metadata.google.internal/'); setTimeout(() => {}, 5000)",
        ],
        { env: { PATH: process.env.PATH }, timeout: 10_000 },
        (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^loopback guard: (connection to|DNS lookup of) metadata\.google\.internal/);
  });
});
