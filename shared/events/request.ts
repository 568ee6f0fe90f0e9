/**
 * Reconcile requests (`onReconcileRequest`): published by the CLI, by Cloud Scheduler for periodic
 * drift repair, or by hand with `gcloud pubsub topics publish`. Strict: an unknown key is more likely a typo
 * ("dryrun") than something to ignore, and ignoring it could turn a dry run into a real one.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { PermanentError } from '../errors';
import { decodePubsubCloudEvent } from './cloudevent';
import { PATTERNS, parseJsonObject } from './validate';

export const MAX_REQUEST_BYTES = 16 * 1024;

const project = z.string().regex(PATTERNS.projectId, 'must be a Google Cloud project id');
const location = z
  .string()
  .max(63)
  .regex(PATTERNS.location, 'must be a zone or region, e.g. us-east4 or us-east4-a');
const cluster = z.string().regex(PATTERNS.clusterName, 'must be a GKE cluster name');
const options = {
  dryRun: z.boolean().optional(),
  /** Correlates the request with its log lines; printable ASCII. */
  requestId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')
    .optional(),
};

export const reconcileRequestSchema = z.discriminatedUnion('scope', [
  z.strictObject({
    scope: z.literal('cluster'),
    project,
    location,
    cluster,
    ...options,
    /**
     * Set by a fan-out on the requests of member clusters: the parent request reconciles their ServiceExports
     * (against one fleet-wide view, once per request), so this one leaves them alone.
     */
    exportsByParent: z.literal(true).optional(),
  }),
  z.strictObject({ scope: z.literal('project'), project, ...options }),
  z.strictObject({ scope: z.literal('fleet'), ...options }),
]);

export type ReconcileRequest = z.output<typeof reconcileRequestSchema>;

/** Message bytes → a ReconcileRequest, or a PermanentError that lists every problem found. */
export function parseReconcileRequest(data: Buffer): ReconcileRequest {
  const json = parseJsonObject(data, { maxBytes: MAX_REQUEST_BYTES, maxDepth: 4, what: 'reconcile request' });
  const result = reconcileRequestSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`);
    throw new PermanentError(
      `invalid reconcile request: ${problems.join('; ')}`,
      'invalid-reconcile-request',
    );
  }
  return result.data;
}

/** The whole input path of `onReconcileRequest`. */
export function reconcileRequestFromCloudEvent(
  event: CloudEvent<unknown>,
): ReconcileRequest & { eventId: string } {
  const message = decodePubsubCloudEvent(event, MAX_REQUEST_BYTES);
  return { ...parseReconcileRequest(message.data), eventId: message.messageId };
}
