/**
 * Runs the built bundle (dist/index.js) under functions-framework's own CLI, one process per target, exactly as
 * Cloud Run functions serve it. Their structured log lines are collected for the demo and for tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ConfigInput } from '../shared/config';
import { freePort } from './pubsub-emulator';

function canConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end();
      resolve();
    });
    socket.on('error', reject);
  });
}

export const ROOT = join(__dirname, '..');
export const BUNDLE_DIR = join(ROOT, 'dist');
const FRAMEWORK_CLI = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');

export type Target = 'onAuditLogEvent' | 'onReconcileRequest';

export interface FunctionProcess {
  target: Target;
  url: string;
  /** Every JSON log line the function wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Non-JSON output (framework messages, crashes). */
  output: string[];
  stop(): Promise<void>;
}

export async function startFunction(
  target: Target,
  config: ConfigInput,
  timeoutMs = 20_000,
): Promise<FunctionProcess> {
  if (!existsSync(join(BUNDLE_DIR, 'index.js')))
    throw new Error('dist/index.js is missing: run `npm run build` first');
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      FRAMEWORK_CLI,
      `--source=${BUNDLE_DIR}`,
      `--target=${target}`,
      '--signature-type=cloudevent',
      `--port=${port}`,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        METADATA_SERVER_DETECTION: 'none',
        GOOGLE_CLOUD_PROJECT: 'sandbox',
        // The loopback guard's preload, when the sandbox runs under it: the functions are guarded too.
        ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
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
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        output.push(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited at start:\n${output.join('\n')}`);
    try {
      // A TCP connect is enough: an HTTP probe would be a malformed event to the framework.
      await canConnect(port);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`${target} did not listen in ${timeoutMs} ms:\n${output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    target,
    url,
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
