/**
 * Pub/Sub `messagePublished` CloudEvents as the functions receive them. Two deliveries reach a function:
 *
 * (a) Eventarc (the sandbox's default): a binary-mode CloudEvent — ce-* headers, body
 *     `{message: {data, messageId, publishTime, attributes, …}, subscription}` — which functions-framework passes
 *     through with `data` = the parsed body.
 * (b) A raw Pub/Sub push (deployed: Terraform's push subscription per function; locally: the emulator's) to a URL
 *     containing `/projects/P/topics/T`, which
 *     functions-framework's legacy middleware turns into a CloudEvent: id = messageId, time = publishTime,
 *     source = `//pubsub.googleapis.com/projects/P/topics/T` (or `//pubsub.googleapis.com/` if the URL has no
 *     topic), data = `{message: {'@type': …PubsubMessage, data, attributes, messageId, publishTime}}` — the
 *     subscription is dropped. A push the middleware does not recognise arrives unconverted, without a type.
 *
 * Either way the result is the same decoded message; everything else is refused with a PermanentError.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { PermanentError } from '../errors';
import { isPlainObject, isTimestamp } from './validate';

export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
const PUBSUB_SOURCE_PREFIX = '//pubsub.googleapis.com/';
const TOPIC = /^projects\/[^/]+\/topics\/[^/]+$/;
const SUBSCRIPTION = /^projects\/[^/]+\/subscriptions\/[^/]+$/;
/** Pub/Sub's own limit on a message; anything bigger did not come from Pub/Sub. */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
const MAX_ID_LENGTH = 256;
/** Longer than any Pub/Sub subscription or topic name (a 255-character id in a 30-character project). */
const MAX_NAME_LENGTH = 512;

export interface PubsubMessage {
  /** Pub/Sub message id (= the CloudEvent id); the event id in every log line. */
  messageId: string;
  publishTime: string;
  attributes: Record<string, string>;
  data: Buffer;
  /** `projects/P/subscriptions/S`; only Eventarc delivery carries it. */
  subscription?: string;
  /** `projects/P/topics/T`, from the CloudEvent source. */
  topic?: string;
}

/**
 * `maxDataBytes` is the consumer's own limit on the decoded data (a LogEntry, a reconcile request): the encoded
 * length is checked against it before anything else looks at the data, so an oversized message costs one
 * comparison, never a scan.
 */
export function decodePubsubCloudEvent(
  event: CloudEvent<unknown>,
  maxDataBytes: number = MAX_MESSAGE_BYTES,
): PubsubMessage {
  const ce: unknown = event;
  if (!isPlainObject(ce))
    throw new PermanentError('the event is not a CloudEvent object', 'not-a-cloudevent');
  if (ce.type !== PUBSUB_MESSAGE_PUBLISHED) {
    throw new PermanentError(
      `CloudEvent type ${describe(ce.type)} is not ${PUBSUB_MESSAGE_PUBLISHED}`,
      'wrong-event-type',
    );
  }
  if (typeof ce.source !== 'string' || !ce.source.startsWith(PUBSUB_SOURCE_PREFIX)) {
    throw new PermanentError(`CloudEvent source ${describe(ce.source)} is not Pub/Sub`, 'wrong-event-source');
  }
  const topicName = ce.source.slice(PUBSUB_SOURCE_PREFIX.length);
  const topic = topicName.length <= MAX_NAME_LENGTH && TOPIC.test(topicName) ? topicName : undefined;

  const body = ce.data;
  if (!isPlainObject(body)) {
    throw new PermanentError(`CloudEvent data must be a JSON object, got ${kind(body)}`, 'data-not-object');
  }
  const message = body.message;
  if (!isPlainObject(message)) {
    throw new PermanentError(
      `CloudEvent data.message must be an object, got ${kind(message)}`,
      'message-not-object',
    );
  }

  // Pub/Sub push writes both spellings (messageId and message_id); the CloudEvent id is the same value.
  const messageId = firstString(message.messageId, message.message_id, ce.id);
  if (messageId === undefined || messageId.length === 0 || messageId.length > MAX_ID_LENGTH) {
    throw new PermanentError('the Pub/Sub message has no usable messageId', 'missing-message-id');
  }
  const publishTime = firstString(message.publishTime, message.publish_time, ce.time);
  if (!isTimestamp(publishTime)) {
    throw new PermanentError(
      `publishTime ${describe(publishTime)} is not an RFC 3339 time`,
      'invalid-publish-time',
    );
  }

  const attributes = message.attributes ?? {};
  if (!isPlainObject(attributes) || !Object.values(attributes).every((v) => typeof v === 'string')) {
    throw new PermanentError('message attributes must map strings to strings', 'invalid-attributes');
  }

  const encoded = message.data;
  if (typeof encoded !== 'string' || encoded.length === 0) {
    throw new PermanentError('the Pub/Sub message has no data', 'missing-data');
  }
  const limit = Math.min(maxDataBytes, MAX_MESSAGE_BYTES);
  if (encoded.length > Math.ceil(limit / 3) * 4) {
    throw new PermanentError(
      `the Pub/Sub message data is ${encoded.length} characters of base64, more than the ${limit} bytes accepted`,
      // The consumer's limit gives the reason its own parser would: one reason per cause in the logs.
      limit < MAX_MESSAGE_BYTES ? 'payload-too-large' : 'message-too-large',
    );
  }
  // Buffer.from(…, 'base64') silently skips junk, so check the alphabet first.
  if (!isBase64(encoded)) {
    throw new PermanentError('the Pub/Sub message data is not base64', 'data-not-base64');
  }

  const subscription =
    typeof body.subscription === 'string' &&
    body.subscription.length <= MAX_NAME_LENGTH &&
    SUBSCRIPTION.test(body.subscription)
      ? body.subscription
      : undefined;
  return {
    messageId,
    publishTime,
    attributes: { ...(attributes as Record<string, string>) },
    data: Buffer.from(encoded, 'base64'),
    ...(subscription ? { subscription } : {}),
    ...(topic ? { topic } : {}),
  };
}

/**
 * Standard base64 with padding, as proto3 JSON writes `bytes`: a flat scan by character code. A regular
 * expression with a repeated group over megabytes of input overflows V8's stack ("Maximum call stack size
 * exceeded") before it answers.
 */
export function isBase64(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const end = text.length - padding;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2b || // +
      c === 0x2f; // /
    if (!ok) return false;
  }
  return true;
}

function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string');
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'raw bytes';
  return typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`;
}

/** A short, safe rendering of a hostile value for an error message. */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : kind(value);
}
