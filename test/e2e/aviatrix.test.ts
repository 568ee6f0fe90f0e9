/**
 * The Aviatrix half end to end, in the sandbox as `npm run sandbox -- --aviatrix` runs it: the Controller
 * stand-in with one spoke gateway per spoke VPC (empty include lists), `aviatrix.advertise` on, clusters created
 * with the real GKE client, audit entries delivered to the functions under functions-framework, the functions
 * talking to the Controller through shared/policy/aviatrix.ts — and the `spokefleet` binary reading it all.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../sandbox/functions';
import { DEMO_PROJECT, type Sandbox, sandboxEndpoints, startSandbox } from '../../sandbox/harness';
import { createCluster } from '../../sandbox/scenario';
import type { ClusterRef } from '../../shared/events/types';
import { recordsSince } from './helpers';

const P = DEMO_PROJECT.id;
const ref = (name: string): ClusterRef => ({ project: P, location: 'us-east4', name });
const refString = (r: ClusterRef) => `${r.project}/${r.location}/${r.name}`;
const SPOKE100 = 'spoke100-us-east4-gw';
const SPOKE200 = 'spoke200-us-east4-gw';
const peered = (network: string, master: string) => ({
  network,
  subnetwork: network,
  ipAllocationPolicy: { useIpAliases: true },
  privateClusterConfig: { enablePrivateNodes: true, masterIpv4CidrBlock: master },
  initialNodeCount: 1,
});
const psc = (network: string) => ({
  network,
  subnetwork: network,
  ipAllocationPolicy: { useIpAliases: true },
  privateClusterConfig: { enablePrivateNodes: true },
  initialNodeCount: 1,
});

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/spokefleet.js'), ...args],
      { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, METADATA_SERVER_DETECTION: 'none' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('e2e: spoke gateways advertise what private clusters and MCS need (sandbox --aviatrix)', function () {
  this.timeout(90_000);
  let sandbox: Sandbox;
  let dir: string;
  const list = (gateway: string) => sandbox.aviatrix?.controller.includeList(gateway) ?? [];
  const pods = (r: ClusterRef) =>
    String(
      (sandbox.cloud.container.store.getCluster(r) as unknown as { clusterIpv4Cidr: string }).clusterIpv4Cidr,
    );

  before(async () => {
    if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('run `npm run build` first (npm test does)');
    // Each list and edit takes 150 ms, so onboardings that start together overlap at the Controller.
    sandbox = await startSandbox({ aviatrix: { latencyMs: 150 } });
    dir = mkdtempSync(join(tmpdir(), 'spokefleet-aviatrix-e2e-'));
    writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(sandboxEndpoints(sandbox), null, 2));
  });
  after(async () => {
    await sandbox?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the sandbox lists the Controller and its login in endpoints.json and turns advertise on', () => {
    const endpoints = sandboxEndpoints(sandbox);
    assert.deepEqual(endpoints.aviatrix, {
      url: sandbox.aviatrix?.controller.url,
      username: 'spokefleet',
      password: sandbox.aviatrix?.password,
    });
    assert.deepEqual(sandbox.config.aviatrix?.advertise, {
      controlPlane: true,
      pods: true,
      services: false,
      verifyDelayMs: 200,
    });
    assert.deepEqual(list(SPOKE200), []);
  });

  it('a private cluster in a spoke with an empty include list: the subnets it advertised before, the master /28 and the pod range', async () => {
    const r = ref('avx-private');
    const from = sandbox.audit.logs.length;
    await createCluster(sandbox, r, peered('gcp-spoke200-us-east4', '172.16.7.0/28'));
    await sandbox.settle();
    assert.deepEqual(list(SPOKE200), ['192.168.200.0/24', '172.16.7.0/28', pods(r)]);
    const [record] = recordsSince(sandbox, from).filter((x) => x.step === 'advertise');
    assert.equal(record.outcome, 'updated');
    assert.equal(record.target, refString(r));
    // The record names the gateway and each CIDR added.
    assert.equal(
      record.reason,
      `gateway ${SPOKE200}: adds 172.16.7.0/28 (control plane), ${pods(r)} (pods); the list was empty, so the 1 ` +
        `subnet range(s) it advertised by default are written too (192.168.200.0/24); include list [] (default: ` +
        `the VPC subnets) → [192.168.200.0/24, 172.16.7.0/28, ${pods(r)}]`,
    );
  });

  it('a second cluster adds its ranges without removing the first one’s', async () => {
    const first = list(SPOKE200);
    const r = ref('avx-second');
    await createCluster(sandbox, r, psc('gcp-spoke200-us-east4'));
    await sandbox.settle();
    assert.deepEqual(list(SPOKE200), [...first, pods(r)]);
  });

  it('two clusters onboarded at the same moment both end advertised', async () => {
    const a = ref('avx-together-a');
    const b = ref('avx-together-b');
    await Promise.all([
      createCluster(sandbox, a, peered('gcp-spoke100-us-east4', '172.16.8.0/28')),
      createCluster(sandbox, b, psc('gcp-spoke100-us-east4')),
    ]);
    await sandbox.settle();
    const final = list(SPOKE100);
    assert.equal(final[0], '192.168.100.0/24');
    assert.deepEqual([...final].sort(), ['192.168.100.0/24', '172.16.8.0/28', pods(a), pods(b)].sort());
  });

  it('dry run shows the before and after lists and writes nothing; status shows the cluster not advertised; a reconcile repairs it', async () => {
    const r = ref('avx-private');
    const controller = sandbox.aviatrix?.controller;
    assert.ok(controller);
    // Someone removes the cluster's pod range by hand.
    const gateway = controller.vpcs.find((v) => v.vpc_name === SPOKE200);
    assert.ok(gateway);
    const without = list(SPOKE200).filter((c) => c !== pods(r));
    gateway.include_cidr_list = [...without];
    const edits = controller.edits.length;

    const from = sandbox.reconcile.logs.length;
    await sandbox.requestReconcile({
      scope: 'cluster',
      project: P,
      location: 'us-east4',
      cluster: r.name,
      dryRun: true,
    });
    await sandbox.settle();
    const planned = sandbox.reconcile.logs.slice(from).find((l) => l.step === 'advertise');
    assert.equal(planned?.outcome, 'planned');
    assert.equal(
      planned?.reason,
      `would be updated: gateway ${SPOKE200}: adds ${pods(r)} (pods); include list [${without.join(', ')}] → ` +
        `[${[...without, pods(r)].join(', ')}]`,
    );
    assert.equal(controller.edits.length, edits, 'the dry run wrote nothing');

    const status = await run(['status', '--sandbox', 'endpoints.json', '--json'], dir);
    assert.equal(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout).clusters as Array<{ cluster: string; advertised: boolean | null }>;
    const advertised = (x: ClusterRef) => rows.find((row) => row.cluster === refString(x))?.advertised;
    assert.equal(advertised(r), false);
    assert.equal(advertised(ref('avx-second')), true);

    const plan = await run(['plan', '--sandbox', 'endpoints.json', '--cluster', refString(r)], dir);
    assert.match(
      plan.stdout,
      new RegExp(`advertise .* planned +would be updated: gateway ${SPOKE200}: adds`),
    );
    assert.equal(controller.edits.length, edits, 'status and plan wrote nothing');

    await sandbox.requestReconcile({ scope: 'cluster', project: P, location: 'us-east4', cluster: r.name });
    await sandbox.settle();
    assert.deepEqual(list(SPOKE200), [...without, pods(r)]);
  });
});
