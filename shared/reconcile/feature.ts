/** The fleet has the Multi-Cluster Services feature. */
import { isAlreadyExists } from '../errors';
import { type Decision, type ReconcileContext, wrote } from './context';
import { MANAGED_BY, MCS_FEATURE, MEMBERSHIP_MANAGED_LABEL } from './names';

export async function ensureMcsFeature(ctx: ReconcileContext): Promise<Decision> {
  const { fleetProject } = ctx.config;
  // One read per invocation, however many clusters a fleet-wide reconcile covers.
  const exists = await ctx.memo.get(`feature:${fleetProject}`, () =>
    ctx.cloud.fleet.hasFeature(fleetProject, MCS_FEATURE),
  );
  if (exists) return { outcome: 'unchanged', reason: `${MCS_FEATURE} enabled in ${fleetProject}` };
  if (ctx.dryRun) return wrote(ctx, 'created', `${MCS_FEATURE} in ${fleetProject}`);
  // Concurrent clusters of one invocation share one create: the memo holds the promise.
  try {
    await ctx.memo.get(`feature-create:${fleetProject}`, () =>
      ctx.cloud.fleet.createFeature(fleetProject, MCS_FEATURE, { [MEMBERSHIP_MANAGED_LABEL]: MANAGED_BY }),
    );
  } catch (error) {
    // Another invocation (another cluster's event) created it since our read: the state we want holds.
    if (isAlreadyExists(error))
      return { outcome: 'unchanged', reason: `${MCS_FEATURE} enabled in ${fleetProject} (concurrently)` };
    throw error;
  }
  return wrote(ctx, 'created', `${MCS_FEATURE} in ${fleetProject}`);
}
