/**
 * `spokefleet reconcile`: asks the deployed onReconcileRequest function to reconcile a scope, by publishing the
 * request to its topic. Against the sandbox: to the Pub/Sub emulator's reconcile topic when the
 * sandbox runs one, else straight to the function as the binary CloudEvent Eventarc would POST, waiting for its
 * answer (2xx: done or refused for good; 5xx: a transient failure Pub/Sub would redeliver).
 */
import type { PubSub } from '@google-cloud/pubsub';
import { CloudEventDelivery } from '../../sandbox/audit/delivery';
import type { ReconcileRequest } from '../../shared/events/request';
import { describeScope, UsageError } from '../args';
import { type Io, println } from '../io';
import { duration, EXIT_FAILURES, EXIT_OK, printJson } from '../output';
import { loadSandbox, type SandboxEndpoints, sandboxReconcileTopic } from '../sandbox';

export interface ReconcileArgs {
  request: ReconcileRequest;
  /** `projects/P/topics/T`; required unless --sandbox. */
  topic?: string;
  sandbox?: string;
  json: boolean;
}

interface Sent {
  via: 'pubsub' | 'emulator' | 'direct';
  topic: string;
  messageId: string;
  /** Direct delivery only: the function's HTTP answer. */
  httpStatus?: number | 'network-error';
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

/** One POST of the binary CloudEvent, with CloudEventDelivery's wire format and no redelivery. */
async function deliverDirect(
  sandbox: SandboxEndpoints,
  topic: string,
  data: Buffer,
): Promise<{ messageId: string; status: number | 'network-error' }> {
  const url = sandbox.functions.onReconcileRequest;
  if (!url) throw new UsageError(`${sandbox.file} has no functions.onReconcileRequest URL`);
  const delivery = new CloudEventDelivery({ url, topic, maxAttempts: 1 });
  const message = delivery.publish(data);
  await delivery.idle();
  return { messageId: message.messageId, status: delivery.attempts[0]?.status ?? 'network-error' };
}

export async function reconcileCommand(args: ReconcileArgs, io: Io): Promise<number> {
  const data = Buffer.from(JSON.stringify(args.request));
  const started = Date.now();
  let sent: Sent;
  if (args.sandbox) {
    const sandbox = loadSandbox(args.sandbox, io.cwd);
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

  const ok = sent.httpStatus === undefined || (typeof sent.httpStatus === 'number' && sent.httpStatus < 300);
  if (args.json) {
    printJson(io, { ...sent, requestId: args.request.requestId, request: args.request, ok });
  } else if (sent.via === 'direct') {
    const answer =
      sent.httpStatus === 'network-error'
        ? 'no answer (is the sandbox still running?)'
        : `HTTP ${sent.httpStatus}${ok ? '' : ' (a step failed transiently; Pub/Sub would redeliver this request)'}`;
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
  return ok ? EXIT_OK : EXIT_FAILURES;
}
