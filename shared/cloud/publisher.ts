/**
 * RequestPublisher on @google-cloud/pubsub: JSON messages to the reconcile topic, batched by the library (one
 * Publish RPC carries up to 100 messages). The library's own retries are off (`retry: null`) and each batch carries
 * the call timeout of shared/calls — min(time left in the invocation, the cap) — so a hung Pub/Sub cannot hold the
 * invocation; the fan-out retries what failed. With `endpoints.pubsub` (local runs) the client talks to the Pub/Sub
 * emulator or the sandbox's publish stand-in without credentials; the library also honours PUBSUB_EMULATOR_HOST.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { CallTimeoutError, callTimeoutMs, isTimeoutError } from '../calls';
import type { PublishOutcome, RequestPublisher } from './ports';

export const PUBLISH_CALL = 'pubsub.topics.publish';

export class PubsubPublisher implements RequestPublisher {
  constructor(
    readonly topic: string,
    private readonly pubsub: () => PubSub,
    private readonly capMs: number,
  ) {}

  async publish(requests: readonly object[]): Promise<PublishOutcome[]> {
    let timeout: number;
    try {
      timeout = callTimeoutMs(PUBLISH_CALL, this.capMs);
    } catch (error) {
      return requests.map(() => ({ error }));
    }
    // A Topic object per call: its options carry this call's timeout. It shares the client's channel.
    const topic: Topic = this.pubsub().topic(this.topic, {
      batching: { maxMessages: 100, maxMilliseconds: 10 },
      gaxOpts: { timeout, retry: null },
    });
    const started = performance.now();
    const settled = await Promise.allSettled(requests.map((json) => topic.publishMessage({ json })));
    const tookItAll = performance.now() - started >= timeout * 0.9;
    return settled.map((result) =>
      result.status === 'fulfilled'
        ? { messageId: result.value }
        : {
            error:
              tookItAll && isTimeoutError(result.reason)
                ? new CallTimeoutError(PUBLISH_CALL, timeout, { cause: result.reason })
                : result.reason,
          },
    );
  }
}

/** The client for `topic`: Application Default Credentials, or the loopback emulator of `emulatorHost`. */
export function pubsubClient(topic: string, emulatorHost?: string): () => PubSub {
  let client: PubSub | undefined;
  return () => {
    if (!client) {
      const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
      const projectId = topic.split('/')[1];
      client = emulatorHost
        ? new PubSub({ projectId, apiEndpoint: emulatorHost, emulatorMode: true })
        : new PubSub({ projectId });
    }
    return client;
  };
}
