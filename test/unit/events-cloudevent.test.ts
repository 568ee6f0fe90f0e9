import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import fc from 'fast-check';
import sinon from 'sinon';
import { PermanentError } from '../../shared/errors';
import { MAX_LOG_ENTRY_BYTES } from '../../shared/events/audit';
import { decodePubsubCloudEvent, isBase64, type PubsubMessage } from '../../shared/events/cloudevent';
import { MAX_REQUEST_BYTES } from '../../shared/events/request';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/cloudevents', name), 'utf8'));

interface HttpFixture {
  path?: string;
  headers?: Record<string, string>;
  body: unknown;
}

describe('events/cloudevent: what functions-framework hands the function', () => {
  // A throwaway function registered with the real framework: the received CloudEvents are the framework's
  // own conversion of each delivery, not our idea of it.
  const received: functions.CloudEvent<unknown>[] = [];
  functions.cloudEvent('spokefleetEventsProbe', (event: functions.CloudEvent<unknown>) => {
    received.push(event);
  });
  let server: Server;
  let base: string;

  before(async () => {
    server = getTestServer('spokefleetEventsProbe');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = async (http: HttpFixture) => {
    received.length = 0;
    const response = await fetch(`${base}${http.path ?? '/'}`, {
      method: 'POST',
      headers: http.headers ?? { 'content-type': 'application/json' },
      body: JSON.stringify(http.body),
    });
    assert.equal(response.status, 204);
    assert.equal(received.length, 1);
    return received[0];
  };

  const deliveries = [
    {
      name: 'Eventarc binary mode',
      http: 'eventarc-binary.http.json',
      event: 'eventarc-binary.received.json',
    },
    {
      name: 'raw Pub/Sub push (emulator)',
      http: 'pubsub-push.http.json',
      event: 'pubsub-push.received.json',
    },
    {
      name: 'reconcile request via Eventarc',
      http: 'reconcile-fleet.http.json',
      event: 'reconcile-fleet.received.json',
    },
  ];
  for (const d of deliveries) {
    it(`${d.name}: the framework delivers exactly ${d.event}`, async () => {
      assert.deepStrictEqual(await post(fixture(d.http)), fixture(d.event));
    });
  }

  it('a push the legacy middleware does not recognise (no messageId) arrives unconverted and is refused', async () => {
    const http: HttpFixture = fixture('pubsub-push.http.json');
    const body = http.body as { message: Record<string, unknown> };
    delete body.message.messageId;
    const event = await post(http);
    assert.equal(event.type, undefined);
    assert.throws(() => decodePubsubCloudEvent(event), reason('wrong-event-type'));
  });

  it('a push to a URL without /projects/P/topics/T decodes without a topic', async () => {
    const http: HttpFixture = { ...fixture('pubsub-push.http.json'), path: '/' };
    // The framework warns about the path on the console; keep the test output clean.
    const warn = sinon.stub(console, 'warn');
    try {
      const event = await post(http);
      assert.equal(event.source, '//pubsub.googleapis.com/');
      const message = decodePubsubCloudEvent(event);
      assert.equal(message.topic, undefined);
      assert.equal(message.messageId, '12938475061830112');
      assert.ok(warn.called);
    } finally {
      warn.restore();
    }
  });
});

describe('events/cloudevent: decodePubsubCloudEvent', () => {
  const eventarc = fixture('eventarc-binary.received.json');
  const push = fixture('pubsub-push.received.json');
  const logEntry = (name: string) =>
    Buffer.from(
      JSON.stringify(JSON.parse(readFileSync(join(__dirname, '../fixtures/audit', name), 'utf8'))),
      'utf8',
    );

  const valid: Array<{ name: string; event: unknown; expected: PubsubMessage }> = [
    {
      name: 'Eventarc delivery keeps the subscription and the topic',
      event: eventarc,
      expected: {
        messageId: '12938475061829374',
        publishTime: '2024-12-05T15:37:15.321Z',
        attributes: { 'logging.googleapis.com/timestamp': '2024-12-05T15:37:13.512347915Z' },
        data: logEntry('create-cluster-v1-last-zonal.json'),
        subscription: 'projects/acme-spokes-prod/subscriptions/eventarc-us-east4-spokefleet-audit-419',
        topic: 'projects/acme-spokes-prod/topics/spokefleet-audit',
      },
    },
    {
      name: 'a converted push has a topic but no subscription',
      event: push,
      expected: {
        messageId: '12938475061830112',
        publishTime: '2024-12-06T11:07:53.118Z',
        attributes: { 'logging.googleapis.com/timestamp': '2024-12-06T11:07:44.902117Z' },
        data: logEntry('k8s-service-patch.json'),
        topic: 'projects/acme-spokes-prod/topics/spokefleet-audit',
      },
    },
    {
      name: 'snake_case ids (message_id, publish_time) and no attributes',
      event: withMessage(eventarc, (m) => {
        delete m.messageId;
        delete m.publishTime;
        delete m.attributes;
      }),
      expected: {
        messageId: '12938475061829374',
        publishTime: '2024-12-05T15:37:15.321Z',
        attributes: {},
        data: logEntry('create-cluster-v1-last-zonal.json'),
        subscription: 'projects/acme-spokes-prod/subscriptions/eventarc-us-east4-spokefleet-audit-419',
        topic: 'projects/acme-spokes-prod/topics/spokefleet-audit',
      },
    },
    {
      name: 'a 256-character message id',
      event: withMessage({ ...eventarc, id: undefined }, (m) => {
        m.messageId = '1'.repeat(256);
      }),
      expected: {
        messageId: '1'.repeat(256),
        publishTime: '2024-12-05T15:37:15.321Z',
        attributes: { 'logging.googleapis.com/timestamp': '2024-12-05T15:37:13.512347915Z' },
        data: logEntry('create-cluster-v1-last-zonal.json'),
        subscription: 'projects/acme-spokes-prod/subscriptions/eventarc-us-east4-spokefleet-audit-419',
        topic: 'projects/acme-spokes-prod/topics/spokefleet-audit',
      },
    },
  ];
  for (const c of valid) {
    it(c.name, () => {
      assert.deepStrictEqual(decodePubsubCloudEvent(c.event as functions.CloudEvent<unknown>), c.expected);
    });
  }

  const invalid: Array<{
    name: string;
    event: unknown;
    reason: string /** What the message must say. */;
    says?: string;
  }> = [
    { name: 'null instead of an event', event: null, reason: 'not-a-cloudevent' },
    { name: 'a string instead of an event', event: 'hello', reason: 'not-a-cloudevent' },
    { name: 'an array instead of an event', event: [eventarc], reason: 'not-a-cloudevent' },
    {
      name: 'a Cloud Storage event',
      event: { ...eventarc, type: 'google.cloud.storage.object.v1.finalized' },
      reason: 'wrong-event-type',
      says: 'CloudEvent type "google.cloud.storage.object.v1.finalized" is not google.cloud.pubsub.topic.v1.messagePublished',
    },
    {
      name: 'the legacy background type',
      event: { ...eventarc, type: 'google.pubsub.topic.publish' },
      reason: 'wrong-event-type',
    },
    {
      name: 'no type at all',
      event: { ...eventarc, type: undefined },
      reason: 'wrong-event-type',
    },
    {
      name: 'a source that is not Pub/Sub',
      event: { ...eventarc, source: '//storage.googleapis.com/projects/_/buckets/b' },
      reason: 'wrong-event-source',
      says: '"//storage.googleapis.com/projects/_/buckets/b" is not Pub/Sub',
    },
    {
      name: 'data is a string (text/plain body)',
      event: { ...eventarc, data: 'eyJ9' },
      reason: 'data-not-object',
      says: 'got a string',
    },
    {
      name: 'data is raw bytes',
      event: { ...eventarc, data: Buffer.from('{}') },
      reason: 'data-not-object',
      says: 'got raw bytes',
    },
    {
      name: 'data is an array',
      event: { ...eventarc, data: [eventarc.data] },
      reason: 'data-not-object',
      says: 'got an array',
    },
    { name: 'data is missing', event: { ...eventarc, data: undefined }, reason: 'data-not-object' },
    {
      name: 'data.message is missing',
      event: { ...eventarc, data: { subscription: 'x' } },
      reason: 'message-not-object',
    },
    {
      name: 'data.message is a string',
      event: { ...eventarc, data: { message: 'eyJ9' } },
      reason: 'message-not-object',
      says: 'data.message must be an object, got a string',
    },
    {
      name: 'message data is not base64',
      event: withMessage(eventarc, (m) => {
        m.data = '{"protoPayload":{}}';
      }),
      reason: 'data-not-base64',
    },
    {
      name: 'message data is base64 with junk appended',
      event: withMessage(eventarc, (m) => {
        m.data = `${m.data}*`;
      }),
      reason: 'data-not-base64',
    },
    {
      name: 'message data is empty',
      event: withMessage(eventarc, (m) => {
        m.data = '';
      }),
      reason: 'missing-data',
    },
    {
      name: 'message data is a number',
      event: withMessage(eventarc, (m) => {
        m.data = 42;
      }),
      reason: 'missing-data',
    },
    {
      name: 'message data larger than Pub/Sub allows',
      event: withMessage(eventarc, (m) => {
        m.data = 'A'.repeat(14 * 1024 * 1024);
      }),
      reason: 'message-too-large',
      says: '14680064 characters of base64, more than the 10485760 bytes accepted',
    },
    {
      name: 'no message id anywhere',
      event: withMessage({ ...eventarc, id: undefined }, (m) => {
        delete m.messageId;
        delete m.message_id;
      }),
      reason: 'missing-message-id',
    },
    {
      name: 'a message id that is an object',
      event: withMessage({ ...eventarc, id: { $gt: '' } }, (m) => {
        m.messageId = { $gt: '' };
        delete m.message_id;
      }),
      reason: 'missing-message-id',
    },
    {
      name: 'a publish time that is not a time',
      event: withMessage(eventarc, (m) => {
        m.publishTime = 'yesterday';
      }),
      reason: 'invalid-publish-time',
      says: 'publishTime "yesterday"',
    },
    {
      name: 'attributes with a non-string value',
      event: withMessage(eventarc, (m) => {
        m.attributes = { retries: 3 };
      }),
      reason: 'invalid-attributes',
    },
    {
      name: 'attributes as an array',
      event: withMessage(eventarc, (m) => {
        m.attributes = ['a'];
      }),
      reason: 'invalid-attributes',
    },
    {
      name: 'a source that is not a string',
      event: { ...eventarc, source: 42 },
      reason: 'wrong-event-source',
      says: 'CloudEvent source a number',
    },
    { name: 'data is null', event: { ...eventarc, data: null }, reason: 'data-not-object', says: 'got null' },
    {
      name: 'data.message is a Map',
      event: { ...eventarc, data: { message: new Map() } },
      reason: 'message-not-object',
      says: 'got a non-plain object',
    },
    {
      name: 'an empty message id',
      event: withMessage({ ...eventarc, id: '' }, (m) => {
        m.messageId = '';
        m.message_id = '';
      }),
      reason: 'missing-message-id',
    },
    {
      name: 'a 257-character message id',
      event: withMessage(eventarc, (m) => {
        m.messageId = '1'.repeat(257);
      }),
      reason: 'missing-message-id',
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => decodePubsubCloudEvent(c.event as functions.CloudEvent<unknown>),
        reason(c.reason, c.says),
      );
    });
  }
});

