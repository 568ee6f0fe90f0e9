/**
 * The one place that maps a handler's failure to Pub/Sub's delivery contract:
 * - Permanent (bad input, 400/403/404, policy refusal): one structured line with the reason, return normally so
 *   the message is acknowledged and never retried.
 * - Transient (after the in-process retries are spent): one line, then rethrow; functions-framework answers 500
 *   and Pub/Sub redelivers with the trigger's backoff, eventually to the dead-letter topic.
 */
import { classify, describeError, PermanentError } from '../shared/errors';
import type { Logger } from '../shared/log';

export async function ackOrRetry(log: Logger, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (classify(error) === 'permanent') {
      log.error('event refused; acknowledged without retry', {
        outcome: 'refused',
        reason: error instanceof PermanentError ? error.reason : 'permanent',
        error: describeError(error),
      });
      return;
    }
    log.warn('transient failure; the event will be redelivered', {
      outcome: 'failed',
      reason: 'transient',
      error: describeError(error),
    });
    throw error;
  }
}
