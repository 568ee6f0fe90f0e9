/**
 * The spoke check (shared/policy/spokes) and `networkPattern` matching (shared/policy/network-pattern): a network is
 * a spoke only in an allowed project, and a user's pattern cannot stall the instance that matches it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfig } from '../../shared/config';
import { TransientError } from '../../shared/errors';
import {
  compileNetworkPattern,
  matchesNetworkPattern,
  networkPatternProblem,
} from '../../shared/policy/network-pattern';
import { decideSpoke, isSpokeNetwork, parseNetworkPath } from '../../shared/policy/spokes';
import { reconcileCluster } from '../../shared/reconcile/cluster';
import { clusterInfo, FakeCloud } from '../fakes/cloud';
import { PROJECT, testContext } from '../fakes/context';

const ALLOWED = 'spoke-prj-one';
const HOST = 'vpc-host-prj';
const FOREIGN = 'someone-elses-prj';

const config = (spokes: unknown[], projects = [ALLOWED]) =>
  parseConfig({ fleetProject: 'fleet-host-prj', projects, spokes });

describe('spoke check: the network must be in an allowed project', () => {
  const foreignNetwork = { project: FOREIGN, name: 'gcp-spoke100-us-east4' };

  it('a {network} spoke without a project does not match a same-named network in a project outside projects', () => {
    const decision = decideSpoke(config([{ network: 'gcp-spoke100-us-east4' }]), ALLOWED, foreignNetwork);
    assert.equal(decision.allowed, false);
    assert.match(decision.reason, /someone-elses-prj, which is not in the allowed projects/);
  });

  it('a networkPattern does not match a network in a project outside projects', () => {
    const decision = decideSpoke(config([{ networkPattern: '^gcp-spoke\\d+-' }]), ALLOWED, foreignNetwork);
    assert.equal(decision.allowed, false);
  });

  it('a spoke the Aviatrix Controller reports in a project outside projects is refused too', () => {
    const decision = decideSpoke(config([{ network: 'other-vpc' }]), ALLOWED, foreignNetwork, [
      { project: FOREIGN, network: 'gcp-spoke100-us-east4' },
    ]);
    assert.equal(decision.allowed, false);
  });

  it('a Shared VPC host project listed in projects is allowed, by name, by pattern and by an explicit project', () => {
    const hostNetwork = { project: HOST, name: 'gcp-spoke100-us-east4' };
    for (const spoke of [
      { network: 'gcp-spoke100-us-east4' },
      { networkPattern: '^gcp-spoke' },
      { project: HOST, network: 'gcp-spoke100-us-east4' },
    ]) {
      const decision = decideSpoke(config([spoke], [ALLOWED, HOST]), ALLOWED, hostNetwork);
      assert.equal(decision.allowed, true, JSON.stringify(spoke));
    }
  });

  it('the Aviatrix Controller is not asked about a network in a project outside projects (its outage cannot hold the cluster)', async () => {
    const ref = { project: PROJECT, location: 'us-east4', name: 'gke-1' };
    const cloud = new FakeCloud();
    cloud.addCluster(clusterInfo(ref, { network: { project: FOREIGN, name: 'gcp-spoke100-us-east4' } }));
    const { ctx } = testContext(cloud);
    let asked = 0;
    ctx.extraSpokes = () => {
      asked++;
      return Promise.reject(new TransientError('Aviatrix Controller answered 503', 'aviatrix-unavailable'));
    };
    const records = await reconcileCluster(ctx, ref);
    assert.deepEqual(
      records.map((r) => [r.step, r.outcome]),
      [['spoke', 'skipped']],
    );
    assert.equal(asked, 0);
  });

  it('property: whatever the spokes, an allowed cluster and its network are both in projects', () => {
    const project = fc.constantFrom(ALLOWED, HOST, FOREIGN);
    const name = fc.constantFrom('gcp-spoke100-us-east4', 'gcp-spoke200-us-east4', 'shared-services');
    const spoke = fc.oneof(
      fc.record({ network: name }),
      fc.record({ network: name, project: fc.constantFrom(ALLOWED, HOST) }),
      fc.record({ networkPattern: fc.constantFrom('^gcp-', 'spoke', '.*', 'us-east4$') }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom<string>(ALLOWED, HOST), { minLength: 1 }),
        fc.array(spoke, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ project, network: name }), { maxLength: 3 }),
        project,
        fc.record({ project, name }),
        (projects, spokes, extra, clusterProject, network) => {
          // A spoke naming a project outside projects is a config error; keep the configs that load.
          fc.pre(spokes.every((s) => !('project' in s) || projects.includes(s.project)));
          const decision = decideSpoke(config(spokes, projects), clusterProject, network, extra);
          if (decision.allowed) {
            assert.ok(projects.includes(clusterProject), decision.reason);
            assert.ok(projects.includes(network.project), decision.reason);
            assert.ok(isSpokeNetwork(config(spokes, projects), network, extra));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('spoke check: which network is which', () => {
  const NAME = 'gcp-spoke100-us-east4';

  it('a cluster in a project outside projects: a final refusal (the Controller is not asked) that names the project', () => {
    assert.deepEqual(decideSpoke(config([{ network: NAME }]), FOREIGN, { project: ALLOWED, name: NAME }), {
      allowed: false,
      final: true,
      reason: `project ${FOREIGN} is not in the allowed projects`,
    });
  });

  it('a refusal that the Controller could change is not final; an admission names the spoke', () => {
    const refused = decideSpoke(config([{ network: 'other-vpc' }]), ALLOWED, {
      project: ALLOWED,
      name: NAME,
    });
    assert.deepEqual(refused, {
      allowed: false,
      reason: `network ${ALLOWED}/${NAME} is not a configured spoke`,
    });
    const admitted = decideSpoke(config([{ network: NAME }]), ALLOWED, { project: ALLOWED, name: NAME });
    assert.deepEqual(admitted, { allowed: true, reason: `network ${ALLOWED}/${NAME} is a spoke` });
  });

  it('a spoke with a project matches only the network of that project, not a same-named one in another allowed project', () => {
    const spokes = config([{ project: HOST, network: NAME }], [ALLOWED, HOST]);
    assert.equal(isSpokeNetwork(spokes, { project: HOST, name: NAME }), true);
    assert.equal(isSpokeNetwork(spokes, { project: ALLOWED, name: NAME }), false);
  });

  it('a spoke the Controller reports matches by project and network name together', () => {
    const spokes = config([{ network: 'other-vpc' }], [ALLOWED, HOST]);
    const reported = [{ project: HOST, network: NAME }];
    assert.equal(isSpokeNetwork(spokes, { project: HOST, name: NAME }, reported), true);
    assert.equal(isSpokeNetwork(spokes, { project: ALLOWED, name: NAME }, reported), false);
    assert.equal(isSpokeNetwork(spokes, { project: HOST, name: 'gcp-spoke200-us-east4' }, reported), false);
  });

  it('parseNetworkPath reads a network path or selfLink, nothing else', () => {
    const expected = { project: 'spoke-prj-one', name: NAME };
    assert.deepEqual(parseNetworkPath(`projects/spoke-prj-one/global/networks/${NAME}`), expected);
    assert.deepEqual(
      parseNetworkPath(
        `https://www.googleapis.com/compute/v1/projects/spoke-prj-one/global/networks/${NAME}`,
      ),
      expected,
    );
    for (const path of [
      NAME,
      `xprojects/spoke-prj-one/global/networks/${NAME}`,
      `projects/spoke-prj-one/global/networks/${NAME}/peerings/p`,
      `projects/spoke-prj-one/global/networks/`,
      'projects/spoke-prj-one/regions/us-east4/subnetworks/s',
    ]) {
      assert.equal(parseNetworkPath(path), undefined, path);
    }
  });
});

describe('networkPattern: matched in linear time, RE2 syntax', () => {
  /** Patterns that backtrack exponentially in JavaScript's RegExp on a long run of matching characters. */
  const CATASTROPHIC: [string, (n: number) => string][] = [
    ['^([a-z0-9]+-?)*-spoke$', (n) => `${'a'.repeat(n)}-x`],
    ['^(a+)+$', (n) => `${'a'.repeat(n)}!`],
    ['^(a|a)*$', (n) => `${'a'.repeat(n)}!`],
    ['^([a-z]+)*[0-9]$', (n) => `${'a'.repeat(n)}-`],
    ['^(\\w+\\s?)*$', (n) => `${'a'.repeat(n)}!`],
  ];

  it('known catastrophic patterns load and answer at once (a backtracking engine takes seconds at this length)', () => {
    for (const [pattern] of CATASTROPHIC) parseConfig({ ...base(), spokes: [{ networkPattern: pattern }] });
    const started = performance.now();
    for (const [pattern, input] of CATASTROPHIC) {
      // 26 characters: about 0.1–2 s each for RegExp on this machine; the spoke check must not depend on it.
      assert.equal(
        isSpokeNetwork(config([{ networkPattern: pattern }]), { project: ALLOWED, name: input(26) }),
        false,
      );
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 500, `${Math.round(elapsed)} ms`);
  });

  it('the reported case: the pattern on a 41-character name, and every pattern on a 63-character name (the longest network name)', () => {
    const started = performance.now();
    const reported = decideSpoke(config([{ networkPattern: '^([a-z0-9]+-?)*-spoke$' }]), ALLOWED, {
      project: ALLOWED,
      name: `${'a'.repeat(39)}-x`,
    });
    assert.equal(reported.allowed, false);
    for (const [pattern, input] of CATASTROPHIC)
      assert.equal(matchesNetworkPattern(pattern, input(61)), false);
    assert.equal(matchesNetworkPattern('^([a-z0-9]+-?)*-spoke$', `${'a'.repeat(57)}-spoke`), true);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 500, `${Math.round(elapsed)} ms`);
  });

  it('keeps RegExp#test semantics for the patterns people write', () => {
    assert.equal(matchesNetworkPattern('^gcp-spoke\\d+-', 'gcp-spoke100-us-east4'), true);
    assert.equal(matchesNetworkPattern('^gcp-spoke\\d+-', 'xgcp-spoke100-us-east4'), false);
    assert.equal(matchesNetworkPattern('spoke', 'gcp-spoke100'), true, 'unanchored: found anywhere');
    assert.equal(matchesNetworkPattern('^spoke$', 'gcp-spoke100'), false);
    assert.equal(matchesNetworkPattern('^gcp-spoke[0-9]+-us-east4$', 'gcp-spoke100-us-east4'), true);
  });

  it('a pattern is compiled once and reused by every later spoke check', () => {
    const source = '^gcp-spoke\\d+-us-(east|west)\\d$';
    const first = compileNetworkPattern(source);
    assert.equal(compileNetworkPattern(source), first);
    assert.equal(matchesNetworkPattern(source, 'gcp-spoke7-us-west1'), true);
    assert.equal(compileNetworkPattern(source), first);
  });

  it('refuses at config load what RE2 cannot run in linear time: lookaround and backreferences', () => {
    for (const pattern of ['^(?!prod-).*spoke', '^(a)\\1$', '(?<=gcp-)spoke', '(unclosed']) {
      assert.ok(networkPatternProblem(pattern), pattern);
      assert.throws(
        () => parseConfig({ ...base(), spokes: [{ networkPattern: pattern }] }),
        /spokes\.0\.networkPattern: must be a valid regular expression in RE2 syntax \(no lookaround, no backreferences\): /,
      );
    }
    assert.equal(networkPatternProblem('^gcp-spoke\\d+-'), undefined);
  });
});

function base() {
  return { fleetProject: 'fleet-host-prj', projects: [ALLOWED] };
}