describe('events/cloudevent: topic and subscription are kept only when they are names', () => {
  const eventarc = fixture('eventarc-binary.received.json');
  const decoded = (event: unknown) => decodePubsubCloudEvent(event as functions.CloudEvent<unknown>);
  const topicOf = (name: string) => decoded({ ...eventarc, source: `//pubsub.googleapis.com/${name}` }).topic;
  const subscriptionOf = (subscription: unknown) =>
    decoded({ ...eventarc, data: { ...eventarc.data, subscription } }).subscription;

  it('topic', () => {
    const at512 = `projects/p/topics/${'t'.repeat(494)}`;
    assert.equal(at512.length, 512);
    assert.equal(topicOf(at512), at512);
    assert.equal(topicOf(`${at512}t`), undefined);
    assert.equal(topicOf('spokefleet-audit'), undefined);
    assert.equal(topicOf('projects/p/subscriptions/s'), undefined);
  });

  it('subscription', () => {
    const at512 = `projects/p/subscriptions/${'s'.repeat(487)}`;
    assert.equal(at512.length, 512);
    assert.equal(subscriptionOf(at512), at512);
    assert.equal(subscriptionOf(`${at512}s`), undefined);
    assert.equal(subscriptionOf('eventarc-sandbox'), undefined);
    // An array's string form would match the pattern.
    assert.equal(subscriptionOf(['projects/p/subscriptions/s']), undefined);
  });

  it('a hostile type is quoted cut to 100 characters', () => {
    const type = `google.cloud.pubsub.${'x'.repeat(300)}`;
    assert.throws(
      () => decoded({ ...eventarc, type }),
      (error: unknown) => {
        assert.ok(error instanceof PermanentError);
        assert.ok(error.message.includes(`${JSON.stringify(type.slice(0, 100))} is not`), error.message);
        return true;
      },
    );
  });
});

