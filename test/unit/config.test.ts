import assert from 'node:assert/strict';
import {
  ConfigError,
  isLoopbackUrl,
  loadConfig,
  parseConfig,
  parseConfigJson,
  resetConfigCache,
} from '../../shared/config';

/** The smallest valid config: the three required fields. */
const base = () => ({
  fleetProject: 'fleet-host-prj',
  projects: ['spoke-prj-one', 'spoke-prj-two'],
  spokes: [{ network: 'gcp-spoke100-us-east4' }] as unknown[],
});
const SECRET = 'projects/fleet-host-prj/secrets/aviatrix/versions/3';
const aviatrix = (overrides: Record<string, unknown> = {}) => ({
  controllerUrl: 'https://controller.example.com',
  username: 'spokefleet',
  passwordSecret: SECRET,
  ...overrides,
});

/** Parses and returns the ConfigError's problems, failing when the config is accepted. */
function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail(`config was accepted: ${JSON.stringify(input)}`);
}

/** Sets a value at a dotted path of a fresh base config (`aviatrix.username`, `spokes`). */
function withField(
  path: string,
  value: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...base(), ...extra };
  const keys = path.split('.');
  let node = config;
  for (const key of keys.slice(0, -1)) {
    node[key] = { ...((node[key] as Record<string, unknown>) ?? {}) };
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
  return config;
}

describe('config: namespaces', () => {
  it('"auto" seeds no namespace up front and creates each exported Service\'s namespace', () => {
    const config = parseConfig({ ...base(), namespaces: 'auto' });
    assert.deepEqual([config.namespaces, config.autoNamespaces], [[], true]);
  });

  it('a list seeds those namespaces and creates nothing per export', () => {
    const config = parseConfig({ ...base(), namespaces: ['team-a'] });
    assert.deepEqual([config.namespaces, config.autoNamespaces], [['team-a'], false]);
  });

  it('any other string is refused', () => {
    assert.throws(() => parseConfig({ ...base(), namespaces: 'all' }), /namespaces/);
  });
});

describe('config: defaults', () => {
  it('fills every optional field with its documented default', () => {
    assert.deepEqual(parseConfig(base()), {
      ...base(),
      membership: { location: 'global', idTemplate: '{cluster}' },
      workloadIdentity: { policy: 'enable', nodePools: 'migrate-new' },
      peering: { exportCustomRoutes: true },
      namespaces: ['mcs-common'],
      autoNamespaces: false,
      export: { label: 'spokefleet.io/export', value: 'true' },
      owner: 'spokefleet',
      limits: {
        forbiddenNamespaces: ['default', 'kube-system'],
        maxClustersPerService: 5,
        maxEndpointsPerService: 250,
        maxServicesPerFleet: 50,
        maxGlobalMemberships: 250,
        maxRegionalMemberships: 50,
        refuseCrossProjectDuplicates: true,
      },
      kubeAccess: 'connectGateway',
      dryRun: false,
      concurrency: 8,
      fanOut: { clustersPerMinute: 300 },
      maxEventAgeSeconds: 3600,
      selfPrincipals: [],
      retryBudgetMs: 30_000,
      callTimeoutSeconds: 30,
      invocationBudgetSeconds: 480,
      timeScale: 1,
      logLevel: 'info',
    });
  });

  const partial: Array<{
    name: string;
    input: Record<string, unknown>;
    pick: (c: ReturnType<typeof parseConfig>) => unknown;
    expect: unknown;
  }> = [
    {
      name: 'membership with only location keeps the default idTemplate',
      input: { membership: { location: 'region' } },
      pick: (c) => c.membership,
      expect: { location: 'region', idTemplate: '{cluster}' },
    },
    {
      name: 'peering with only importCustomRoutes keeps exportCustomRoutes=true',
      input: { peering: { importCustomRoutes: false } },
      pick: (c) => c.peering,
      expect: { exportCustomRoutes: true, importCustomRoutes: false },
    },
    {
      name: 'export with only a label keeps value "true"',
      input: { export: { label: 'mcs.acme.io/share' } },
      pick: (c) => c.export,
      expect: { label: 'mcs.acme.io/share', value: 'true' },
    },
    {
      name: 'limits with one field keeps the others',
      input: { limits: { maxServicesPerFleet: 10 } },
      pick: (c) => c.limits,
      expect: {
        forbiddenNamespaces: ['default', 'kube-system'],
        maxClustersPerService: 5,
        maxEndpointsPerService: 250,
        maxServicesPerFleet: 10,
        refuseCrossProjectDuplicates: true,
        maxGlobalMemberships: 250,
        maxRegionalMemberships: 50,
      },
    },
    {
      name: 'aviatrix gets cacheSeconds 300',
      input: { aviatrix: aviatrix() },
      pick: (c) => c.aviatrix,
      expect: { ...aviatrix(), cacheSeconds: 300 },
    },
    {
      name: 'endpoints get the sandbox token',
      input: { endpoints: { container: '127.0.0.1:9000' } },
      pick: (c) => c.endpoints,
      expect: { container: '127.0.0.1:9000', token: 'sandbox-token' },
    },
    {
      name: 'aviatrix.advertise {} asks for the master and pod ranges, not the Service range',
      input: { aviatrix: aviatrix({ advertise: {} }) },
      pick: (c) => c.aviatrix?.advertise,
      expect: { controlPlane: true, pods: true, services: false, verifyDelayMs: 2000 },
    },
    {
      name: 'aviatrix.advertise stays off',
      input: { aviatrix: aviatrix() },
      pick: (c) => c.aviatrix?.advertise,
      expect: undefined,
    },
    { name: 'aviatrix stays absent', input: {}, pick: (c) => c.aviatrix, expect: undefined },
    { name: 'endpoints stay absent', input: {}, pick: (c) => c.endpoints, expect: undefined },
  ];
  for (const t of partial) {
    it(t.name, () => {
      assert.deepEqual(t.pick(parseConfig({ ...base(), ...t.input })), t.expect);
    });
  }
});

