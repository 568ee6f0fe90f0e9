/**
 * The deployed delivery path, offline: Terraform gives each function a Pub/Sub push subscription (no Eventarc
 * trigger), so Cloud Functions deploys it as an HTTP function and Pub/Sub POSTs the plain push body — no ce-*
 * headers — to `URL/projects/P/topics/T`. This test builds what Cloud Functions builds from the uploaded bundle
 * (dist/package.json + dist/package-lock.json installed with `npm ci`, next to dist/index.js and dist/vendor.js),
 * starts functions-framework from that install with `--signature-type=http` (what the platform uses for a function
 * without an event trigger), and pushes plain bodies. It proves that the framework serves the declaratively
 * registered cloudEvent functions anyway (its loader returns the registered signature type) and turns the push body
 * into the messagePublished CloudEvent the handlers decode: message id = event id, data = the message.
 *
 * Needs `npm run build` (npm test and test:e2e build first) and the npm registry or cache for `npm ci`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newMessageId, pushBody } from '../../sandbox/audit/delivery';
import { freePort } from '../../sandbox/pubsub-emulator';
import type { ConfigInput } from '../../shared/config';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const PROJECT = 'spokefleet-demo';

/** The topic path Terraform appends to the function URL (pubsub.tf: `${uri}/${topic id}`). */
const pushPath = (topic: string) => `/projects/${PROJECT}/topics/${topic}`;

interface Served {
  url: string;
  logs: Array<Record<string, unknown>>;
  output: string[];
  stop(): Promise<void>;
}

async function serve(dir: string, target: string, config: ConfigInput): Promise<Served> {
  const port = await freePort();
  const cli = join(dir, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, `--target=${target}`, '--signature-type=http', `--port=${port}`],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: PROJECT,
        SPOKEFLEET_CONFIG: JSON.stringify(config),
      },
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  const output: string[] = [];
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim())) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        output.push(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited at start:\n${output.join('\n')}`);
    const listening = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (listening) break;
    if (Date.now() > deadline) throw new Error(`${target} did not listen:\n${output.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** POSTs what a Pub/Sub push subscription sends: the JSON push body, no CloudEvent headers. */
async function push(url: string, topic: string, data: Buffer, subscription: string) {
  const message = { messageId: newMessageId(), data, attributes: {}, publishTime: new Date().toISOString() };
  const response = await fetch(`${url}${pushPath(topic)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(pushBody(message, `projects/${PROJECT}/subscriptions/${subscription}`)),
  });
  await response.arrayBuffer();
  return { status: response.status, messageId: message.messageId };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('e2e: Pub/Sub push subscription → the deployed bundle under functions-framework (HTTP signature)', function () {
  this.timeout(180_000);
  let dir: string;
  const config: ConfigInput = {
    fleetProject: PROJECT,
    projects: [PROJECT],
    spokes: [{ network: 'gcp-spoke100-us-east4' }],
    logLevel: 'debug',
    reconcileTopic: `projects/${PROJECT}/topics/spokefleet-reconcile`,
    // No cloud is called by these messages; loopback endpoints make sure nothing could leave the machine.
    endpoints: {
      container: '127.0.0.1:9',
      compute: 'http://127.0.0.1:9',
      gkehub: 'http://127.0.0.1:9',
      resourcemanager: 'http://127.0.0.1:9',
      connectGateway: 'http://127.0.0.1:9/{location}',
    },
  };

  before(() => {
    for (const file of ['index.js', 'vendor.js', 'package.json', 'package-lock.json']) {
      assert.ok(existsSync(join(DIST, file)), `dist/${file} is missing: run npm run build`);
    }
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-deployed-'));
    for (const file of ['index.js', 'vendor.js', 'package.json', 'package-lock.json']) {
      copyFileSync(join(DIST, file), join(dir, file));
    }
    // What Cloud Functions' Node.js build does with a lockfile present.
    execFileSync('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'pipe',
    });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs exactly the framework version the repository locked', () => {
    const installed = JSON.parse(
      readFileSync(join(dir, 'node_modules/@google-cloud/functions-framework/package.json'), 'utf8'),
    );
    const locked = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages[
      'node_modules/@google-cloud/functions-framework'
    ];
    assert.equal(installed.version, locked.version);
    assert.equal(
      JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies[
        '@google-cloud/functions-framework'
      ],
      locked.version,
    );
  });

  it('onReconcileRequest: a plain push body reaches the handler as the message (event id = message id)', async () => {
    const fn = await serve(dir, 'onReconcileRequest', config);
    try {
      // A project outside `projects`: refused by the handler without any API call, with the request's id logged.
      const request = { scope: 'project', project: 'someone-elses-prj', requestId: 'push-1' };
      const done = await push(fn.url, 'spokefleet-reconcile', Buffer.from(JSON.stringify(request)), 'r-push');
      assert.ok(done.status >= 200 && done.status < 300, `status ${done.status}\n${fn.output.join('\n')}`);
      await until(
        () => fn.logs.some((l) => l.eventId === done.messageId && l.requestId === 'push-1'),
        'a log line of the request',
      );

      // A malformed request: refused as permanent and acknowledged (2xx), so Pub/Sub does not redeliver it.
      const bad = await push(fn.url, 'spokefleet-reconcile', Buffer.from('{"scope":"galaxy"}'), 'r-push');
      assert.ok(bad.status >= 200 && bad.status < 300, `status ${bad.status}`);
      await until(
        () => fn.logs.some((l) => l.eventId === bad.messageId && l.outcome === 'refused'),
        'the refusal',
      );
      assert.deepStrictEqual(
        fn.logs.filter((l) => l.reason === 'wrong-event-type' || l.reason === 'not-a-cloudevent'),
        [],
        'the framework handed the handler a messagePublished CloudEvent',
      );
    } finally {
      await fn.stop();
    }
  });

  it('onAuditLogEvent: a plain push body of a LogEntry is decoded and routed', async () => {
    const fn = await serve(dir, 'onAuditLogEvent', config);
    try {
      const entry = readFileSync(join(ROOT, 'test/fixtures/audit/compute-instance-insert.json'));
      const done = await push(fn.url, 'spokefleet-audit', entry, 'a-push');
      assert.ok(done.status >= 200 && done.status < 300, `status ${done.status}\n${fn.output.join('\n')}`);
      await until(() => fn.logs.some((l) => l.eventId === done.messageId), 'a log line of the event');
      const lines = fn.logs.filter((l) => l.eventId === done.messageId);
      assert.ok(
        lines.every((l) => l.outcome !== 'refused'),
        `the entry was decoded, not refused: ${JSON.stringify(lines)}`,
      );
    } finally {
      await fn.stop();
    }
  });
});
