/**
 * Spoke gateway advertisement on in-memory fakes: which ranges, which gateway, the add-only include list, dry run. The Controller's
 * wire format, its failures and concurrent writers are tested against the stand-in (test/wire/aviatrix.test.ts,
 * test/e2e/aviatrix.test.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ClusterInfo } from '../../shared/cloud/ports';
import { classify, TransientError } from '../../shared/errors';
import type { ClusterRef } from '../../shared/events/types';
import {
  covers,
  defaultAdvertisement,
  isAdvertised,
  parseIpv4Cidr,
  planIncludeList,
  regionOfZone,
  wantedRanges,
} from '../../shared/policy/advertise';
import type { GatewayAdvertiser, SpokeGateway } from '../../shared/policy/aviatrix';
import type { KnownSpoke } from '../../shared/policy/spokes';
import type { ActionRecord } from '../../shared/reconcile/action';
import { ensureAdvertised } from '../../shared/reconcile/advertise';
import { offboardCluster, reconcileCluster } from '../../shared/reconcile/cluster';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';

const NET = 'gcp-spoke100-us-east4';
const ref: ClusterRef = { project: PROJECT, location: 'us-east4', name: 'gke-1' };
const peered = (overrides: Partial<ClusterInfo> = {}) =>
  clusterInfo(ref, {
    peeringName: 'gke-n1-peer',
    ranges: { master: '172.16.0.16/28', pods: '10.4.0.0/14', services: '34.118.224.0/20' },
    ...overrides,
  });
const ADVERTISE = {
  aviatrix: {
    controllerUrl: 'https://controller.example.com',
    username: 'spokefleet',
    passwordSecret: 'projects/p/secrets/s/versions/1',
    advertise: { verifyDelayMs: 0 },
  },
};

/** The Controller's spoke gateways in memory; records every call. */
class FakeAdvertiser implements GatewayAdvertiser {
  readonly calls: Array<[string, ...unknown[]]> = [];
  constructor(public gateways: SpokeGateway[]) {}
  async listGateways(vpc: KnownSpoke) {
    this.calls.push(['listGateways', vpc]);
    return structuredClone(
      this.gateways.filter((g) => g.vpc.project === vpc.project && g.vpc.network === vpc.network),
    );
  }
  async getGateway(name: string) {
    this.calls.push(['getGateway', name]);
    return structuredClone(this.gateways.find((g) => g.name === name));
  }
  async setIncludedCidrs(name: string, cidrs: readonly string[]) {
    this.calls.push(['setIncludedCidrs', name, [...cidrs]]);
    const gateway = this.gateways.find((g) => g.name === name);
    if (gateway) gateway.includeCidrs = [...cidrs];
  }
  writes() {
    return this.calls.filter(([method]) => method === 'setIncludedCidrs');
  }
}

const gateway = (overrides: Partial<SpokeGateway> = {}): SpokeGateway => ({
  name: 'spoke100-gw',
  vpc: { project: PROJECT, network: NET },
  region: 'us-east4',
  globalVpc: false,
  includeCidrs: [],
  ...overrides,
});

function setup(gateways: SpokeGateway[], config: Record<string, unknown> = ADVERTISE, dryRun = false) {
  const cloud = new FakeCloud();
  cloud.subnets.set(`${PROJECT}/${NET}`, [
    { name: NET, region: 'us-east4', primary: '192.168.100.0/24', secondary: ['10.200.0.0/16'] },
    { name: `${NET}-west`, region: 'us-west1', primary: '192.168.110.0/24', secondary: [] },
  ]);
  const advertiser = new FakeAdvertiser(gateways);
  const { ctx } = testContext(cloud, config, dryRun);
  ctx.advertiser = advertiser;
  return { cloud, advertiser, ctx };
}

