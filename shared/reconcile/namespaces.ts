/** The seed namespaces exist in the cluster. */
import type { KubePort } from '../cloud/ports';
import { isAlreadyExists } from '../errors';
import type { ActionRecord } from './action';
import { type ReconcileContext, runStep, wrote } from './context';
import { MANAGED_BY, MANAGED_BY_LABEL } from './names';

export async function ensureNamespaces(
  ctx: ReconcileContext,
  kube: KubePort,
  clusterTarget: string,
): Promise<ActionRecord[]> {
  const records: ActionRecord[] = [];
  for (const namespace of ctx.config.namespaces) {
    records.push(
      await runStep(ctx, 'namespaces', `${clusterTarget}/${namespace}`, async () => {
        // An existing namespace is left as it is, labelled or not: it may be someone else's.
        if (await kube.getNamespace(namespace)) return { outcome: 'unchanged' };
        if (ctx.dryRun) return wrote(ctx, 'created', `namespace ${namespace}`);
        try {
          await kube.createNamespace(namespace, { [MANAGED_BY_LABEL]: MANAGED_BY });
        } catch (error) {
          // A concurrent delivery of the same event created it first: the desired state holds.
          if (isAlreadyExists(error)) return { outcome: 'unchanged', reason: 'created concurrently' };
          throw error;
        }
        return wrote(ctx, 'created', `namespace ${namespace}`);
      }),
    );
  }
  return records;
}
