/**
 * `npm run sandbox`: the local cloud with the seed topology, kept running for people and tools to use.
 * Writes .sandbox/endpoints.json (every stand-in's address, the functions' URLs, the /state URL and a ready-made
 * SPOKEFLEET_CONFIG) and .sandbox/kubeconfig (one context per cluster, kept current as clusters come and go).
 * Options: --pubsub (deliver through the real Pub/Sub emulator), --empty (no seed clusters),
 * --faults '<json>' or --faults FILE (fault rules at start, `{"pattern": rule}` as PUT /faults takes them),
 * --aviatrix (the Aviatrix Controller stand-in with a spoke gateway per seed spoke, and `aviatrix.advertise` on; its
 * URL and login are listed under `aviatrix` in endpoints.json), --timing realistic [--time-scale F] (operations take
 * typical GCP durations times F, and the function deadline and retry backoff scale with them; default instant).
 */
// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultRule } from './faults';
import { ROOT } from './functions';
import { sandboxEndpoints, startSandbox } from './harness';
import { kubeconfigYaml } from './kube';
import { DEVELOPER_TOKEN } from './local-cloud';
import { createCluster, SEED_CLUSTERS } from './scenario';
import { timingFromArgs } from './timing';

const DIR = join(ROOT, '.sandbox');

async function main(): Promise<void> {
  const started = Date.now();
  const argv = process.argv.slice(2);
  const args = new Set(argv);
  const faultsArg = argv[argv.indexOf('--faults') + 1];
  const faultRules: Record<string, FaultRule> = args.has('--faults')
    ? JSON.parse(existsSync(faultsArg) ? readFileSync(faultsArg, 'utf8') : faultsArg)
    : {};
  const sandbox = await startSandbox({
    delivery: args.has('--pubsub') ? 'pubsub' : 'direct',
    aviatrix: args.has('--aviatrix'),
    timing: timingFromArgs(argv),
  });
  for (const [pattern, rule] of Object.entries(faultRules)) sandbox.cloud.faults.setRule(pattern, rule);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local cloud`);
    clearInterval(timer);
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  mkdirSync(DIR, { recursive: true });
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
    writeFileSync(join(DIR, 'kubeconfig'), kubeconfigYaml(contexts, contexts[0]?.name), { mode: 0o600 });
  };
  const timer = setInterval(writeKubeconfig, 500);

  const endpoints = sandboxEndpoints(sandbox);
  writeFileSync(join(DIR, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);

  if (!args.has('--empty')) {
    await Promise.all(SEED_CLUSTERS.map(({ ref, spec }) => createCluster(sandbox, ref, spec)));
    await sandbox.settle();
  }
  writeKubeconfig();
  console.log(
    `sandbox ready in ${Date.now() - started} ms: state ${endpoints.state}, GKE ${endpoints.container}, ` +
      `kubeconfig .sandbox/kubeconfig, endpoints .sandbox/endpoints.json, timing ${sandbox.timing.profile}` +
      `${sandbox.timing.realistic ? ` ×${sandbox.timing.scale}` : ''} (Ctrl-C to stop)`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