describe('config: accepted values of each field', () => {
  const accepted: Array<[path: string, value: unknown, extra?: Record<string, unknown>]> = [
    ['fleetProject', 'abcdef'],
    ['fleetProject', `a${'b'.repeat(28)}9`],
    ['fleetProject', 'my-fleet-2024'],
    ['projects', ['only-one-prj']],
    ['spokes', [{ project: 'spoke-prj-one', network: 'vpc-a' }]],
    ['spokes', [{ network: 'a' }]],
    ['spokes', [{ networkPattern: '^gcp-spoke\\d+-' }, { network: 'vpc-b' }]],
    ['aviatrix', aviatrix()],
    ['aviatrix', aviatrix({ controllerUrl: 'HTTPS://Controller.Example.com/' })],
    ['aviatrix', aviatrix({ controllerUrl: 'http://127.0.0.1:8443' })],
    ['aviatrix', aviatrix({ controllerUrl: 'http://localhost:8443' })],
    ['aviatrix', aviatrix({ cacheSeconds: 0 })],
    ['aviatrix', aviatrix({ cacheSeconds: 86_400 })],
    [
      'aviatrix',
      aviatrix({ advertise: { controlPlane: false, pods: true, services: true, verifyDelayMs: 0 } }),
    ],
    ['membership.location', 'global'],
    ['membership.location', 'region'],
    ['membership.idTemplate', '{cluster}'],
    ['membership.idTemplate', '{project}-{location}-{cluster}'],
    ['workloadIdentity.policy', 'enable'],
    ['workloadIdentity.policy', 'require'],
    ['workloadIdentity.policy', 'ignore'],
    ['workloadIdentity.nodePools', 'migrate'],
    ['workloadIdentity.nodePools', 'migrate-new'],
    ['workloadIdentity.nodePools', 'report'],
    ['peering.exportCustomRoutes', false],
    ['peering.importCustomRoutes', true],
    ['namespaces', []],
    ['namespaces', ['a', 'mcs-common', '0team-1', 'x'.repeat(63)]],
    ['export.label', 'export'],
    ['export.label', 'mcs.acme.io/export_me.v1'],
    ['export.value', ''],
    ['export.value', 'Yes_1.0-a'],
    ['limits.forbiddenNamespaces', []],
    ['limits.maxClustersPerService', 1],
    ['limits.maxEndpointsPerService', 1000],
    ['limits.maxServicesPerFleet', 1],
    ['limits.refuseCrossProjectDuplicates', false],
    ['kubeAccess', 'connectGateway'],
    ['kubeAccess', 'endpoint'],
    ['dryRun', true],
    ['concurrency', 1],
    ['concurrency', 64],
    ['maxEventAgeSeconds', 60],
    ['maxEventAgeSeconds', 86_400],
    ['selfPrincipals', ['spokefleet@fleet-host-prj.iam.gserviceaccount.com']],
    ['retryBudgetMs', 0],
    ['retryBudgetMs', 300_000],
    ['callTimeoutSeconds', 1],
    ['callTimeoutSeconds', 600],
    ['reconcileTopic', 'projects/fleet-host-prj/topics/spokefleet-reconcile'],
    ['reconcileTopic', `projects/fleet-host-prj/topics/T${'a'.repeat(254)}`],
    ['reconcileTopic', 'projects/fleet-host-prj/topics/a-_.~+%9'],
    ['fanOut.clustersPerMinute', 1],
    ['fanOut.clustersPerMinute', 60_000],
    ['endpoints.pubsub', '127.0.0.1:8085'],
    ['logLevel', 'debug'],
    ['logLevel', 'info'],
    ['logLevel', 'warning'],
    ['logLevel', 'error'],
    ['endpoints.container', '127.0.0.1:9000'],
    ['endpoints.compute', 'http://localhost:8080'],
    ['endpoints.gkehub', 'http://[::1]:8081/'],
    ['endpoints.resourcemanager', 'http://127.10.20.30:1'],
    ['endpoints.connectGateway', 'https://127.0.0.1:8443/base/{location}'],
    ['endpoints.token', 'another-token'],
  ];
  it('workloadIdentity as the bare policy string means that policy with the default node-pool mode', () => {
    assert.deepEqual(parseConfig({ ...base(), workloadIdentity: 'require' }).workloadIdentity, {
      policy: 'require',
      nodePools: 'migrate-new',
    });
  });

  for (const [path, value] of accepted) {
    it(`${path} = ${JSON.stringify(value)}`, () => {
      const config = parseConfig(withField(path, value)) as unknown as Record<string, unknown>;
      const got = path
        .split('.')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
      if (path === 'aviatrix') {
        assert.deepEqual(got, { cacheSeconds: 300, ...(value as object) });
      } else {
        assert.deepEqual(got, value);
      }
    });
  }
});

