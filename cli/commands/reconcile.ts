/**
 * `spokefleet reconcile`: asks the deployed onReconcileRequest function to reconcile a scope, by publishing the
 * request to its topic. Against the sandbox: to the Pub/Sub emulator's reconcile topic when the
 * sandbox runs one, else straight to the function as the binary CloudEvent Eventarc would POST, waiting for its
 * answer (2xx: done or refused for good; 5xx: a transient failure Pub/Sub would redeliver).
 *
 * With --wait it then follows the request to its end by its request id, reading the functions' summary lines from
 * Cloud Logging (cli/follow.ts): a fleet request that fanned out is over when every cluster it published has
 * answered for good. Against the sandbox the same reads go to its Logging stand-in.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { newMessage, postCloudEvent } from '../../shared/events/delivery';
import type { ReconcileRequest } from '../../shared/events/request';
import type { Outcome } from '../../shared/reconcile/action';
import { requestTarget } from '../../shared/reconcile/request';
import { describeScope, UsageError } from '../args';
import { type FollowState, RequestFollower, type SummaryLine, summaryLine } from '../follow';
import { type Io, Progress, println } from '../io';
import { cloudLoggingReader, type LogReader } from '../logs';
import { duration, EXIT_FAILURES, EXIT_OK, formatTable, printJson } from '../output';
import {
  assertSandboxRunning,
  loadSandbox,
  type SandboxEndpoints,
  SandboxNotRunning,
  sandboxReconcileTopic,
} from '../sandbox';

export interface WaitArgs {
  /** Give up after this long (exit 1, with what is still pending). */
  timeoutSeconds: number;
  /** The project whose logs hold the functions' lines; default: the topic's project. */
  logProject?: string;
  /** Between reads; default 5 s against Google (entries.list allows 60 reads a minute), 300 ms in the sandbox. */
  intervalMs?: number;
  /** Injected in tests. */
  reader?: LogReader;
}

export interface ReconcileArgs {
  request: ReconcileRequest;
  /** `projects/P/topics/T`; required unless --sandbox. */
  topic?: string;
  sandbox?: string;
  json: boolean;
  /** --wait: follow the request to its end. */
  wait?: WaitArgs;
}

interface Sent {
  via: 'pubsub' | 'emulator' | 'direct';
  topic: string;
  messageId: string;
  /** Direct delivery only: the function's HTTP answer. */
  httpStatus?: number;
  durationMs: number;
}

/** Publishes with @google-cloud/pubsub (Application Default Credentials, or the emulator). */
async function publish(topic: string, data: Buffer, emulatorHost?: string): Promise<string> {
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const projectId = topic.split('/')[1];
  const pubsub: PubSub = emulatorHost
    ? new PubSub({ projectId, apiEndpoint: emulatorHost, emulatorMode: true })
    : new PubSub({ projectId });
  try {
    return await pubsub.topic(topic).publishMessage({ data });
  } finally {
    await pubsub.close().catch(() => undefined);
  }
}

/** One POST of the binary CloudEvent Eventarc would send, no redelivery: the function's answer is the result. */
async function deliverDirect(
  sandbox: SandboxEndpoints,
  topic: string,
  data: Buffer,
): Promise<{ messageId: string; status: number }> {
  const url = sandbox.functions.onReconcileRequest;
  if (!url) throw new UsageError(`${sandbox.file} has no functions.onReconcileRequest URL`);
  const message = newMessage(data);
  const status = await postCloudEvent(url, topic, message);
  // Nothing was delivered: say so, never "delivered".
  if (status === 'network-error' || status === 'timeout')
    throw new SandboxNotRunning(
      `not delivered: onReconcileRequest at ${url} did not answer — is the sandbox running? (\`npm run sandbox\`)`,
    );
  return { messageId: message.messageId, status };
}

