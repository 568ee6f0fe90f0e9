import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { decodePubsubCloudEvent } from '../../shared/events/cloudevent';
import { newMessage, newMessageId, postCloudEvent } from '../../shared/events/delivery';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/cloudevents', name), 'utf8'));

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('events/delivery: the CloudEvent a function receives from postCloudEvent', () => {
  // The real functions-framework decodes what was sent: the received event is the framework's reading of it.
  const received: functions.CloudEvent<unknown>[] = [];
  functions.cloudEvent('spokefleetDeliveryProbe', (event: functions.CloudEvent<unknown>) => {
    received.push(event);
  });
  let server: Server;
  let url: string;
  before(async () => {
    server = getTestServer('spokefleetDeliveryProbe');
    url = await listen(server);
  });
  after(() => close(server));
  beforeEach(() => {
    received.length = 0;
  });

  it("is exactly what Eventarc's binary-mode delivery hands the function", async () => {
    const eventarc = fixture('eventarc-binary.received.json');
    const { message } = eventarc.data;
    const status = await postCloudEvent(
      url,
      'projects/acme-spokes-prod/topics/spokefleet-audit',
      {
        messageId: message.messageId,
        publishTime: message.publishTime,
        attributes: message.attributes,
        data: Buffer.from(message.data, 'base64'),
      },
      eventarc.data.subscription,
    );
    assert.equal(status, 204);
    assert.equal(received.length, 1);
    assert.deepStrictEqual(received[0], eventarc);
  });

  it('a new message decodes back to its data, with the sandbox subscription of the topic’s project', async () => {
    const data = Buffer.from('{"kind":"fleet"}');
    const sent = newMessage(data, { origin: 'cli' });
    const status = await postCloudEvent(url, 'projects/demo-hub/topics/spokefleet-reconcile', sent);
    assert.equal(status, 204);
    assert.deepStrictEqual(decodePubsubCloudEvent(received[0]), {
      ...sent,
      topic: 'projects/demo-hub/topics/spokefleet-reconcile',
      subscription: 'projects/demo-hub/subscriptions/eventarc-sandbox',
    });
  });
});

describe('events/delivery: what postCloudEvent reports', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(close));
  });
  /** A server answering every request with `status` after `delayMs`. */
  const answering = (status: number, delayMs = 0) => {
    const server = createServer((request, response) => {
      request.resume();
      setTimeout(() => response.writeHead(status).end('{}'), delayMs);
    });
    servers.push(server);
    return listen(server);
  };
  const topic = 'projects/p/topics/t';

  it('the HTTP status, whatever it is: the caller decides what a non-2xx means', async () => {
    for (const status of [200, 429, 500]) {
      assert.equal(
        await postCloudEvent(await answering(status), topic, newMessage(Buffer.from('x'))),
        status,
      );
    }
  });

  it("'timeout' when no answer comes within timeoutMs; no limit without one", async () => {
    const slow = await answering(200, 300);
    assert.equal(await postCloudEvent(slow, topic, newMessage(Buffer.from('x')), undefined, 50), 'timeout');
    assert.equal(await postCloudEvent(slow, topic, newMessage(Buffer.from('x'))), 200);
  });

  it("'network-error' when nothing listens", async () => {
    const server = createServer();
    const url = await listen(server);
    await close(server);
    assert.equal(
      await postCloudEvent(url, topic, newMessage(Buffer.from('x')), undefined, 5000),
      'network-error',
    );
  });
});

describe('events/delivery: new messages', () => {
  it('ids are numeric, like Pub/Sub’s, and unique within the process', () => {
    const ids = Array.from({ length: 2000 }, () => newMessageId());
    for (const id of ids) assert.match(id, /^\d+$/);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('a message is published now, with no attributes unless given', () => {
    const before = Date.now();
    const message = newMessage(Buffer.from('x'));
    const published = Date.parse(message.publishTime);
    assert.ok(published >= before && published <= Date.now(), message.publishTime);
    assert.deepStrictEqual(message.attributes, {});
    assert.deepStrictEqual(message.data, Buffer.from('x'));
  });
});
