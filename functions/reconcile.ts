import type { CloudEvent } from '@google-cloud/functions-framework';
import type { App } from '../shared/app';
import { reconcileRequestFromCloudEvent } from '../shared/events';
import { ackOrRetry } from './ack';

/**
 * onReconcileRequest: Pub/Sub message → validated request → reconcile its clusters, or publish one cluster request
 * per cluster (fan-out). A request without a requestId (Cloud Scheduler's) gets `message-<Pub/Sub message id>`, the
 * same on every redelivery, so its log lines and its fanned-out cluster requests can be followed as one.
 */
export async function handleReconcileRequest(event: CloudEvent<unknown>, app: App): Promise<void> {
  const log = app.log.child({ eventId: event.id });
  await ackOrRetry(log, async () => {
    const { eventId, ...request } = reconcileRequestFromCloudEvent(event);
    const requestId = request.requestId ?? `message-${eventId}`;
    await app.onReconcileRequest({ ...request, requestId }, log.child({ requestId }));
  });
}
