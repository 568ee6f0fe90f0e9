/**
 * Eventarc-style delivery, the sandbox's embedded default: each message is POSTed to a function as a binary-mode
 * CloudEvent of type google.cloud.pubsub.topic.v1.messagePublished, exactly as the Pub/Sub trigger of a Cloud Run
 * function receives it. Like Pub/Sub, a non-2xx answer means "not acknowledged": the message is delivered again
 * after a backoff, up to `maxAttempts`, then kept in `deadLettered`.
 */
import { newMessageId, type PublishedMessage, postCloudEvent } from '../../shared/events/delivery';
import type { LogEntry } from '../../shared/events/types';

export { newMessageId, type PublishedMessage, pushBody } from '../../shared/events/delivery';

import type { AuditSink } from './sink';

export interface DeliveryOptions {
  /** The function's URL (functions-framework serves it at `/`). */
  url: string;
  /** `projects/P/topics/T` — becomes the CloudEvent source, as Eventarc sets it. */
  topic: string;
  subscription?: string;
  maxAttempts?: number;
  /** First redelivery delay; doubles per attempt (Pub/Sub retry policy, scaled down for a laptop). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * The push request's deadline (a push subscription's ack deadline, the function's timeout): an answer that has
   * not come by then is a failed attempt (`timedOut`), as when Cloud Run kills an invocation at its timeout.
   */
  requestTimeoutMs?: number;
  /** Called after every attempt, for logs and tests. */
  onAttempt?: (attempt: DeliveryAttempt) => void;
  /**
   * Most deliveries awaiting the function's answer at once (the rest wait their turn), like a push subscription
   * whose endpoint runs a bounded number of instances; default unbounded.
   */
  maxInFlight?: number;
}

export interface DeliveryAttempt {
  messageId: string;
  attempt: number;
  status: number | 'network-error';
  acked: boolean;
  /** No answer within `requestTimeoutMs` (status 'network-error'). */
  timedOut?: boolean;
  /** From the POST to the answer (or the request timeout). */
  durationMs: number;
  /** When the attempt started (epoch ms). */
  startedAt: number;
  /** When the POST went out: later than `startedAt` when it waited for a free slot (`maxInFlight`). */
  postedAt: number;
}

export class CloudEventDelivery implements AuditSink {
  readonly attempts: DeliveryAttempt[] = [];
  readonly deadLettered: PublishedMessage[] = [];
  private readonly pending = new Set<Promise<void>>();
  private paused = false;
  private readonly held: PublishedMessage[] = [];
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: DeliveryOptions) {}

  emit(entry: LogEntry): void {
    this.publish(Buffer.from(JSON.stringify(entry)));
  }

  /** Publishes raw message data (a reconcile request, or hostile bytes in tests). */
  publish(data: Buffer, attributes: Record<string, string> = {}): PublishedMessage {
    return this.accept({
      messageId: newMessageId(),
      data,
      attributes,
      publishTime: new Date().toISOString(),
    });
  }

  /** Delivers a message published elsewhere (the sandbox's Publish stand-in assigns its id). */
  accept(message: PublishedMessage): PublishedMessage {
    if (this.paused) this.held.push(message);
    else this.track(this.deliver(message));
    return message;
  }

  /** Delivers an already published message again (duplicate delivery, as Pub/Sub may do). */
  redeliver(message: PublishedMessage): void {
    this.track(this.deliver(message));
  }

  /** Holds new messages until `resume` (tests use it to reorder deliveries). */
  pause(): void {
    this.paused = true;
  }

  resume(order: (held: PublishedMessage[]) => PublishedMessage[] = (h) => h): void {
    this.paused = false;
    for (const message of order(this.held.splice(0))) this.track(this.deliver(message));
  }

  /** Resolves when every delivery in flight (including redeliveries) has settled. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  private async deliver(message: PublishedMessage): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let delay = this.options.backoffMs ?? 50;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const startedAt = Date.now();
      const [answer, postedAt] = await this.post(message);
      const status = answer === 'timeout' ? 'network-error' : answer;
      const acked = typeof status === 'number' && status >= 200 && status < 300;
      const record = {
        messageId: message.messageId,
        attempt,
        status,
        acked,
        durationMs: Date.now() - startedAt,
        startedAt,
        postedAt,
        ...(answer === 'timeout' ? { timedOut: true } : {}),
      };
      this.attempts.push(record);
      this.options.onAttempt?.(record);
      if (acked) return;
      if (attempt < maxAttempts) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(this.options.maxBackoffMs ?? 2_000, delay * 2);
      }
    }
    this.deadLettered.push(message);
  }

  private async post(message: PublishedMessage): Promise<[DeliveryAttempt['status'] | 'timeout', number]> {
    const limit = this.options.maxInFlight ?? Number.POSITIVE_INFINITY;
    while (this.inFlight >= limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    const postedAt = Date.now();
    try {
      return [await this.postNow(message), postedAt];
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private postNow(message: PublishedMessage): Promise<DeliveryAttempt['status'] | 'timeout'> {
    return postCloudEvent(
      this.options.url,
      this.options.topic,
      message,
      this.options.subscription,
      this.options.requestTimeoutMs,
    );
  }
}
