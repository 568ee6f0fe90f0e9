/**
 * `npm run sandbox`: the local cloud with the seed topology, kept running for people and tools to use; see HELP.
 * The two files it writes are the contract with other terminals (kubectl, `spokefleet --sandbox`,
 * `npm run sandbox:create`): they appear only once the seed clusters are onboarded, each written whole (a
 * temporary file renamed into place), and they are removed when the sandbox stops.
 */
// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';
// Then: any connection or DNS lookup off loopback fails the run (the local cloud never needs one).
import './loopback-guard.cjs';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { FaultRule } from './faults';
import { type FunctionProcess, ROOT } from './functions';
import { type Sandbox, sandboxEndpoints, startSandbox } from './harness';
import { kubeconfigYaml } from './kube';
import { DEVELOPER_TOKEN } from './local-cloud';
import { createCluster, SEED_CLUSTERS, until } from './scenario';
import { type Timing, timingFromArgs } from './timing';

/** SPOKEFLEET_SANDBOX_DIR moves the files (tests run a sandbox of their own next to a user's). */
const SANDBOX_DIR = process.env.SPOKEFLEET_SANDBOX_DIR ?? join(ROOT, '.sandbox');
const ENDPOINTS = join(SANDBOX_DIR, 'endpoints.json');
const KUBECONFIG = join(SANDBOX_DIR, 'kubeconfig');

const HELP = `Usage: npm run sandbox -- [options]

The local cloud (GKE, Compute, GKE Hub, a Kubernetes API per cluster, Cloud Logging), both functions under
functions-framework, and three seed clusters onboarded through real events. Runs until Ctrl-C; prints every
action record the functions write.

Once the seed clusters are onboarded it writes (and removes them when it stops):
  .sandbox/endpoints.json  every stand-in's address, the functions' URLs, /state, and a ready SPOKEFLEET_CONFIG
  .sandbox/kubeconfig      one context per cluster, kept current as clusters come and go

Options:
  --pubsub           deliver events through the Pub/Sub emulator (needs gcloud's emulator and Java)
  --aviatrix         the Aviatrix Controller stand-in, one spoke gateway per seed spoke VPC, advertise on
  --empty            no seed clusters
  --faults JSON|FILE fault rules at start, {"pattern": rule} as PUT /faults takes them
  --timing PROFILE   instant (default: operations end in milliseconds) or realistic (typical GCP durations;
                     the functions' deadline and the delivery's retry backoff scale with them)
  --time-scale F     with --timing realistic: multiply every duration by F (e.g. 0.01: a 6-minute update in 3.6 s)
  --timing-seed N    with --timing realistic: the seed of the drawn durations (repeatable runs)
  -h, --help         this help

Examples:
  npm run sandbox
  npm run sandbox -- --pubsub
  npm run sandbox -- --timing realistic --time-scale 0.01
  npm run sandbox:create -- my-cluster --network gcp-spoke100-us-east4
  KUBECONFIG=.sandbox/kubeconfig kubectl --context gke-us-east4-cluster-1 get ns
  npx spokefleet status --sandbox
`;

interface Options {
  delivery: 'direct' | 'pubsub';
  aviatrix: boolean;
  empty: boolean;
  faults: Record<string, FaultRule>;
  timing: Timing;
}

