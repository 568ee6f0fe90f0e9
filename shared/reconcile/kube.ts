/** One Kubernetes client per cluster per invocation, shared by the steps that need it. */
import type { KubePort, KubeTarget } from '../cloud/ports';
import type { ReconcileContext } from './context';
import { refString } from './names';

export function kubeFor(ctx: ReconcileContext, target: KubeTarget): Promise<KubePort> {
  return ctx.memo.get(`kube:${refString(target.ref)}`, () => ctx.cloud.kube.connect(target));
}