describe('advertise: CIDR arithmetic', () => {
  const cases: Array<[string, string, boolean]> = [
    ['10.4.0.0/14', '10.4.0.0/14', true],
    ['10.0.0.0/8', '10.4.0.0/14', true],
    ['10.4.0.0/14', '10.0.0.0/8', false],
    ['10.4.0.0/14', '10.8.0.0/14', false],
    ['172.16.0.0/12', '172.16.0.16/28', true],
    ['172.16.0.0/28', '172.16.0.16/28', false],
    ['0.0.0.0/0', '34.118.224.0/20', true],
    ['not-a-cidr', '10.4.0.0/14', false],
    // A narrower outer range that holds the inner range's first address still does not cover it.
    ['10.0.0.0/14', '10.0.0.0/8', false],
    // The same network written with host bits set.
    ['10.4.0.0/14', '10.6.0.0/14', true],
    // An entry that is not a CIDR matches only itself, surrounding blanks aside.
    ['custom-entry ', ' custom-entry', true],
  ];
  for (const [outer, inner, expected] of cases) {
    it(`${outer} ${expected ? 'covers' : 'does not cover'} ${inner}`, () =>
      assert.equal(covers(outer, inner), expected));
  }

  it('parseIpv4Cidr: IPv4 CIDR notation only, blanks around it allowed', () => {
    assert.deepEqual(parseIpv4Cidr(' 10.4.0.0/14 '), { address: '10.4.0.0', prefix: 14 });
    assert.deepEqual(parseIpv4Cidr('10.4.0.1/32'), { address: '10.4.0.1', prefix: 32 });
    for (const text of ['10.4.0.0/33', 'x10.4.0.0/14', '10.4.0.0/14x', '10.4.0.0', '10.4.0/14', 'fd00::/8']) {
      assert.equal(parseIpv4Cidr(text), undefined, text);
    }
  });

  it('regionOfZone: a zone gives its region (two-digit regions too), a region stays', () => {
    assert.equal(regionOfZone('us-east4-a'), 'us-east4');
    assert.equal(regionOfZone('europe-west10-b'), 'europe-west10');
    assert.equal(regionOfZone('us-east4'), 'us-east4');
  });

  it('isAdvertised: any entry covering the range', () => {
    assert.equal(isAdvertised(['192.168.0.0/24', '10.0.0.0/8'], '10.4.0.0/14'), true);
    assert.equal(isAdvertised(['192.168.0.0/24'], '10.4.0.0/14'), false);
    assert.equal(isAdvertised([], '10.4.0.0/14'), false);
  });
});