function parseSandboxArgs(argv: readonly string[]): Options | 'help' {
  const options: Options = {
    delivery: 'direct',
    aviatrix: false,
    empty: false,
    faults: {},
    timing: timingFromArgs(argv),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--pubsub') options.delivery = 'pubsub';
    else if (arg === '--aviatrix') options.aviatrix = true;
    else if (arg === '--empty') options.empty = true;
    else if (['--timing', '--time-scale', '--timing-seed'].includes(arg))
      i++; // read by timingFromArgs
    else if (arg === '--faults') {
      const value = argv[++i];
      if (value === undefined) throw new Error('--faults needs JSON or a file');
      options.faults = JSON.parse(existsSync(value) ? readFileSync(value, 'utf8') : value);
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

/** Writes a whole file or nothing: readers never see a half-written one. */
function writeAtomically(path: string, text: string, mode = 0o644): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

/** The current-context of the kubeconfig there now, so a rewrite keeps the user's choice (`kubectl config use-context`). */
function currentContext(path: string): string | undefined {
  try {
    const parsed = YAML.parse(readFileSync(path, 'utf8')) as { 'current-context'?: unknown } | null;
    const current = parsed?.['current-context'];
    return typeof current === 'string' && current ? current : undefined;
  } catch {
    return undefined;
  }
}

/** Every action record the functions write, one line each, as they come (`npm start` prints the same records). */
function streamRecords(functions: FunctionProcess[]): () => void {
  const seen = new Map(functions.map((f) => [f, f.logs.length]));
  const print = () => {
    for (const fn of functions) {
      const from = seen.get(fn) ?? 0;
      for (const line of fn.logs.slice(from)) {
        if (typeof line.step !== 'string' || typeof line.outcome !== 'string') continue;
        const reason = typeof line.reason === 'string' ? line.reason : '';
        console.log(
          `${line.step.padEnd(18)} ${String(line.target ?? '').padEnd(60)} ${line.outcome.padEnd(9)} ${reason}`.trimEnd(),
        );
      }
      seen.set(fn, fn.logs.length);
    }
  };
  const timer = setInterval(print, 200);
  return () => {
    clearInterval(timer);
    print();
  };
}

/** The seed spoke clusters are onboarded: their seeded namespaces exist (with `namespaces: "auto"` none is seeded). */
async function seedOnboarded(sandbox: Sandbox): Promise<void> {
  const spokes = new Set(sandbox.config.spokes.map((s) => ('network' in s ? s.network : '')));
  const configured = sandbox.config.namespaces ?? ['mcs-common'];
  const namespaces = configured === 'auto' ? [] : configured;
  await until(
    () =>
      SEED_CLUSTERS.filter(({ spec }) => spokes.has(String(spec.network))).every(({ ref }) => {
        const kube = sandbox.cloud.kubes.get(`${ref.project}/${ref.location}/${ref.name}`);
        return (
          kube !== undefined && namespaces.every((ns) => kube.api.store.get('namespaces', undefined, ns))
        );
      }),
    'the seed clusters onboarded',
    60_000,
  );
}

async function main(): Promise<number> {
  const started = Date.now();
  let options: Options | 'help';
  try {
    options = parseSandboxArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`sandbox: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  // Files an earlier sandbox left behind (killed before it could remove them) describe nothing that runs; the
  // user's kubectl context is kept for the new file.
  const previousContext = currentContext(KUBECONFIG);
  for (const file of [ENDPOINTS, KUBECONFIG]) rmSync(file, { force: true });
  const sandbox = await startSandbox({
    delivery: options.delivery,
    aviatrix: options.aviatrix,
    timing: options.timing,
  });
  for (const [pattern, rule] of Object.entries(options.faults)) sandbox.cloud.faults.setRule(pattern, rule);
  const stopStreaming = streamRecords([sandbox.audit, sandbox.reconcile]);

  let timer: NodeJS.Timeout | undefined;
  let wrote = false;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local cloud`);
    if (timer) clearInterval(timer);
    stopStreaming();
    // The files say "a sandbox runs here": gone with it.
    if (wrote) for (const file of [ENDPOINTS, KUBECONFIG]) rmSync(file, { force: true });
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (!options.empty) {
    await Promise.all(SEED_CLUSTERS.map(({ ref, spec }) => createCluster(sandbox, ref, spec)));
    await sandbox.settle();
    await seedOnboarded(sandbox);
  }

  mkdirSync(SANDBOX_DIR, { recursive: true });
  let lastContexts = '';
  const writeKubeconfig = () => {
    const contexts = [...sandbox.cloud.kubes.entries()].map(([key, kube]) => ({
      name: key.split('/').pop() ?? key,
      server: kube.url,
      caCertificate: kube.caCertificate,
      token: DEVELOPER_TOKEN,
    }));
    const signature = contexts.map((c) => `${c.name}@${c.server}`).join(',');
    if (signature === lastContexts) return;
    lastContexts = signature;
    const kept = currentContext(KUBECONFIG) ?? previousContext;
    const current = contexts.some((c) => c.name === kept) ? kept : contexts[0]?.name;
    writeAtomically(KUBECONFIG, kubeconfigYaml(contexts, current), 0o600);
  };
  writeKubeconfig();
  const endpoints = sandboxEndpoints(sandbox);
  writeAtomically(ENDPOINTS, `${JSON.stringify(endpoints, null, 2)}\n`);
  wrote = true;
  timer = setInterval(writeKubeconfig, 500);
  console.log(
    `\nsandbox ready in ${Date.now() - started} ms: state ${endpoints.state}, GKE ${endpoints.container}, ` +
      `kubeconfig .sandbox/kubeconfig, endpoints .sandbox/endpoints.json, timing ${sandbox.timing.profile}` +
      `${sandbox.timing.realistic ? ` ×${sandbox.timing.scale}` : ''} (Ctrl-C to stop)\n`,
  );
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
