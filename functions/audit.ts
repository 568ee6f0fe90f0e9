import type { CloudEvent } from '@google-cloud/functions-framework';
import type { App } from '../shared/app';
import { decodePubsubCloudEvent, parseLogEntry, routeAuditEntry } from '../shared/events';
import { ackOrRetry } from './ack';

/** onAuditLogEvent: Pub/Sub message → LogEntry → domain event → the reconcile engine. */
export async function handleAuditLogEvent(event: CloudEvent<unknown>, app: App): Promise<void> {
  const log = app.log.child({ eventId: event.id });
  await ackOrRetry(log, async () => {
    const message = decodePubsubCloudEvent(event);
    const entry = parseLogEntry(message.data);
    const domainEvent = routeAuditEntry(entry, {
      eventId: message.messageId,
      publishTime: message.publishTime,
    });
    await app.onAuditEvent(domainEvent, log);
  });
}
