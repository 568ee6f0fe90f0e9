import type { CloudEvent } from '@google-cloud/functions-framework';
import type { App } from '../shared/app';
import { reconcileRequestFromCloudEvent } from '../shared/events';
import { ackOrRetry } from './ack';

/** onReconcileRequest: Pub/Sub message → validated request → reconcile its clusters. */
export async function handleReconcileRequest(event: CloudEvent<unknown>, app: App): Promise<void> {
  const log = app.log.child({ eventId: event.id });
  await ackOrRetry(log, async () => {
    const request = reconcileRequestFromCloudEvent(event);
    await app.onReconcileRequest(
      request,
      log.child(request.requestId ? { requestId: request.requestId } : {}),
    );
  });
}