describe('config: refusals', () => {
  const loopbackMessage = 'endpoint overrides must point at loopback (127.0.0.0/8, localhost, [::1])';
  const refused: Array<[path: string, value: unknown, problem: string]> = [
    // project ids
    ['fleetProject', 'Fleet-Prj', 'fleetProject: must be a Google Cloud project id'],
    ['fleetProject', 'short', 'fleetProject: must be a Google Cloud project id'],
    ['fleetProject', `a${'b'.repeat(29)}c`, 'fleetProject: must be a Google Cloud project id'],
    ['fleetProject', '1project', 'fleetProject: must be a Google Cloud project id'],
    ['fleetProject', 'project-', 'fleetProject: must be a Google Cloud project id'],
    ['fleetProject', 42, 'fleetProject: Invalid input'],
    ['projects', [], 'projects: list at least one project'],
    ['projects', ['spoke-prj-one', 'BAD_PRJ'], 'projects.1: must be a Google Cloud project id'],
    ['projects', 'spoke-prj-one', 'projects: Invalid input'],
    // spokes: the union, its members, the regex, the project cross-check
    ['spokes', [], 'spokes: list at least one spoke'],
    ['spokes', [{ network: 'Bad_Net' }], 'spokes.0.network: must be a VPC network name'],
    ['spokes', [{ network: `a${'b'.repeat(63)}` }], 'spokes.0.network: must be a VPC network name'],
    [
      'spokes',
      [{ networkPattern: '(unclosed' }],
      'spokes.0.networkPattern: must be a valid regular expression',
    ],
    ['spokes', [{ networkPattern: '[z-a]' }], 'spokes.0.networkPattern: must be a valid regular expression'],
    [
      'spokes',
      [{ network: 'vpc-a', networkPattern: 'x' }],
      'spokes.0: must be {network, project?} or {networkPattern}',
    ],
    ['spokes', [{ net: 'vpc-a' }], 'spokes.0: must be {network, project?} or {networkPattern}'],
    ['spokes', [null], 'spokes.0: must be {network, project?} or {networkPattern}'],
    ['spokes', ['vpc-a'], 'spokes.0: must be {network, project?} or {networkPattern}'],
    ['spokes', [{ network: 'vpc-a', extra: 1 }], 'spokes.0: Unrecognized key: "extra"'],
    [
      'spokes',
      [{ project: 'not-allowed-prj', network: 'vpc-a' }],
      'spokes.0.project: project not-allowed-prj is not in projects',
    ],
    ['spokes', [{ project: 'Bad', network: 'vpc-a' }], 'spokes.0.project: must be a Google Cloud project id'],
    // aviatrix
    [
      'aviatrix',
      aviatrix({ controllerUrl: 'http://controller.example.com' }),
      'aviatrix.controllerUrl: must use https (http only on loopback)',
    ],
    [
      'aviatrix',
      aviatrix({ controllerUrl: 'http://10.0.0.5' }),
      'aviatrix.controllerUrl: must use https (http only on loopback)',
    ],
    [
      'aviatrix',
      aviatrix({ controllerUrl: 'ftp://controller.example.com' }),
      'aviatrix.controllerUrl: Invalid URL',
    ],
    ['aviatrix', aviatrix({ controllerUrl: 'not a url' }), 'aviatrix.controllerUrl: Invalid URL'],
    ['aviatrix', aviatrix({ username: '' }), 'aviatrix.username: Too small'],
    [
      'aviatrix',
      aviatrix({ passwordSecret: 'aviatrix-password' }),
      'aviatrix.passwordSecret: must be projects/P/secrets/S/versions/V',
    ],
    [
      'aviatrix',
      aviatrix({ passwordSecret: 'projects/p/secrets/s' }),
      'aviatrix.passwordSecret: must be projects/P/secrets/S/versions/V',
    ],
    ['aviatrix', aviatrix({ cacheSeconds: -1 }), 'aviatrix.cacheSeconds: Too small'],
    ['aviatrix', aviatrix({ cacheSeconds: 86_401 }), 'aviatrix.cacheSeconds: Too big'],
    ['aviatrix', aviatrix({ cacheSeconds: 1.5 }), 'aviatrix.cacheSeconds: Invalid input'],
    ['aviatrix', { username: 'u', passwordSecret: SECRET }, 'aviatrix.controllerUrl: Invalid input'],
    ['aviatrix', null, 'aviatrix: Invalid input'],
    ['aviatrix', aviatrix({ advertise: { pods: 'yes' } }), 'aviatrix.advertise.pods: Invalid input'],
    ['aviatrix', aviatrix({ advertise: { master: true } }), 'aviatrix.advertise: Unrecognized key: "master"'],
    [
      'aviatrix',
      aviatrix({ advertise: { verifyDelayMs: 60_001 } }),
      'aviatrix.advertise.verifyDelayMs: Too big',
    ],
    // membership
    ['membership.location', 'us-east4', 'membership.location: Invalid option'],
    ['membership.idTemplate', '{project}-fixed', 'membership.idTemplate: must contain {cluster}'],
    ['membership.idTemplate', '', 'membership.idTemplate: must contain {cluster}'],
    // enums and booleans
    ['workloadIdentity', 'on', 'workloadIdentity.policy: Invalid option'],
    ['workloadIdentity.nodePools', 'always', 'workloadIdentity.nodePools: Invalid option'],
    ['peering.exportCustomRoutes', 'yes', 'peering.exportCustomRoutes: Invalid input'],
    ['dryRun', 'true', 'dryRun: Invalid input'],
    ['kubeAccess', 'direct', 'kubeAccess: Invalid option'],
    ['logLevel', 'trace', 'logLevel: Invalid option'],
    ['logLevel', 'INFO', 'logLevel: Invalid option'],
    // namespaces (DNS-1123 labels)
    ['namespaces', ['MCS'], 'namespaces.0: must be a DNS-1123 label'],
    ['namespaces', ['ok', '-lead'], 'namespaces.1: must be a DNS-1123 label'],
    ['namespaces', ['trail-'], 'namespaces.0: must be a DNS-1123 label'],
    ['namespaces', ['a.b'], 'namespaces.0: must be a DNS-1123 label'],
    ['namespaces', [''], 'namespaces.0: must be a DNS-1123 label'],
    ['namespaces', ['x'.repeat(64)], 'namespaces.0: Too big'],
    ['namespaces', 'mcs-common', 'namespaces: Invalid input'],
    // export label key / value
    ['export.label', 'bad key', 'export.label: must be a Kubernetes label key'],
    ['export.label', 'Upper.Prefix/x', 'export.label: must be a Kubernetes label key'],
    ['export.label', 'a/b/c', 'export.label: must be a Kubernetes label key'],
    ['export.label', '-x', 'export.label: must be a Kubernetes label key'],
    ['export.label', `p/${'n'.repeat(64)}`, 'export.label: must be a Kubernetes label key'],
    ['export.label', '', 'export.label: must be a Kubernetes label key'],
    ['export.value', 'has space', 'export.value: must be a Kubernetes label value'],
    ['export.value', '_lead', 'export.value: must be a Kubernetes label value'],
    ['export.value', 'v'.repeat(64), 'export.value: must be a Kubernetes label value'],
    ['export.value', true, 'export.value: Invalid input'],
    // limits: integers >= 1
    ['limits.maxClustersPerService', 0, 'limits.maxClustersPerService: Too small'],
    ['limits.maxEndpointsPerService', 2.5, 'limits.maxEndpointsPerService: Invalid input'],
    ['limits.maxServicesPerFleet', -3, 'limits.maxServicesPerFleet: Too small'],
    ['limits.maxServicesPerFleet', '50', 'limits.maxServicesPerFleet: Invalid input'],
    ['limits.forbiddenNamespaces', 'default', 'limits.forbiddenNamespaces: Invalid input'],
    ['limits.refuseCrossProjectDuplicates', 1, 'limits.refuseCrossProjectDuplicates: Invalid input'],
    // numbers with bounds
    ['concurrency', 0, 'concurrency: Too small'],
    ['concurrency', 65, 'concurrency: Too big'],
    ['concurrency', 2.5, 'concurrency: Invalid input'],
    ['maxEventAgeSeconds', 59, 'maxEventAgeSeconds: Too small'],
    ['maxEventAgeSeconds', 600.5, 'maxEventAgeSeconds: Invalid input'],
    ['retryBudgetMs', -1, 'retryBudgetMs: Too small'],
    ['retryBudgetMs', 300_001, 'retryBudgetMs: Too big'],
    ['callTimeoutSeconds', 0, 'callTimeoutSeconds: Too small'],
    ['callTimeoutSeconds', 601, 'callTimeoutSeconds: Too big'],
    ['callTimeoutSeconds', 1.5, 'callTimeoutSeconds: Invalid input'],
    ['fanOut.clustersPerMinute', 0, 'fanOut.clustersPerMinute: Too small'],
    ['fanOut.clustersPerMinute', 60_001, 'fanOut.clustersPerMinute: Too big'],
    ['fanOut', { perMinute: 10 }, 'fanOut: Unrecognized key: "perMinute"'],
    // the reconcile topic: a full Pub/Sub topic name
    ['reconcileTopic', 'spokefleet-reconcile', 'reconcileTopic: must be projects/PROJECT/topics/TOPIC'],
    [
      'reconcileTopic',
      'projects/fleet-host-prj/topics/goog-x',
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    [
      'reconcileTopic',
      'projects/fleet-host-prj/topics/1abc',
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    [
      'reconcileTopic',
      'projects/fleet-host-prj/topics/ab',
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    [
      'reconcileTopic',
      `projects/fleet-host-prj/topics/T${'a'.repeat(255)}`,
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    [
      'reconcileTopic',
      'projects/Bad_Prj/topics/abc',
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    [
      'reconcileTopic',
      'projects/fleet-host-prj/topics/a b c',
      'reconcileTopic: must be projects/PROJECT/topics/TOPIC',
    ],
    // selfPrincipals
    ['selfPrincipals', ['not-an-email'], 'selfPrincipals.0: Invalid email address'],
    ['selfPrincipals', ['ok@acme.example', 'user@'], 'selfPrincipals.1: Invalid email address'],
    ['selfPrincipals', 'ok@acme.example', 'selfPrincipals: Invalid input'],
    // endpoints: loopback only
    ['endpoints.container', '10.0.0.1:443', `endpoints.container: ${loopbackMessage}`],
    ['endpoints.compute', 'http://example.com', `endpoints.compute: ${loopbackMessage}`],
    ['endpoints.gkehub', 'http://169.254.169.254', `endpoints.gkehub: ${loopbackMessage}`],
    [
      'endpoints.resourcemanager',
      'http://localhost.example.com',
      `endpoints.resourcemanager: ${loopbackMessage}`,
    ],
    ['endpoints.connectGateway', 'http://127.0.0.1.nip.io', `endpoints.connectGateway: ${loopbackMessage}`],
    [
      'endpoints.connectGateway',
      'https://127.0.0.1:8443/base',
      'endpoints.connectGateway: must contain {location}',
    ],
    ['endpoints.container', 'https://[::2]:443', `endpoints.container: ${loopbackMessage}`],
    ['endpoints.container', 'http://', `endpoints.container: ${loopbackMessage}`],
    ['endpoints.token', '', 'endpoints.token: Too small'],
    ['endpoints.pubsub', 'pubsub.googleapis.com:443', `endpoints.pubsub: ${loopbackMessage}`],
  ];
  for (const [path, value, problem] of refused) {
    it(`${path} = ${JSON.stringify(value)?.slice(0, 80)} → ${problem.slice(0, 70)}`, () => {
      const found = problems(withField(path, value));
      assert.ok(
        found.some((p) => p.startsWith(problem)),
        `expected a problem starting with ${JSON.stringify(problem)}, got ${JSON.stringify(found)}`,
      );
    });
  }

  const unknownKeys: Array<[where: string, input: Record<string, unknown>, problem: string]> = [
    ['root', { ...base(), fleetproject: 'x' }, '(root): Unrecognized key: "fleetproject"'],
    [
      'aviatrix',
      { ...base(), aviatrix: aviatrix({ password: 'hunter2' }) },
      'aviatrix: Unrecognized key: "password"',
    ],
    [
      'membership',
      { ...base(), membership: { location: 'global', id: 'x' } },
      'membership: Unrecognized key: "id"',
    ],
    ['peering', { ...base(), peering: { exportRoutes: true } }, 'peering: Unrecognized key: "exportRoutes"'],
    ['export', { ...base(), export: { labels: 'x' } }, 'export: Unrecognized key: "labels"'],
    ['limits', { ...base(), limits: { maxClusters: 3 } }, 'limits: Unrecognized key: "maxClusters"'],
    [
      'endpoints',
      { ...base(), endpoints: { logging: '127.0.0.1:1' } },
      'endpoints: Unrecognized key: "logging"',
    ],
    [
      'spokes[]',
      { ...base(), spokes: [{ network: 'vpc-a', region: 'x' }] },
      'spokes.0: Unrecognized key: "region"',
    ],
  ];
  for (const [where, input, problem] of unknownKeys) {
    it(`refuses an unknown key in ${where}`, () => {
      assert.deepEqual(problems(input), [problem]);
    });
  }

  const exact: Array<[name: string, input: Record<string, unknown>, expected: string[]]> = [
    [
      'a spoke project that is itself invalid is reported once',
      { ...base(), spokes: [{ project: 'Bad', network: 'vpc-a' }] },
      ['spokes.0.project: must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)'],
    ],
    [
      'an unparsable controller URL is one problem, not also "must use https"',
      { ...base(), aviatrix: aviatrix({ controllerUrl: 'not a url' }) },
      ['aviatrix.controllerUrl: Invalid URL'],
    ],
    [
      'a controller URL that is not a string is one problem, its type, even when it reads like an http URL',
      { ...base(), aviatrix: aviatrix({ controllerUrl: ['http://avx.example.com'] }) },
      ['aviatrix.controllerUrl: Invalid input: expected string, received array'],
    ],
    [
      'the spoke cross-check still runs when another entry of projects has the wrong type',
      { ...base(), projects: ['spoke-prj-one', 5], spokes: [{ project: 'zzz-other-1', network: 'vpc-a' }] },
      [
        'projects.1: Invalid input: expected string, received number',
        'spokes.0.project: project zzz-other-1 is not in projects',
      ],
    ],
    [
      'spokes naming a project, without a projects list: the missing list, nothing else',
      { fleetProject: 'fleet-host-prj', spokes: [{ project: 'spoke-prj-one', network: 'vpc-a' }] },
      ['projects: Invalid input: expected array, received undefined'],
    ],
    [
      'projects without a spokes list: the missing list, nothing else',
      { fleetProject: 'fleet-host-prj', projects: ['spoke-prj-one'], spokes: { network: 'vpc-a' } },
      ['spokes: Invalid input: expected array, received object'],
    ],
    [
      'the https rule still runs when a type error elsewhere aborts the object',
      { ...base(), dryRun: 'no', aviatrix: aviatrix({ controllerUrl: 'http://avx.example.com' }) },
      [
        'dryRun: Invalid input: expected boolean, received string',
        'aviatrix.controllerUrl: must use https (http only on loopback)',
      ],
    ],
  ];
  for (const [name, input, expected] of exact) {
    it(name, () => {
      assert.deepEqual(problems(input).sort(), [...expected].sort());
    });
  }

  it('refuses non-objects at the root', () => {
    for (const input of [null, [], 'config', 7]) {
      assert.equal(problems(input).length, 1, JSON.stringify(input));
      assert.match(problems(input)[0], /^\(root\): Invalid input/);
    }
  });

  it('lists every required field that is missing', () => {
    assert.deepEqual(problems({}), [
      'fleetProject: Invalid input: expected string, received undefined',
      'projects: Invalid input: expected array, received undefined',
      'spokes: Invalid input: expected array, received undefined',
    ]);
  });

  it('one ConfigError lists every problem of a config with many', () => {
    const input = {
      fleetProject: 'Fleet',
      projects: ['spoke-prj-one'],
      spokes: [{ project: 'other-prj-99', network: 'vpc-a' }, { networkPattern: '(' }],
      membership: { idTemplate: 'fixed' },
      workloadIdentity: 'always',
      namespaces: ['Bad'],
      concurrency: 100,
      maxEventAgeSeconds: 1,
      selfPrincipals: ['nobody'],
      logLevel: 'verbose',
      endpoints: { gkehub: 'http://169.254.169.254' },
      typo: true,
    };
    let caught: unknown;
    try {
      parseConfig(input);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    const expected = [
      'fleetProject: must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)',
      'spokes.1.networkPattern: must be a valid regular expression in RE2 syntax (no lookaround, no backreferences): missing closing ): `(`',
      'membership.idTemplate: must contain {cluster}',
      'workloadIdentity.policy: Invalid option: expected one of "enable"|"require"|"ignore"',
      'namespaces.0: must be a DNS-1123 label',
      'concurrency: Too big: expected number to be <=64',
      'maxEventAgeSeconds: Too small: expected number to be >=60',
      'selfPrincipals.0: Invalid email address',
      'logLevel: Invalid option: expected one of "debug"|"info"|"warning"|"error"',
      `endpoints.gkehub: ${loopbackMessage}`,
      '(root): Unrecognized key: "typo"',
      'spokes.0.project: project other-prj-99 is not in projects',
    ];
    assert.deepEqual([...caught.problems].sort(), [...expected].sort());
    // The message is what an operator sees at cold start: a count, then one line per problem.
    const lines = caught.message.split('\n');
    assert.equal(lines[0], `invalid SPOKEFLEET_CONFIG (${expected.length} problems):`);
    assert.equal(lines.length, expected.length + 1);
    for (const problem of expected) assert.ok(lines.includes(`- ${problem}`), problem);
    assert.equal(caught.name, 'ConfigError');
  });

  it('says "1 problem" in the singular', () => {
    assert.throws(() => parseConfig({ ...base(), dryRun: 1 }), {
      name: 'ConfigError',
      message: /^invalid SPOKEFLEET_CONFIG \(1 problem\):\n- dryRun: /,
    });
  });
});

describe('config: isLoopbackUrl', () => {
  const table: Array<[string, boolean]> = [
    ['127.0.0.1:8080', true],
    ['http://127.0.0.1', true],
    ['http://127.255.255.254:1', true],
    ['https://localhost:8443/path', true],
    ['http://[::1]:9000', true],
    ['localhost', true],
    ['http://10.0.0.1', false],
    ['10.0.0.1:80', false],
    ['http://example.com', false],
    ['https://169.254.169.254/computeMetadata/v1', false],
    ['http://metadata.google.internal', false],
    ['http://localhost.example.com', false],
    ['http://127.0.0.1.example.com', false],
    ['http://example.com#@127.0.0.1', false],
    ['http://[::ffff:a00:1]', false],
    ['', false],
    ['http://', false],
  ];
  for (const [url, expected] of table) {
    it(`${JSON.stringify(url)} → ${expected}`, () => {
      assert.equal(isLoopbackUrl(url), expected);
    });
  }
});

describe('config: parseConfigJson and loadConfig', () => {
  const text = JSON.stringify(base());

  const bad: Array<[string, string | undefined, RegExp]> = [
    ['unset', undefined, /^invalid SPOKEFLEET_CONFIG \(1 problem\):\n- SPOKEFLEET_CONFIG is not set$/],
    ['empty', '', /- SPOKEFLEET_CONFIG is not set$/],
    ['blank', '  \n', /- SPOKEFLEET_CONFIG is not set$/],
    ['not JSON', '{fleetProject:', /- SPOKEFLEET_CONFIG is not JSON: /],
    ['JSON but invalid', '{"fleetProject":"x"}', /\(3 problems\)/],
  ];
  for (const [name, input, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseConfigJson(input),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('parses valid JSON text', () => {
    assert.equal(parseConfigJson(text).fleetProject, 'fleet-host-prj');
  });

  afterEach(() => resetConfigCache());

  it('loadConfig reads the environment once and caches the result', () => {
    resetConfigCache();
    const env: NodeJS.ProcessEnv = { SPOKEFLEET_CONFIG: text };
    const first = loadConfig(env);
    env.SPOKEFLEET_CONFIG = JSON.stringify({ ...base(), fleetProject: 'other-fleet-prj' });
    assert.equal(loadConfig(env), first);
    // Even a broken environment does not matter once loaded.
    assert.equal(loadConfig({}), first);
    resetConfigCache();
    assert.equal(loadConfig(env).fleetProject, 'other-fleet-prj');
  });

  it('loadConfig throws on an invalid environment and caches nothing', () => {
    resetConfigCache();
    assert.throws(() => loadConfig({}), ConfigError);
    assert.equal(loadConfig({ SPOKEFLEET_CONFIG: text }).fleetProject, 'fleet-host-prj');
  });

  it('loadConfig defaults to process.env', () => {
    resetConfigCache();
    const saved = process.env.SPOKEFLEET_CONFIG;
    process.env.SPOKEFLEET_CONFIG = text;
    try {
      assert.equal(loadConfig().projects[0], 'spoke-prj-one');
    } finally {
      if (saved === undefined) delete process.env.SPOKEFLEET_CONFIG;
      else process.env.SPOKEFLEET_CONFIG = saved;
    }
  });
});
