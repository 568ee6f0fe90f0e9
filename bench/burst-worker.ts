/**
 * One function instance taking a burst of Service audit events (bench/burst.ts starts it): the production app on
 * the real clients, pointed at the parent's local cloud, and in front of it a push delivery like Pub/Sub's: every
 * message is published at once, at most `outstanding` are delivered and not yet answered, a message whose
 * handler throws (the framework would answer 500) is delivered again after an exponential backoff.
 */
import { handleAuditLogEvent } from '../functions/audit';
import { serviceAuditEntry } from '../sandbox/audit/entries';
import { createApp } from '../shared/app';
import { createCloud } from '../shared/cloud';
import { type ConfigInput, parseConfig } from '../shared/config';
import { done, quietLogger, readyFor, sleep, workerInput } from './common';

export interface BurstWorkerInput {
  config: ConfigInput;
  project: string;
  location: string;
  namespace: string;
  /** Cluster name → the Services to send one event for. */
  services: Record<string, string[]>;
  outstanding: number;
  /** Pub/Sub's retry policy, scaled down: first and longest redelivery delay. */
  backoffMs: { min: number; max: number };
  /** Deliveries per message before it counts as dead-lettered. */
  maxDeliveries: number;
}

export interface BurstResult {
  messages: number;
  acked: number;
  deadLettered: number;
  /** Deliveries after the first (the handler threw: a transient failure left after in-process retries). */
  redeliveries: number;
  wallMs: number;
  maxRssMiB: number;
}

/** The CloudEvent functions-framework would pass for a developer's `kubectl label` on the Service. */
function toEvent(input: BurstWorkerInput, message: { cluster: string; name: string }, delivery: number) {
  const entry = serviceAuditEntry({
    verb: 'patch',
    cluster: { project: input.project, location: input.location, name: message.cluster },
    namespace: input.namespace,
    name: message.name,
    principal: 'developer@example.com',
  });
  const id = `${message.cluster}-${message.name}-${delivery}`;
  const time = new Date().toISOString();
  return {
    specversion: '1.0',
    id,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/projects/${input.project}/topics/spokefleet-audit`,
    time,
    data: {
      message: {
        data: Buffer.from(JSON.stringify(entry)).toString('base64'),
        messageId: id,
        publishTime: time,
        attributes: {},
      },
      subscription: `projects/${input.project}/subscriptions/eventarc-bench`,
    },
  };
}

async function main(): Promise<void> {
  const input = workerInput<BurstWorkerInput>();
  const config = parseConfig(input.config);
  const log = quietLogger('info');
  const app = createApp(config, { log, cloud: createCloud(config, log) });
  const messages = Object.entries(input.services).flatMap(([cluster, names]) =>
    names.map((name) => ({ cluster, name })),
  );
  // Interleave clusters, as audit entries from many clusters reach one topic.
  messages.sort((a, b) => a.name.localeCompare(b.name) || a.cluster.localeCompare(b.cluster));
  // Warm up on one event (client libraries load, channels connect): cold start is measured elsewhere.
  await handleAuditLogEvent(toEvent(input, messages[0], 0) as Parameters<typeof handleAuditLogEvent>[0], app);
  await readyFor('burst');
  const started = performance.now();
  const queue = messages.map((m) => ({ ...m, deliveries: 0 }));
  let acked = 0;
  let deadLettered = 0;
  let redeliveries = 0;
  let waiting = 0;
  const deliverOne = async (message: (typeof queue)[number]): Promise<void> => {
    message.deliveries++;
    const event = toEvent(input, message, message.deliveries);
    try {
      await handleAuditLogEvent(event as Parameters<typeof handleAuditLogEvent>[0], app);
      acked++;
    } catch {
      if (message.deliveries >= input.maxDeliveries) {
        deadLettered++;
        return;
      }
      redeliveries++;
      // Not acknowledged: Pub/Sub delivers it again after the backoff; the slot is free meanwhile.
      waiting++;
      const delay = Math.min(input.backoffMs.max, input.backoffMs.min * 2 ** (message.deliveries - 1));
      void sleep(delay).then(() => {
        waiting--;
        queue.push(message);
      });
    }
  };
  const lane = async () => {
    for (;;) {
      const message = queue.shift();
      if (message) await deliverOne(message);
      else if (waiting > 0) await sleep(10);
      else return;
    }
  };
  await Promise.all(Array.from({ length: input.outstanding }, lane));
  const result: BurstResult = {
    messages: messages.length,
    acked,
    deadLettered,
    redeliveries,
    wallMs: performance.now() - started,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  done(result);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