export async function reconcileCommand(args: ReconcileArgs, io: Io): Promise<number> {
  const data = Buffer.from(JSON.stringify(args.request));
  const started = Date.now();
  let sent: Sent;
  let sandbox: SandboxEndpoints | undefined;
  if (args.sandbox) {
    sandbox = loadSandbox(args.sandbox, io.cwd);
    await assertSandboxRunning(sandbox);
    const topic = args.topic ?? sandboxReconcileTopic(sandbox);
    if (sandbox.pubsub) {
      const messageId = await publish(topic, data, sandbox.pubsub.emulatorHost);
      sent = { via: 'emulator', topic, messageId, durationMs: Date.now() - started };
    } else {
      const { messageId, status } = await deliverDirect(sandbox, topic, data);
      sent = { via: 'direct', topic, messageId, httpStatus: status, durationMs: Date.now() - started };
    }
  } else {
    if (!args.topic) throw new UsageError('--topic projects/PROJECT/topics/TOPIC is required (or --sandbox)');
    const messageId = await publish(args.topic, data);
    sent = { via: 'pubsub', topic: args.topic, messageId, durationMs: Date.now() - started };
  }

  const ok = sent.httpStatus === undefined || sent.httpStatus < 300;
  if (args.wait) {
    const reader = args.wait.reader ?? readerFor(args.wait, sent.topic, sandbox);
    try {
      const followed = await follow(args.request, reader, args.wait, started, io, sandbox !== undefined);
      if (args.json) {
        printJson(io, {
          ...sent,
          requestId: args.request.requestId,
          request: args.request,
          ok,
          wait: followed,
        });
      } else {
        printSent(io, args, sent, ok);
        printFollowed(io, args.request, followed);
      }
      return ok && followed.complete && followed.withProblems.length === 0 ? EXIT_OK : EXIT_FAILURES;
    } finally {
      await reader.close();
    }
  }
  // Direct delivery waited for the function: its summary line is there to read (counts, failing steps).
  const answer =
    sent.via === 'direct' && sandbox?.logging
      ? await readAnswer(
          args.request,
          cloudLoggingReader(sandbox.logging.project, sandbox.logging.url),
          started,
        )
      : undefined;
  if (args.json) {
    printJson(io, { ...sent, requestId: args.request.requestId, request: args.request, ok, answer });
  } else {
    printSent(io, args, sent, ok);
    if (answer) printAnswer(io, answer);
  }
  return ok && (answer?.problems.length ?? 0) === 0 ? EXIT_OK : EXIT_FAILURES;
}

/** What the function answered for a request it handled in one invocation. */
export interface Answer {
  /** `fanned-out`: the cluster requests are on their way (--wait follows them); `done`: handled here. */
  stage: 'fanned-out' | 'done' | 'no summary line';
  outcomes: Partial<Record<Outcome, number>>;
  /** Fanned out: how many cluster requests were published. */
  published?: number;
  /** The failed or refused records: the step that failed, on what, and why. */
  problems: Followed['problems'];
}

/** Reads the request's own summary line (a few tries: the line can trail the HTTP answer by a moment). */
async function readAnswer(request: ReconcileRequest, reader: LogReader, started: number): Promise<Answer> {
  try {
    const requestId = request.requestId ?? '';
    const since = new Date(started - 60_000).toISOString();
    const base = `jsonPayload.requestId=${quote(requestId)} AND timestamp>=${quote(since)}`;
    const target = requestTarget(request);
    let own: SummaryLine | undefined;
    for (let tries = 0; tries < 20 && !own; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 150));
      const lines = (await reader.read(`${base} AND jsonPayload.summary="reconcile-request"`)).flatMap(
        (e) => {
          const line = summaryLine(e.insertId, e.timestamp, e.payload);
          return line && line.target === target ? [line] : [];
        },
      );
      own = lines.sort((a, b) => a.timestamp.localeCompare(b.timestamp)).at(-1);
    }
    if (!own) return { stage: 'no summary line', outcomes: {}, problems: [] };
    const problems =
      own.problems > 0 || own.willRetry
        ? latestProblems(await reader.read(`${base} AND severity>=WARNING AND jsonPayload.step:*`), [target])
        : [];
    return {
      stage: own.stage,
      outcomes: own.outcomes,
      ...(own.stage === 'fanned-out' ? { published: own.published?.length ?? 0 } : {}),
      problems,
    };
  } finally {
    await reader.close();
  }
}

function printAnswer(io: Io, answer: Answer): void {
  if (answer.stage === 'no summary line') {
    println(io.stdout, 'answer: no summary line found in the logs yet');
  } else if (answer.stage === 'fanned-out') {
    println(
      io.stdout,
      `answer: fanned out to ${answer.published} cluster request(s) — ${outcomes(answer.outcomes)}; add --wait to follow them`,
    );
  } else {
    println(io.stdout, `answer: ${outcomes(answer.outcomes)}`);
  }
  if (answer.problems.length > 0) {
    println(io.stdout);
    println(io.stdout, 'failing step(s):');
    println(io.stdout, formatTable(answer.problems, ['step', 'target', 'outcome', 'reason']));
  }
}

function printSent(io: Io, args: ReconcileArgs, sent: Sent, ok: boolean): void {
  if (sent.via === 'direct') {
    const answer = `HTTP ${sent.httpStatus}${ok ? '' : ' (a step failed transiently; Pub/Sub would redeliver this request)'}`;
    println(
      io.stdout,
      `delivered ${describeScope(args.request)} request ${args.request.requestId} to onReconcileRequest: ${answer} ` +
        `in ${duration(sent.durationMs)}; message id ${sent.messageId} (synthetic, direct delivery)`,
    );
  } else {
    println(
      io.stdout,
      `published ${describeScope(args.request)} request ${args.request.requestId}${args.request.dryRun ? ' (dry run)' : ''} ` +
        `to ${sent.topic}${sent.via === 'emulator' ? ' (emulator)' : ''}: message id ${sent.messageId}`,
    );
  }
}

