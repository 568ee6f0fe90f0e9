import type { CloudEvent } from '@google-cloud/functions-framework';
import type { App } from '../shared/app';
import { auditEventFromCloudEvent } from '../shared/events';
import { ackOrRetry } from './ack';

/** onAuditLogEvent: Pub/Sub message → LogEntry → domain event → the reconcile engine. */
export async function handleAuditLogEvent(event: CloudEvent<unknown>, app: App): Promise<void> {
  const log = app.log.child({ eventId: event.id });
  await ackOrRetry(log, async () => {
    await app.onAuditEvent(auditEventFromCloudEvent(event), log);
  });
}
