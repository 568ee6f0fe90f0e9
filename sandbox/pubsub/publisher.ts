/**
 * The publishing half of Pub/Sub — google.pubsub.v1.Publisher/Publish over gRPC, from the .proto that ships with
 * @google-cloud/pubsub — for the sandbox's embedded direct-delivery mode. The functions' own @google-cloud/pubsub
 * client publishes the fanned-out cluster requests here (`endpoints.pubsub`, no credentials, as against the
 * emulator); each message is handed to the topic's delivery, which POSTs it to the subscribed function as Pub/Sub's
 * push (through Eventarc) would. In `--pubsub` mode the real emulator plays this part instead.
 *
 * Rules, from the proto's comments (pubsub.proto, google.pubsub.v1):
 * - Publish "returns NOT_FOUND if the topic does not exist";
 * - a message with empty data must carry at least one attribute ("If this field is empty, the message must
 *   contain at least one attribute");
 * - message ids are assigned by the server, "in the same order as the messages in the request", unique within the
 *   topic; `message_id` and `publish_time` "must not be populated by the publisher".
 * Only Publish is served; other Publisher methods answer UNIMPLEMENTED (grpc-js does that for missing handlers).
 */
import path from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { newMessageId, type PublishedMessage } from '../audit/delivery';
import { faultError, StatusError } from '../container/status';
import type { FaultInjector } from '../faults';

const PUBLISHER = 'google.pubsub.v1.Publisher';
export const PUBLISH_METHOD = 'pubsub.topics.publish';

let cached: ServiceDefinition | undefined;

function publisherDefinition(): ServiceDefinition {
  if (!cached) {
    const gaxProtos = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos');
    const pubsubProtos = path.join(path.dirname(require.resolve('@google-cloud/pubsub')), '..', 'protos');
    const definition = loadSync(path.join(pubsubProtos, 'google', 'pubsub', 'v1', 'pubsub.proto'), {
      includeDirs: [pubsubProtos, gaxProtos],
      keepCase: false,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: false,
    });
    cached = definition[PUBLISHER] as ServiceDefinition;
  }
  return cached;
}

interface PublishRequest {
  topic?: string;
  messages?: Array<{ data?: Buffer; attributes?: Record<string, string>; messageId?: string }>;
}

export interface PublishStandInOptions {
  /** The delivery of a topic (`projects/P/topics/T`), or undefined when the topic does not exist. */
  topic(name: string): ((message: PublishedMessage) => void) | undefined;
  faults?: FaultInjector;
}

export interface PublishStandIn {
  /** `127.0.0.1:PORT`, for `endpoints.pubsub`. */
  host: string;
  /** Messages accepted, per topic. */
  readonly published: Map<string, number>;
  close(): Promise<void>;
}

export async function startPublishStandIn(options: PublishStandInOptions): Promise<PublishStandIn> {
  const published = new Map<string, number>();
  const publish = (call: ServerUnaryCall<PublishRequest, object>, callback: sendUnaryData<object>) => {
    void (async () => {
      const admission = await options.faults?.admit(PUBLISH_METHOD, 'write');
      try {
        if (admission?.fault) throw faultError(admission.fault);
        const { topic = '', messages = [] } = call.request;
        const deliver = options.topic(topic);
        if (!deliver) throw new StatusError(status.NOT_FOUND, `Resource not found (resource=${topic}).`);
        if (messages.length === 0) throw new StatusError(status.INVALID_ARGUMENT, 'No messages to publish.');
        for (const message of messages) {
          if ((message.data?.length ?? 0) === 0 && Object.keys(message.attributes ?? {}).length === 0)
            throw new StatusError(status.INVALID_ARGUMENT, 'A message must have data or attributes.');
        }
        const publishTime = new Date().toISOString();
        const ids = messages.map((message) => {
          const accepted: PublishedMessage = {
            messageId: newMessageId(),
            data: Buffer.from(message.data ?? Buffer.alloc(0)),
            attributes: message.attributes ?? {},
            publishTime,
          };
          deliver(accepted);
          return accepted.messageId;
        });
        published.set(topic, (published.get(topic) ?? 0) + ids.length);
        callback(null, { messageIds: ids });
      } catch (error) {
        callback(
          error instanceof StatusError
            ? { code: error.code, details: error.message }
            : { code: status.INTERNAL, details: String(error) },
        );
      } finally {
        admission?.release();
      }
    })();
  };
  const server = new Server();
  server.addService(publisherDefinition(), { Publish: publish } as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    host: `127.0.0.1:${port}`,
    published,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