function readerFor(wait: WaitArgs, topic: string, sandbox: SandboxEndpoints | undefined): LogReader {
  if (sandbox) {
    if (!sandbox.logging)
      throw new UsageError(`${sandbox.file} has no logging endpoint: restart the sandbox to use --wait`);
    return cloudLoggingReader(sandbox.logging.project, sandbox.logging.url);
  }
  return cloudLoggingReader(wait.logProject ?? topic.split('/')[1]);
}

/** A string as a Logging query literal. */
const quote = (value: string) => `"${value.replace(/[\\"]/g, '\\$&')}"`;

/** Where the request stands, and the failed or refused records of the clusters that have problems. */
export interface Followed extends FollowState {
  requestId: string;
  waitedMs: number;
  problems: Array<{ step: string; target: string; outcome: string; reason: string }>;
}

async function follow(
  request: ReconcileRequest,
  reader: LogReader,
  wait: WaitArgs,
  started: number,
  io: Io,
  local: boolean,
): Promise<Followed> {
  const requestId = request.requestId ?? '';
  if (!requestId) throw new UsageError('--wait needs a request id');
  // A minute before publishing: clocks differ, and Cloud Logging orders by the entries' own timestamps.
  const since = new Date(started - 60_000).toISOString();
  const base = `jsonPayload.requestId=${quote(requestId)} AND timestamp>=${quote(since)}`;
  const follower = new RequestFollower(requestTarget(request));
  const progress = new Progress(io.stderr);
  const interval = wait.intervalMs ?? (local ? 300 : 5_000);
  const deadline = Date.now() + wait.timeoutSeconds * 1000;
  let state: FollowState;
  try {
    for (;;) {
      const entries = await reader.read(`${base} AND jsonPayload.summary="reconcile-request"`);
      follower.add(
        entries.flatMap((e) => {
          const line = summaryLine(e.insertId, e.timestamp, e.payload);
          return line ? [line as SummaryLine] : [];
        }),
      );
      state = follower.state();
      if (state.complete || Date.now() >= deadline) break;
      progress.update(
        state.clusters
          ? `waiting: ${state.done.length}/${state.clusters.length} clusters done… (${Math.round((Date.now() - started) / 1000)} s)`
          : `waiting for ${describeScope(request)}… (${Math.round((Date.now() - started) / 1000)} s)`,
      );
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  } finally {
    progress.done();
  }
  // Why: the failed or refused records of what ended with problems, or of what is still being retried.
  const explain = [...state.withProblems, ...state.pending];
  const problems =
    explain.length > 0
      ? latestProblems(await reader.read(`${base} AND severity>=WARNING AND jsonPayload.step:*`), explain)
      : [];
  return { ...state, requestId, waitedMs: Date.now() - started, problems };
}

/** The last failed or refused record per step and target, of the targets that ended with problems. */
function latestProblems(
  entries: ReadonlyArray<{ timestamp: string; payload: Record<string, unknown> }>,
  targets: readonly string[],
): Followed['problems'] {
  const latest = new Map<string, { at: string; record: Followed['problems'][number] }>();
  for (const { timestamp, payload } of entries) {
    const target = String(payload.target ?? '');
    if (!targets.some((t) => target === t || target.startsWith(`${t}/`))) continue;
    const key = `${payload.step}|${target}`;
    const record = {
      step: String(payload.step),
      target,
      outcome: String(payload.outcome ?? ''),
      reason: String(payload.reason ?? ''),
    };
    const seen = latest.get(key);
    if (!seen || seen.at <= timestamp) latest.set(key, { at: timestamp, record });
  }
  return [...latest.values()]
    .map((v) => v.record)
    .filter((r) => r.outcome === 'failed' || r.outcome === 'refused');
}

function outcomes(counts: Partial<Record<Outcome, number>>): string {
  const parts = Object.entries(counts).map(([outcome, n]) => `${outcome} ${n}`);
  return parts.length ? parts.join(', ') : 'no records';
}

function printFollowed(io: Io, request: ReconcileRequest, followed: Followed): void {
  const what = followed.clusters
    ? `fanned out to ${followed.clusters.length} cluster(s), ${followed.done.length} done`
    : followed.complete
      ? 'done in one invocation'
      : 'no final answer yet';
  const verdict = followed.complete
    ? `finished in ${duration(followed.waitedMs)}`
    : `NOT finished after ${duration(followed.waitedMs)}`;
  println(
    io.stdout,
    `request ${followed.requestId} (${describeScope(request)}): ${what}; ${verdict} — ${outcomes(followed.outcomes)}; ` +
      `${followed.withProblems.length} with problems`,
  );
  if (!followed.complete && followed.pending.length > 0) {
    const shown = followed.pending.slice(0, 10).join(', ');
    const more = followed.pending.length > 10 ? ` and ${followed.pending.length - 10} more` : '';
    println(io.stdout, `still pending (not answered, or to be redelivered): ${shown}${more}`);
  }
  if (followed.problems.length > 0) {
    println(io.stdout);
    println(io.stdout, formatTable(followed.problems, ['step', 'target', 'outcome', 'reason']));
  }
}
