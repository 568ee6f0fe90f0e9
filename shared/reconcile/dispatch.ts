/**
 * Turns a routed audit event into work: ignores what is not ours, too old, or caused by the
 * automation itself, and runs the matching handler. The result is the event's action records.
 */
import { TransientError } from '../errors';
import type { DomainEvent } from '../events/types';
import type { ActionRecord } from './action';
import { offboardCluster, reconcileCluster } from './cluster';
import type { ReconcileContext } from './context';
import { reconcileService } from './service';

export async function handleDomainEvent(
  ctx: ReconcileContext,
  event: DomainEvent,
  now = Date.now(),
): Promise<ActionRecord[]> {
  if (event.kind === 'Ignored') {
    ctx.log.debug('event ignored', { reason: event.reason });
    return [];
  }
  const ageSeconds = event.time ? (now - Date.parse(event.time)) / 1000 : 0;
  if (ageSeconds > ctx.config.maxEventAgeSeconds) {
    ctx.log.info('event older than maxEventAgeSeconds; acknowledged, the periodic reconcile covers it', {
      reason: 'too-old',
      ageSeconds: Math.round(ageSeconds),
    });
    return [];
  }
  switch (event.kind) {
    case 'ClusterReady':
      return reconcileCluster(ctx, event.cluster);
    case 'ClusterDeleted':
      return offboardCluster(ctx, event.cluster);
    case 'ServiceChanged':
    case 'ServiceDeleted':
      // Loop safety: the automation never writes Services, but a Service write under its identity is never acted on.
      if (event.principal && ctx.config.selfPrincipals.includes(event.principal)) {
        ctx.log.debug('event caused by Spokefleet itself; ignored', { reason: 'self-principal' });
        return [];
      }
      return reconcileService(ctx, event.cluster, event.namespace, event.service);
  }
}

/**
 * After every step ran: if any failed for a transient reason, the event must come back (Pub/Sub redelivery), and
 * idempotence makes the redelivery redo only what is still missing.
 */
export function throwIfRetryable(records: readonly ActionRecord[]): void {
  const retryable = records.filter((r) => r.outcome === 'failed' && r.retryable);
  if (retryable.length > 0) {
    throw new TransientError(
      `${retryable.length} step(s) failed transiently: ${retryable.map((r) => `${r.step} ${r.target}`).join(', ')}`,
      'transient-steps',
    );
  }
}
