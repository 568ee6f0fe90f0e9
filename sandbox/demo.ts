/**
 * `npm start`: the seed story on the local cloud, driven by real events end to end, printed as tables.
 * 1. Three clusters are created with the real GKE client; their audit entries reach onAuditLogEvent, which
 *    onboards the two spoke clusters and skips the other.
 * 2. A Service in `default` is labelled → refused with an Event; an nginx Service in mcs-common on cluster-1 is
 *    labelled for export → a ServiceExport appears, GKE's MCS controller (the stand-in) imports it into
 *    cluster-2, and the demo prints its clusterset DNS name and the ExportHealth Event on the Service.
 * Exits 0 when the final state is the expected one, 1 otherwise.
 */
// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';
// Then: any connection or DNS lookup off loopback fails the run (the local cloud never needs one).
import './loopback-guard.cjs';
import type { ClusterRef } from '../shared/events/types';
import type { FunctionProcess } from './functions';
import { type Sandbox, startSandbox } from './harness';
import {
  CLUSTER_1,
  CLUSTER_2,
  createCluster,
  deployNginx,
  developerKube,
  ensureNamespace,
  importedIn,
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
    await phase(sandbox, 'deploy nginx in mcs-common on cluster-1, then label it for export', async () => {
      await deployNginx(sandbox, CLUSTER_1, 'mcs-common');
      await sandbox.settle();
      await labelService(sandbox, CLUSTER_1, 'mcs-common', 'nginx', { [EXPORT_LABEL]: 'true' });
    });
    // GKE's MCS controller (here its stand-in) imports the export into every member that has mcs-common.
    const labelled = Date.now();
    await until(() => importedIn(sandbox, CLUSTER_2, 'mcs-common', 'nginx'), 'nginx imported in cluster-2');
    console.log(
      `\nnginx imported in ${CLUSTER_2.name} ${Date.now() - labelled} ms after the export was read`,
    );
    console.log("\n== reconcile cluster-1 (as the periodic reconcile does): read the export's health");
    const mark = sandbox.reconcile.logs.length;
    await sandbox.requestReconcile({
      scope: 'cluster',
      project: CLUSTER_1.project,
      location: CLUSTER_1.location,
      cluster: CLUSTER_1.name,
    });
    await sandbox.settle();
    printTable(
      actionRecords(sandbox.reconcile, mark).filter((r) => r.step === 'exports'),
      ['step', 'target', 'outcome', 'reason'],
    );
    const health = await exportHealthEvents(sandbox, CLUSTER_1, 'mcs-common', 'nginx');
    // One Event per distinct health line: the first from the export itself, the next once imported.
    for (const message of health) console.log(`Kubernetes Event on Service nginx: ExportHealth: ${message}`);
    const dnsName = 'nginx.mcs-common.svc.clusterset.local';
    console.log(`\nnginx is exported from ${CLUSTER_1.name} and imported in ${CLUSTER_2.name} as ${dnsName}`);

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
      'imports',
    ]);
    const ok =
      state.find((c) => c.cluster === CLUSTER_1.name)?.membership !== '-' &&
      state.find((c) => c.cluster === CLUSTER_2.name)?.peeringExport === 'true' &&
      state.find((c) => c.cluster === 'gke-us-east4-shared')?.membership === '-' &&
      refusal.length === 1 &&
      sandbox.cloud.kube(CLUSTER_1).api.store.get('serviceexports', 'mcs-common', 'nginx') !== undefined &&
      (await importedIn(sandbox, CLUSTER_2, 'mcs-common', 'nginx')) &&
      health.some((m) => m.startsWith(`Imported in 2 of 2 member clusters as ${dnsName}`));
    const failures = sandbox.audit.logs.filter((l) => l.outcome === 'failed');
    console.log(`\n${ok && failures.length === 0 ? 'demo OK' : 'demo FAILED'} in ${Date.now() - started} ms`);
    return ok && failures.length === 0 ? 0 : 1;
  } finally {
    await sandbox.stop();
  }
}

/** The ExportHealth Events Spokefleet recorded on a Service. */
async function exportHealthEvents(sandbox: Sandbox, ref: ClusterRef, namespace: string, name: string) {
  const events = await developerKube(sandbox, ref).core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name},reason=ExportHealth`,
  });
  return events.items.map((e) => e.message ?? '');
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
      imports:
        (kube?.list('serviceimports') ?? [])
          .map((i) => `${i.metadata.namespace}/${i.metadata.name}`)
          .join(',') || '-',
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