describe('advertise: the include list plan', () => {
  const pods = { kind: 'pods' as const, cidr: '10.4.0.0/14' };
  const master = { kind: 'control plane' as const, cidr: '172.16.0.16/28' };

  it('an empty list becomes the default advertisement plus the ranges', () => {
    assert.deepEqual(planIncludeList([], ['192.168.100.0/24'], [master, pods]), {
      before: [],
      after: ['192.168.100.0/24', '172.16.0.16/28', '10.4.0.0/14'],
      added: [master, pods],
      defaults: ['192.168.100.0/24'],
    });
  });

  it('a customised list keeps every entry, in order, and gains only what is missing', () => {
    const current = ['10.99.0.0/16', '192.168.100.0/24', '172.16.0.16/28'];
    const plan = planIncludeList(current, ['192.168.200.0/24'], [master, pods]);
    assert.deepEqual(plan.after, [...current, '10.4.0.0/14']);
    assert.deepEqual(plan.added, [pods]);
    assert.deepEqual(plan.defaults, [], 'defaults only replace an empty list');
  });

  it('nothing missing: the list is unchanged', () => {
    const plan = planIncludeList(['10.0.0.0/8', '172.16.0.0/12'], [], [master, pods]);
    assert.deepEqual(plan.added, []);
    assert.deepEqual(plan.after, ['10.0.0.0/8', '172.16.0.0/12']);
  });

  it('an empty list with nothing to add stays empty: the default advertisement is not written out', () => {
    const inside = { kind: 'pods' as const, cidr: '192.168.100.128/25' };
    assert.deepEqual(planIncludeList([], ['192.168.100.0/24'], [inside]), {
      before: [],
      after: [],
      added: [],
      defaults: [],
    });
  });

  it('property: every entry kept in place, every wanted range advertised afterwards', () => {
    const pool = ['10.0.0.0/8', '10.4.0.0/14', '10.8.0.0/14', '172.16.0.16/28', '192.168.0.0/16', 'x'];
    fc.assert(
      fc.property(fc.subarray(pool), fc.subarray(pool), (current, cidrs) => {
        const wanted = cidrs.map((cidr) => ({ kind: 'pods' as const, cidr }));
        const plan = planIncludeList(current, ['192.168.100.0/24'], wanted);
        const start = current.length > 0 ? current : wanted.length > 0 ? ['192.168.100.0/24'] : [];
        assert.deepEqual(plan.after.slice(0, start.length), start);
        for (const w of wanted) assert.ok(isAdvertised(plan.after, w.cidr));
      }),
    );
  });

  it('wantedRanges follows the options; PSC clusters have no master range', () => {
    const ranges = { master: '172.16.0.16/28', pods: '10.4.0.0/14', services: '34.118.224.0/20' };
    assert.deepEqual(
      wantedRanges(ranges, { controlPlane: true, pods: true, services: false }).map((r) => r.cidr),
      ['172.16.0.16/28', '10.4.0.0/14'],
    );
    assert.deepEqual(
      wantedRanges({ pods: '10.4.0.0/14' }, { controlPlane: true, pods: true, services: true }).map(
        (r) => r.kind,
      ),
      ['pods'],
    );
    assert.deepEqual(wantedRanges(ranges, { controlPlane: false, pods: false, services: true }), [
      { kind: 'services', cidr: '34.118.224.0/20' },
    ]);
    assert.deepEqual(wantedRanges(undefined, { controlPlane: false, pods: false, services: true }), []);
  });

  it('defaultAdvertisement: every subnet, or only the gateway region with Global VPC', () => {
    const subnets = [
      { name: 'a', region: 'us-east4', primary: '192.168.1.0/24', secondary: ['10.9.0.0/16'] },
      { name: 'b', region: 'us-west1', primary: '192.168.2.0/24', secondary: [] },
    ];
    assert.deepEqual(defaultAdvertisement(subnets, { name: 'gw', globalVpc: false }), {
      ok: true,
      cidrs: ['192.168.1.0/24', '192.168.2.0/24'],
    });
    assert.deepEqual(defaultAdvertisement(subnets, { name: 'gw', globalVpc: true, region: 'us-west1-b' }), {
      ok: true,
      cidrs: ['192.168.2.0/24'],
    });
    assert.deepEqual(defaultAdvertisement(subnets, { name: 'gw', globalVpc: true }), {
      ok: false,
      reason: 'gateway gw has Global VPC on but reports no region, so the subnets it advertises are unknown',
    });
    assert.deepEqual(defaultAdvertisement([], { name: 'gw', globalVpc: false }), {
      ok: false,
      reason:
        'no subnet ranges found for gateway gw; writing an include list now could withdraw what it advertises',
    });
  });
});

