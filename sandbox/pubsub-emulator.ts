/**
 * The real Pub/Sub emulator (`gcloud beta emulators pubsub start`), started on a free loopback port, with helpers
 * to create topics and push subscriptions to the functions, and an AuditSink that publishes audit entries to a
 * topic the way a Cloud Logging sink does.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import type { LogEntry } from '../shared/events/types';
import type { AuditSink } from './audit/sink';

export interface Emulator {
  host: string;
  project: string;
  pubsub: PubSub;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function emulatorAvailable(): boolean {
  return spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Starts the emulator and resolves once it accepts requests (about a second here). */
export async function startEmulator(project: string, timeoutMs = 30_000): Promise<Emulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'gcloud',
    ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${project}`, '--quiet'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM'); // the gcloud wrapper, its python and the java server
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Pub/Sub emulator exited early:\n${output.slice(-2000)}`);
    try {
      const response = await fetch(`http://${host}/v1/projects/${project}/topics`);
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Pub/Sub emulator not ready in ${timeoutMs} ms:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pubsub = new PubSub({ projectId: project, apiEndpoint: host, emulatorMode: true });
  return {
    host,
    project,
    pubsub,
    async stop() {
      await pubsub.close().catch(() => undefined);
      await stop();
    },
  };
}

/**
 * A topic with a push subscription to a function. The push URL contains `/projects/P/topics/T` so that
 * functions-framework recovers the topic when it converts the raw push into a CloudEvent.
 */
export async function pushTopic(
  emulator: Emulator,
  topicName: string,
  functionUrl: string,
  options: {
    ackDeadlineSeconds?: number;
    /** The push subscription's retry policy (default 1–5 s); the realistic timing profile scales Terraform's. */
    backoffMs?: { minimum: number; maximum: number };
  } = {},
): Promise<void> {
  const duration = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) });
  const [topic] = await emulator.pubsub.createTopic(topicName);
  const project = emulator.project;
  const base = functionUrl.replace(/\/$/, '');
  await topic.createSubscription(`${topicName}-push`, {
    pushConfig: { pushEndpoint: `${base}/projects/${project}/topics/${topicName}` },
    ackDeadlineSeconds: options.ackDeadlineSeconds ?? 10,
    retryPolicy: options.backoffMs
      ? {
          minimumBackoff: duration(options.backoffMs.minimum),
          maximumBackoff: duration(options.backoffMs.maximum),
        }
      : { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 5 } },
  });
}

/** Publishes each audit entry as a LogEntry JSON message, as a Cloud Logging sink with a Pub/Sub destination. */
export class PubsubSink implements AuditSink {
  private readonly pending = new Set<Promise<unknown>>();
  readonly published: string[] = [];

  constructor(
    private readonly emulator: Emulator,
    private readonly topicName: string,
  ) {}

  emit(entry: LogEntry): void {
    const sent = this.emulator.pubsub
      .topic(this.topicName)
      .publishMessage({ data: Buffer.from(JSON.stringify(entry)) })
      .then((id) => this.published.push(id))
      .catch(() => undefined);
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  async flushed(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
