/**
 * `npm run sandbox:create -- NAME --network N [--project P] [--location L] [--no-workload-identity]`: creates a
 * cluster in the running sandbox with the real GKE client, as `gcloud container clusters create` would, and
 * waits until it is RUNNING. The functions onboard it from its audit entries (the sandbox terminal shows the
 * records) and the sandbox adds its context to .sandbox/kubeconfig.
 */
import '../scripts/require-node.cjs';
// Then: any connection or DNS lookup off loopback fails the run (the local cloud never needs one).
import './loopback-guard.cjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterManagerClient } from '@google-cloud/container/build/src/v1';
import { containerClientOptions } from './container/client-options';
import { ROOT } from './functions';

const HELP = `Usage: npm run sandbox:create -- NAME --network NETWORK [options]

Creates a GKE cluster in the running sandbox (npm run sandbox) with the real GKE client and waits until it is
RUNNING; Spokefleet onboards it if NETWORK is a configured spoke.

Options:
  --network N             the VPC network (seed: gcp-spoke100-us-east4, gcp-spoke200-us-east4, shared-services-us-east4)
  --project P             the project (default: the sandbox's first project, spokefleet-demo)
  --location L            a region or zone (default: us-east4)
  --no-workload-identity  create it without a workload pool (Spokefleet then enables it, by default)
  -h, --help              this help

Examples:
  npm run sandbox:create -- my-cluster --network gcp-spoke100-us-east4
  npm run sandbox:create -- legacy --network gcp-spoke200-us-east4 --project spokefleet-demo-two --no-workload-identity
`;

interface CreateArgs {
  name: string;
  network: string;
  project?: string;
  location: string;
  workloadIdentity: boolean;
}

function parseCreateArgs(argv: readonly string[]): CreateArgs | 'help' {
  let name: string | undefined;
  const args: Partial<CreateArgs> = { location: 'us-east4', workloadIdentity: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--network') args.network = value();
    else if (arg === '--project') args.project = value();
    else if (arg === '--location') args.location = value();
    else if (arg === '--no-workload-identity') args.workloadIdentity = false;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (name === undefined) name = arg;
    else throw new Error(`one cluster name, got "${name}" and "${arg}"`);
  }
  if (!name) throw new Error('give the cluster NAME');
  if (!args.network) throw new Error('--network is required');
  return { ...args, name, network: args.network } as CreateArgs;
}

async function main(): Promise<number> {
  let args: CreateArgs | 'help';
  try {
    args = parseCreateArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`sandbox:create: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  let endpoints: { container: string; projects: string[] };
  try {
    endpoints = JSON.parse(
      readFileSync(
        join(process.env.SPOKEFLEET_SANDBOX_DIR ?? join(ROOT, '.sandbox'), 'endpoints.json'),
        'utf8',
      ),
    );
  } catch {
    console.error(
      'sandbox:create: no sandbox is running (no .sandbox/endpoints.json) — start it with npm run sandbox',
    );
    return 1;
  }
  const project = args.project ?? endpoints.projects[0];
  const gke = new ClusterManagerClient(containerClientOptions(endpoints.container));
  const name = `projects/${project}/locations/${args.location}/clusters/${args.name}`;
  try {
    await gke.createCluster({
      parent: `projects/${project}/locations/${args.location}`,
      cluster: {
        name: args.name,
        network: args.network,
        subnetwork: args.network,
        ipAllocationPolicy: { useIpAliases: true },
        initialNodeCount: 1,
        ...(args.workloadIdentity
          ? { workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` } }
          : {}),
      },
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [cluster] = await gke.getCluster({ name });
      if (String(cluster.status) === 'RUNNING') break;
      if (Date.now() > deadline) throw new Error(`${name} is ${cluster.status} after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`${name} RUNNING; the sandbox terminal shows Spokefleet's records for it`);
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    console.error(
      /ECONNREFUSED|UNAVAILABLE/.test(message)
        ? 'sandbox:create: the sandbox is not running — start it with npm run sandbox'
        : `sandbox:create: ${message}`,
    );
    return 1;
  } finally {
    await gke.close();
  }
}

main().then((code) => process.exit(code));