describe('advertise: the step', () => {
  it('an empty include list: writes the subnets it advertised before, then the master /28 and pod range', async () => {
    const { ctx, advertiser } = setup([gateway()]);
    const decision = await ensureAdvertised(ctx, peered());
    assert.equal(decision.outcome, 'updated');
    assert.deepEqual(advertiser.writes(), [
      [
        'setIncludedCidrs',
        'spoke100-gw',
        ['192.168.100.0/24', '192.168.110.0/24', '172.16.0.16/28', '10.4.0.0/14'],
      ],
    ]);
    // The record names the gateway and each CIDR added, and the before/after lists.
    assert.match(
      decision.reason ?? '',
      /^gateway spoke100-gw: adds 172\.16\.0\.16\/28 \(control plane\), 10\.4\.0\.0\/14 \(pods\)/,
    );
    assert.match(
      decision.reason ?? '',
      /include list \[\] \(default: the VPC subnets\) → \[192\.168\.100\.0\/24, /,
    );
    assert.match(
      decision.reason ?? '',
      /; the list was empty, so the 2 subnet range\(s\) it advertised by default are written too \(192\.168\.100\.0\/24, 192\.168\.110\.0\/24\);/,
    );
  });

  it('a second cluster adds its ranges without removing the first one’s; a re-run writes nothing', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24', '10.4.0.0/14'] })]);
    const second = peered({
      ref: { ...ref, name: 'gke-2' },
      peeringName: undefined,
      ranges: { pods: '10.8.0.0/14' },
    });
    assert.equal((await ensureAdvertised(ctx, second)).outcome, 'updated');
    assert.deepEqual(advertiser.gateways[0].includeCidrs, ['192.168.100.0/24', '10.4.0.0/14', '10.8.0.0/14']);
    const again = await ensureAdvertised(ctx, second);
    assert.equal(again.outcome, 'unchanged');
    assert.match(again.reason ?? '', /advertises 10\.8\.0\.0\/14 \(pods\)/);
    assert.equal(advertiser.writes().length, 1);
  });

  it('dry run: planned, with the before and after lists, nothing written', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24'] })], ADVERTISE, true);
    const decision = await ensureAdvertised(ctx, peered());
    assert.equal(decision.outcome, 'planned');
    assert.equal(
      decision.reason,
      'would be updated: gateway spoke100-gw: adds 172.16.0.16/28 (control plane), 10.4.0.0/14 (pods); ' +
        'include list [192.168.100.0/24] → [192.168.100.0/24, 172.16.0.16/28, 10.4.0.0/14]',
    );
    assert.deepEqual(advertiser.writes(), []);
  });

  it('no subnet found for an empty list: refused, nothing written (it would withdraw the VPC)', async () => {
    const { ctx, advertiser, cloud } = setup([gateway()]);
    cloud.subnets.clear();
    const decision = await ensureAdvertised(ctx, peered());
    assert.equal(decision.outcome, 'refused');
    assert.deepEqual(advertiser.writes(), []);
  });

  it('no gateway for the VPC, or several and none in the region: refused', async () => {
    assert.equal((await ensureAdvertised(setup([]).ctx, peered())).outcome, 'refused');
    const two = [gateway({ name: 'a', region: 'us-west1' }), gateway({ name: 'b', region: 'europe-west1' })];
    const refused = await ensureAdvertised(setup(two).ctx, peered());
    assert.equal(refused.outcome, 'refused');
    assert.match(refused.reason ?? '', /2 spoke gateways \(a, b\)/);
    const regional = [
      gateway({ name: 'a', region: 'us-west1' }),
      gateway({ name: 'b', region: 'us-east4-b' }),
    ];
    const { ctx, advertiser } = setup(regional);
    assert.equal((await ensureAdvertised(ctx, peered())).outcome, 'updated');
    assert.equal(advertiser.writes()[0][1], 'b');
  });

  it('a range the default advertisement already covers: unchanged, the empty list left alone', async () => {
    const { ctx, advertiser } = setup([gateway()]);
    const inside = peered({ peeringName: undefined, ranges: { pods: '192.168.100.128/25' } });
    const decision = await ensureAdvertised(ctx, inside);
    assert.equal(decision.outcome, 'unchanged');
    assert.deepEqual(advertiser.writes(), []);
  });

  it('services only when asked; nothing wanted → unchanged without a Controller call', async () => {
    const services = { aviatrix: { ...ADVERTISE.aviatrix, advertise: { services: true, verifyDelayMs: 0 } } };
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24'] })], services);
    await ensureAdvertised(ctx, peered());
    assert.deepEqual(advertiser.gateways[0].includeCidrs.slice(-1), ['34.118.224.0/20']);
    const none = setup([gateway()]);
    const decision = await ensureAdvertised(none.ctx, peered({ peeringName: undefined, ranges: undefined }));
    assert.equal(decision.outcome, 'unchanged');
    assert.deepEqual(none.advertiser.calls, []);
  });

  it('a writer that keeps overwriting: transient after bounded rewrites', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24'] })]);
    const original = advertiser.setIncludedCidrs.bind(advertiser);
    // Someone else's write lands right after each of ours, without our ranges.
    advertiser.setIncludedCidrs = async (name, cidrs) => {
      await original(name, cidrs);
      advertiser.gateways[0].includeCidrs = ['192.168.100.0/24'];
    };
    await assert.rejects(ensureAdvertised(ctx, peered()), (error: unknown) => {
      assert.ok(error instanceof TransientError);
      assert.equal(classify(error), 'transient');
      assert.equal(error.reason, 'aviatrix-concurrent-writes');
      assert.match(
        error.message,
        /^gateway spoke100-gw: the include list kept changing under concurrent writers; 172\.16\.0\.16\/28 \(control plane\), 10\.4\.0\.0\/14 \(pods\) not confirmed after 4 writes$/,
      );
      return true;
    });
    assert.equal(advertiser.writes().length, 4);
  });
});

