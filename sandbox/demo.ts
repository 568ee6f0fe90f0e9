/**
 * `npm start`: the seed story on the local cloud, driven by real events end to end, printed as tables.
 * 1. Three clusters are created with the real GKE client; their audit entries reach onAuditLogEvent, which
 *    onboards the two spoke clusters and skips the other.
 * 2. An nginx Service in mcs-common is labelled for export → a ServiceExport appears; a Service in `default` is
 *    labelled → refused with an Event; the nginx label is removed → the export goes.
 * Exits 0 when the final state is the expected one, 1 otherwise.
 */
// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';
// Then: any connection or DNS lookup off loopback fails the run (the local cloud never needs one).
import './loopback-guard.cjs';
import type { FunctionProcess } from './functions';
import { type Sandbox, startSandbox } from './harness';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deployNginx,
  ensureNamespace,
  labelService,
  SEED_CLUSTERS,
  until,
} from './scenario';
import { printTable } from './table';

const EXPORT_LABEL = 'spokefleet.io/export';

function actionRecords(fn: FunctionProcess, from: number) {
  return fn.logs
    .slice(from)
    .filter((l) => typeof l.step === 'string' && typeof l.outcome === 'string')
    .map((l) => ({
      step: String(l.step),
      target: String(l.target ?? ''),
      outcome: String(l.outcome),
      reason: String(l.reason ?? ''),
    }));
}

async function phase(sandbox: Sandbox, title: string, work: () => Promise<void>): Promise<void> {
  const mark = sandbox.audit.logs.length;
  console.log(`\n== ${title}`);
  await work();
  await sandbox.settle();
  printTable(actionRecords(sandbox.audit, mark), ['step', 'target', 'outcome', 'reason']);
}

async function main(): Promise<number> {
  const started = Date.now();
  const sandbox = await startSandbox();
  try {
    console.log(
      `local cloud up in ${Date.now() - started} ms (GKE gRPC ${sandbox.cloud.container.address}, functions ${sandbox.audit.url}, ${sandbox.reconcile.url})`,
    );

    for (const { ref, spec, why } of SEED_CLUSTERS) {
      await phase(sandbox, `create ${ref.name} (${why})`, () => createCluster(sandbox, ref, spec));
    }

    await phase(sandbox, 'deploy nginx in mcs-common on cluster-1, then label it for export', async () => {
      await deployNginx(sandbox, CLUSTER_1, 'mcs-common');
      await sandbox.settle();
      await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { [EXPORT_LABEL]: 'true' });
    });
    await phase(
      sandbox,
      'label a Service in `default` on cluster-1 (MCS cannot export from default)',
      async () => {
        await ensureNamespace(sandbox, CLUSTER_1, 'default');
        await deployNginx(sandbox, CLUSTER_1, 'default', 'web');
        await sandbox.settle();
        await labelService(sandbox, CLUSTER_1, 'default', 'web', { [EXPORT_LABEL]: 'true' });
      },
    );
    const refusal = sandbox.cloud.kube(CLUSTER_1).api.store.list('events', 'default');
    for (const event of refusal) {
      const e = event as unknown as { reason?: string; message?: string; involvedObject?: { name?: string } };
      console.log(`Kubernetes Event on Service ${e.involvedObject?.name}: ${e.reason}: ${e.message}`);
    }
    await phase(sandbox, 'export nginx, then unlabel it', async () => {
      await until(
        () =>
          sandbox.cloud.kube(CLUSTER_1).api.store.get('serviceexports', 'mcs-common', 'nginx') !== undefined,
        'export',
      );
      await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { [EXPORT_LABEL]: null });
    });

    const state = summarize(sandbox);
    console.log('\n== final state');
    printTable(state, [
      'cluster',
      'spoke',
      'workloadIdentity',
      'nodePools',
      'membership',
      'peeringExport',
      'namespaces',
      'exports',
    ]);
    const ok =
      state.find((c) => c.cluster === CLUSTER_1.name)?.membership !== '-' &&
      state.find((c) => c.cluster === CLUSTER_2.name)?.peeringExport === 'true' &&
      state.find((c) => c.cluster === 'gke-us-east4-shared')?.membership === '-' &&
      refusal.length === 1 &&
      sandbox.cloud.kube(CLUSTER_1).api.store.list('serviceexports').length === 0;
    const failures = sandbox.audit.logs.filter((l) => l.outcome === 'failed');
    console.log(`\n${ok && failures.length === 0 ? 'demo OK' : 'demo FAILED'} in ${Date.now() - started} ms`);
    return ok && failures.length === 0 ? 0 : 1;
  } finally {
    await sandbox.stop();
  }
}

function summarize(sandbox: Sandbox) {
  const state = sandbox.cloud.state();
  const memberships = state.fleet.memberships;
  return sandbox.cloud.container.store.listClusters({}).map((c) => {
    const cluster = c as unknown as {
      name: string;
      location: string;
      network: string;
      workloadIdentityConfig?: { workloadPool?: string };
      privateClusterConfig?: { peeringName?: string };
      nodePools?: Array<{ name: string; config?: { workloadMetadataConfig?: { mode?: string } } }>;
    };
    const link = `//container.googleapis.com/projects/${DEMO_PROJECT_ID}/locations/${cluster.location}/clusters/${cluster.name}`;
    const membership = memberships.find((m) => m.endpoint?.gkeCluster?.resourceLink === link);
    const peeringName = cluster.privateClusterConfig?.peeringName;
    const network = state.networks.find((n) => n.name === cluster.network && n.project === DEMO_PROJECT_ID);
    const peering = peeringName ? network?.peerings?.find((p) => p.name === peeringName) : undefined;
    const kube = sandbox.cloud.kubes.get(`${DEMO_PROJECT_ID}/${cluster.location}/${cluster.name}`)?.api.store;
    return {
      cluster: cluster.name,
      spoke: String(sandbox.config.spokes.some((s) => 'network' in s && s.network === cluster.network)),
      workloadIdentity: cluster.workloadIdentityConfig?.workloadPool || '-',
      nodePools: (cluster.nodePools ?? [])
        .map((p) => `${p.name}:${p.config?.workloadMetadataConfig?.mode ?? '?'}`)
        .join(','),
      membership: membership?.name.split('/').slice(-3).join('/') ?? '-',
      peeringExport: peering ? String(peering.exportCustomRoutes) : 'n/a',
      namespaces: kube?.get('namespaces', undefined, 'mcs-common') ? 'mcs-common' : '-',
      exports: String(kube?.list('serviceexports').length ?? 0),
    };
  });
}

const DEMO_PROJECT_ID = 'spokefleet-demo';

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