describe('events/cloudevent: size before parsing', () => {
  const eventarc = fixture('eventarc-binary.received.json');
  const withData = (data: string) =>
    withMessage(eventarc, (m) => {
      m.data = data;
    }) as functions.CloudEvent<unknown>;
  /** 8 MiB of valid base64: within Pub/Sub's limit, far over any consumer's. */
  const eightMiB = Buffer.alloc(6 * 1024 * 1024, 7).toString('base64');

  it("8 MiB of base64 decodes without overflowing the stack (a regular expression's repeated group did)", () => {
    assert.equal(eightMiB.length, 8 * 1024 * 1024);
    const message = decodePubsubCloudEvent(withData(eightMiB));
    assert.equal(message.data.length, 6 * 1024 * 1024);
  });

  it("the consumer's limit is checked on the encoded length first: payload-too-large, at once", () => {
    for (const limit of [MAX_LOG_ENTRY_BYTES, MAX_REQUEST_BYTES]) {
      const started = performance.now();
      assert.throws(() => decodePubsubCloudEvent(withData(eightMiB), limit), reason('payload-too-large'));
      // Not even the alphabet scan runs: junk of the same length gets the same answer.
      assert.throws(
        () => decodePubsubCloudEvent(withData('*'.repeat(eightMiB.length)), limit),
        reason('payload-too-large'),
      );
      assert.ok(performance.now() - started < 100, `${Math.round(performance.now() - started)} ms`);
    }
    // Exactly at the limit is still accepted.
    const atLimit = Buffer.alloc(MAX_REQUEST_BYTES, 1).toString('base64');
    assert.equal(decodePubsubCloudEvent(withData(atLimit), MAX_REQUEST_BYTES).data.length, MAX_REQUEST_BYTES);
  });

  it('the base64 scan accepts exactly what padded standard base64 is', () => {
    const PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    const alphabet = fc.constantFrom(...'ABCxyz019+/=-_ *\n{~é'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 24 }), (text) => {
        assert.equal(isBase64(text), PADDED.test(text), JSON.stringify(text));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.equal(isBase64(Buffer.from(bytes).toString('base64')), true);
      }),
    );
  });
});

function withMessage(event: Record<string, unknown>, mutate: (message: Record<string, unknown>) => void) {
  const copy = structuredClone(event) as { data: { message: Record<string, unknown> } };
  mutate(copy.data.message);
  return copy;
}

function reason(expected: string, says?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PermanentError, `expected a PermanentError, got ${error}`);
    assert.equal(error.reason, expected);
    if (says !== undefined) assert.ok(error.message.includes(says), `${error.message} does not say ${says}`);
    return true;
  };
}