describe('advertise: the step decides', () => {
  const withAdvertise = (advertise: Record<string, unknown>) => ({
    aviatrix: { ...ADVERTISE.aviatrix, advertise: { verifyDelayMs: 0, ...advertise } },
  });
  const OFF = { outcome: 'skipped', reason: 'aviatrix.advertise is off' };

  it('off: skipped without a Controller call, when the option or the Controller client is missing', async () => {
    const off = setup([gateway()], {});
    assert.deepEqual(await ensureAdvertised(off.ctx, peered()), OFF);
    assert.deepEqual(off.advertiser.calls, []);
    const noClient = setup([gateway()]);
    noClient.ctx.advertiser = undefined;
    assert.deepEqual(await ensureAdvertised(noClient.ctx, peered()), OFF);
  });

  it('nothing to advertise: the reason says which ranges were asked for and why the master range is missing', async () => {
    const reason = async (advertise: Record<string, unknown>, cluster: ClusterInfo) => {
      const { ctx, advertiser } = setup([gateway()], withAdvertise(advertise));
      const decision = await ensureAdvertised(ctx, cluster);
      assert.equal(decision.outcome, 'unchanged');
      assert.deepEqual(advertiser.calls, []);
      return decision.reason;
    };
    assert.equal(
      await reason({}, peered({ peeringName: undefined, ranges: undefined })),
      'nothing to advertise: the cluster reports no control plane/pods range asked for (no master range: Private Service Connect or public control plane)',
    );
    assert.equal(
      await reason(
        { controlPlane: false, services: true },
        peered({ peeringName: undefined, ranges: { master: '172.16.0.16/28' } }),
      ),
      'nothing to advertise: the cluster reports no pods/services range asked for',
    );
    assert.equal(
      await reason({ controlPlane: false, pods: false }, peered()),
      'nothing to advertise: aviatrix.advertise asks for no range',
    );
  });

  it('no gateway in the VPC: refused, naming the VPC', async () => {
    const decision = await ensureAdvertised(setup([]).ctx, peered());
    assert.deepEqual(decision, {
      outcome: 'refused',
      reason: `VPC ${PROJECT}/${NET}: the Aviatrix Controller lists no spoke gateway for it`,
    });
  });

  it('several gateways and none in the region: refused, naming them and the region', async () => {
    const two = [gateway({ name: 'a', region: 'us-west1' }), gateway({ name: 'b', region: undefined })];
    assert.deepEqual(await ensureAdvertised(setup(two).ctx, peered()), {
      outcome: 'refused',
      reason: `VPC ${PROJECT}/${NET}: 2 spoke gateways (a, b) and not exactly one in us-east4; not choosing`,
    });
  });

  it('the VPC’s only gateway is used whatever its region', async () => {
    const { ctx, advertiser } = setup([gateway({ region: 'us-west1', includeCidrs: ['192.168.100.0/24'] })]);
    assert.equal((await ensureAdvertised(ctx, peered())).outcome, 'updated');
    assert.equal(advertiser.writes()[0][1], 'spoke100-gw');
  });

  it('a gateway listed but gone by the time it is read: refused, nothing written', async () => {
    const { ctx, advertiser } = setup([gateway()]);
    advertiser.getGateway = async () => undefined;
    assert.deepEqual(await ensureAdvertised(ctx, peered()), {
      outcome: 'refused',
      reason: 'gateway spoke100-gw is not reported by the Controller',
    });
    assert.deepEqual(advertiser.writes(), []);
  });

  it('a customised list does not need the VPC subnets: updated even when they cannot be read', async () => {
    const { ctx, advertiser, cloud } = setup([gateway({ includeCidrs: ['192.168.100.0/24'] })]);
    cloud.subnets.clear();
    assert.equal((await ensureAdvertised(ctx, peered())).outcome, 'updated');
    assert.equal(advertiser.writes().length, 1);
  });

  it('some ranges already advertised: only the missing one is added, in one write', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24', '10.4.0.0/14'] })]);
    const decision = await ensureAdvertised(ctx, peered());
    assert.deepEqual(decision, {
      outcome: 'updated',
      reason:
        'gateway spoke100-gw: adds 172.16.0.16/28 (control plane); include list [192.168.100.0/24, 10.4.0.0/14] → ' +
        '[192.168.100.0/24, 10.4.0.0/14, 172.16.0.16/28]',
    });
    assert.equal(advertiser.writes().length, 1);
  });

  it('a concurrent writer that drops our ranges after our write: caught at the read-back verifyDelayMs later, written again', async () => {
    const { ctx, advertiser } = setup(
      [gateway({ includeCidrs: ['192.168.100.0/24'] })],
      withAdvertise({ verifyDelayMs: 50 }),
    );
    const original = advertiser.setIncludedCidrs.bind(advertiser);
    let raced = false;
    advertiser.setIncludedCidrs = async (name, cidrs) => {
      await original(name, cidrs);
      if (raced) return;
      raced = true;
      // Another instance read the list before our write and writes its own addition 10 ms after it.
      setTimeout(() => {
        advertiser.gateways[0].includeCidrs = ['192.168.100.0/24', '10.8.0.0/14'];
      }, 10);
    };
    const decision = await ensureAdvertised(ctx, peered());
    assert.equal(decision.outcome, 'updated');
    assert.match(decision.reason ?? '', /; written 2 times \(a concurrent writer dropped it\)$/);
    assert.deepEqual(advertiser.gateways[0].includeCidrs, [
      '192.168.100.0/24',
      '10.8.0.0/14',
      '172.16.0.16/28',
      '10.4.0.0/14',
    ]);
  });

  it('two clusters of one gateway reconciled at once in this instance: one writer at a time, one write each', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24'] })]);
    const a = peered({ peeringName: undefined, ranges: { pods: '10.4.0.0/14' } });
    const b = peered({
      ref: { ...ref, name: 'gke-2' },
      peeringName: undefined,
      ranges: { pods: '10.8.0.0/14' },
    });
    const decisions = await Promise.all([ensureAdvertised(ctx, a), ensureAdvertised(ctx, b)]);
    assert.deepEqual(
      decisions.map((d) => d.outcome),
      ['updated', 'updated'],
    );
    assert.equal(advertiser.writes().length, 2);
    assert.deepEqual(advertiser.gateways[0].includeCidrs, ['192.168.100.0/24', '10.4.0.0/14', '10.8.0.0/14']);
  });
});

