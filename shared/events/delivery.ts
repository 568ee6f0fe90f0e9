/**
 * Sending the binary-mode CloudEvent that Eventarc POSTs for a Pub/Sub message (delivery (a) of cloudevent.ts):
 * the sandbox's Eventarc-style delivery sends it, and `spokefleet reconcile` sends it straight to a function's URL
 * when there is no Pub/Sub in between (the sandbox without the emulator).
 */
import { randomBytes } from 'node:crypto';
import { PUBSUB_MESSAGE_PUBLISHED } from './cloudevent';

export interface PublishedMessage {
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: string;
}

/** The body of a Pub/Sub push (and of Eventarc's binary-mode delivery), with both field spellings Pub/Sub sends. */
export function pushBody(message: PublishedMessage, subscription: string) {
  return {
    message: {
      data: message.data.toString('base64'),
      messageId: message.messageId,
      message_id: message.messageId,
      publishTime: message.publishTime,
      publish_time: message.publishTime,
      attributes: message.attributes,
    },
    subscription,
  };
}

let counter = 0;
/** A numeric id, unique in this process, shaped like Pub/Sub's. */
export function newMessageId(): string {
  counter++;
  return `${Date.now()}${String(counter).padStart(4, '0')}${randomBytes(2).readUInt16BE(0)}`;
}

/** A message of `data`, published now. */
export function newMessage(data: Buffer, attributes: Record<string, string> = {}): PublishedMessage {
  return { messageId: newMessageId(), data, attributes, publishTime: new Date().toISOString() };
}

/**
 * One POST of the CloudEvent for `message` published on `topic` (`projects/P/topics/T`); the HTTP status,
 * 'network-error' when nothing answered, or 'timeout' when no answer came within `timeoutMs` (a push
 * subscription's request timeout). No retry: the caller decides what a non-2xx means.
 */
export async function postCloudEvent(
  url: string,
  topic: string,
  message: PublishedMessage,
  subscription = `projects/${topic.split('/')[1]}/subscriptions/eventarc-sandbox`,
  timeoutMs?: number,
): Promise<number | 'network-error' | 'timeout'> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': PUBSUB_MESSAGE_PUBLISHED,
        'ce-source': `//pubsub.googleapis.com/${topic}`,
        'ce-id': message.messageId,
        'ce-time': message.publishTime,
      },
      body: JSON.stringify(pushBody(message, subscription)),
      ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
    });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'network-error';
  }
}