describe('advertise: in reconcileCluster', () => {
  const steps = (records: ActionRecord[]) => records.map((r) => r.step);

  it('runs after peering only when aviatrix.advertise is configured', async () => {
    const off = setup([gateway()], {});
    off.cloud.addCluster(peered());
    assert.ok(!steps(await reconcileCluster(off.ctx, ref)).includes('advertise'));
    assert.deepEqual(off.advertiser.calls, []);

    const on = setup([gateway()]);
    on.cloud.addCluster(peered());
    const list = steps(await reconcileCluster(on.ctx, ref));
    assert.equal(list.indexOf('advertise'), list.indexOf('peering') + 1);
  });

  it('a deleted cluster is reported, its ranges are not withdrawn', async () => {
    const { ctx, advertiser } = setup([gateway({ includeCidrs: ['192.168.100.0/24', '10.4.0.0/14'] })]);
    const records = await offboardCluster(ctx, ref);
    const note = records.find((r) => r.step === 'advertise');
    assert.equal(note?.outcome, 'skipped');
    assert.match(note?.reason ?? '', /never removes/);
    assert.deepEqual(advertiser.writes(), []);
  });
});

describe('spokes: configured spokes are matched before the Aviatrix Controller is asked', () => {
  const down = () =>
    Promise.reject(new TransientError('Aviatrix Controller answered 503', 'aviatrix-unavailable'));

  it('a cluster in a configured spoke is admitted while the Controller is down, without asking it', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref));
    const { ctx } = testContext(cloud);
    let asked = 0;
    ctx.extraSpokes = () => {
      asked++;
      return down();
    };
    const [spoke] = await reconcileCluster(ctx, ref);
    assert.equal(spoke.outcome, 'unchanged');
    assert.equal(asked, 0);
  });

  it('a cluster that needs the look-up fails transiently (redelivered) while the Controller is down', async () => {
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { network: { project: PROJECT, name: 'gcp-spoke300-us-east4' } }));
    const { ctx } = testContext(cloud);
    ctx.extraSpokes = down;
    const records = await reconcileCluster(ctx, ref);
    assert.deepEqual(
      records.map((r) => [r.step, r.outcome, r.retryable]),
      [['spoke', 'failed', true]],
    );
  });
});
