/**
 * The `spokefleet` argument table: every valid combination reaches its handler with the request the function
 * would accept; every invalid one exits 2 with a message naming the problem, and no handler runs.
 */
import assert from 'node:assert/strict';
import { buildRequest, parseClusterArg, UsageError } from '../../cli/args';
import type { Io } from '../../cli/io';
import { type Handlers, run } from '../../cli/program';

class Capture {
  text = '';
  isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

interface Call {
  command: keyof Handlers;
  args: Record<string, unknown>;
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const io: Io = { stdout, stderr, env, cwd: '/work' };
  const calls: Call[] = [];
  const record =
    (command: keyof Handlers) =>
    async (args: object): Promise<number> => {
      calls.push({ command, args: args as Record<string, unknown> });
      return 0;
    };
  const handlers: Handlers = {
    reconcile: record('reconcile'),
    plan: record('plan'),
    status: record('status'),
    services: record('services'),
    configValidate: record('configValidate'),
  };
  const code = await run(argv, io, handlers);
  return { code, stdout: stdout.text, stderr: stderr.text, calls };
}

const TOPIC = 'projects/acme-hub/topics/spokefleet-reconcile';
const C1 = 'acme-spokes/us-east4/gke-1';

describe('cli: argument parsing', () => {
  const valid: Array<{ argv: string[]; env?: NodeJS.ProcessEnv; command: keyof Handlers; args: object }> = [
    {
      argv: ['reconcile', '--fleet', '--topic', TOPIC, '--request-id', 'r-1'],
      command: 'reconcile',
      args: { request: { scope: 'fleet', requestId: 'r-1' }, topic: TOPIC, sandbox: undefined, json: false },
    },
    {
      argv: ['reconcile', '--cluster', C1, '--dry-run', '--topic', TOPIC, '--request-id', 'r-2', '--json'],
      command: 'reconcile',
      args: {
        request: {
          scope: 'cluster',
          project: 'acme-spokes',
          location: 'us-east4',
          cluster: 'gke-1',
          dryRun: true,
          requestId: 'r-2',
        },
        topic: TOPIC,
        sandbox: undefined,
        json: true,
      },
    },
    {
      argv: ['reconcile', '--project', 'acme-spokes', '--request-id', 'r-3'],
      env: { SPOKEFLEET_RECONCILE_TOPIC: TOPIC },
      command: 'reconcile',
      args: { request: { scope: 'project', project: 'acme-spokes', requestId: 'r-3' }, topic: TOPIC },
    },
    {
      argv: ['reconcile', '--fleet', '--sandbox', '--request-id', 'r-4'],
      command: 'reconcile',
      args: {
        request: { scope: 'fleet', requestId: 'r-4' },
        topic: undefined,
        sandbox: '.sandbox/endpoints.json',
      },
    },
    {
      argv: ['plan', '--fleet', '--sandbox', '/tmp/x/endpoints.json', '--json'],
      command: 'plan',
      args: { request: { scope: 'fleet' }, sandbox: '/tmp/x/endpoints.json', json: true, verbose: false },
    },
    {
      argv: ['plan', '--project', 'acme-spokes', '--config', 'spokefleet.json', '-v'],
      command: 'plan',
      args: {
        request: { scope: 'project', project: 'acme-spokes' },
        config: 'spokefleet.json',
        verbose: true,
      },
    },
    {
      argv: ['plan', '--cluster', 'acme-spokes/us-east4-a/gke-1'],
      command: 'plan',
      args: {
        request: { scope: 'cluster', project: 'acme-spokes', location: 'us-east4-a', cluster: 'gke-1' },
      },
    },
    { argv: ['status'], command: 'status', args: { request: { scope: 'fleet' }, json: false } },
    {
      argv: ['status', '--project', 'acme-spokes', '--json', '--sandbox'],
      command: 'status',
      args: {
        request: { scope: 'project', project: 'acme-spokes' },
        json: true,
        sandbox: '.sandbox/endpoints.json',
      },
    },
    {
      argv: ['status', '--cluster', C1],
      command: 'status',
      args: { request: { scope: 'cluster', project: 'acme-spokes', location: 'us-east4', cluster: 'gke-1' } },
    },
    {
      argv: ['reconcile', '--project', 'acme-hub', '--topic', 'spokefleet-reconcile'],
      command: 'reconcile',
      args: {
        topic: 'projects/acme-hub/topics/spokefleet-reconcile',
      },
    },
    {
      argv: ['reconcile', '--fleet', '--topic', 'spokefleet-reconcile'],
      env: { CLOUDSDK_CORE_PROJECT: 'acme-hub' },
      command: 'reconcile',
      args: { topic: 'projects/acme-hub/topics/spokefleet-reconcile' },
    },
    { argv: ['status', '-o', 'wide'], command: 'status', args: { wide: true } },
    { argv: ['plan', '--fleet', '--all'], command: 'plan', args: { all: true } },
    { argv: ['plan', '--fleet'], command: 'plan', args: { all: false } },
    {
      argv: ['status', '--services', '--json', '--sandbox'],
      command: 'services',
      args: { json: true, sandbox: '.sandbox/endpoints.json' },
    },
    {
      argv: ['config', 'validate', 'spokefleet.json'],
      command: 'configValidate',
      args: { file: 'spokefleet.json', sandbox: undefined, json: false },
    },
    {
      argv: ['config', 'validate', '--sandbox'],
      command: 'configValidate',
      args: { file: undefined, sandbox: '.sandbox/endpoints.json' },
    },
  ];
  for (const { argv, env, command, args } of valid) {
    it(`spokefleet ${argv.join(' ')} → ${command}`, async () => {
      const result = await cli(argv, env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.equal(result.calls.length, 1);
      assert.equal(result.calls[0].command, command);
      for (const [key, value] of Object.entries(args)) {
        assert.deepEqual(result.calls[0].args[key], value, `${key} of ${argv.join(' ')}`);
      }
    });
  }

  it('reconcile without --request-id gets a generated one the function accepts', async () => {
    const result = await cli(['reconcile', '--fleet', '--topic', TOPIC]);
    assert.equal(result.code, 0);
    const request = result.calls[0].args.request as { requestId?: string };
    assert.match(request.requestId ?? '', /^cli-[a-z0-9]+-[0-9a-f]{6}$/);
  });

  const invalid: Array<{ argv: string[]; env?: NodeJS.ProcessEnv; message: RegExp }> = [
    {
      argv: ['plan'],
      message: /give a scope: --cluster PROJECT\/LOCATION\/CLUSTER, --project PROJECT or --fleet/,
    },
    {
      argv: ['plan', '--fleet', '--project', 'acme-spokes'],
      message: /--project and --fleet cannot be used together/,
    },
    { argv: ['plan', '--cluster', C1, '--fleet'], message: /--cluster and --fleet cannot be used together/ },
    {
      argv: ['status', '--cluster', C1, '--project', 'acme-spokes'],
      message: /--cluster and --project cannot/,
    },
    {
      argv: ['plan', '--cluster', 'acme-spokes/gke-1'],
      message: /--cluster must be PROJECT\/LOCATION\/CLUSTER/,
    },
    { argv: ['plan', '--cluster', 'a/b/c/d'], message: /--cluster must be PROJECT\/LOCATION\/CLUSTER/ },
    {
      argv: ['plan', '--cluster', 'acme-spokes//gke-1'],
      message: /--cluster must be PROJECT\/LOCATION\/CLUSTER/,
    },
    {
      argv: ['plan', '--cluster', 'Acme/us-east4/gke-1'],
      message: /project: must be a Google Cloud project id/,
    },
    { argv: ['plan', '--cluster', 'acme-spokes/east/gke-1'], message: /location: must be a zone or region/ },
    {
      argv: ['plan', '--cluster', 'acme-spokes/us-east4/GKE_1'],
      message: /cluster name: must be a GKE cluster name/,
    },
    { argv: ['plan', '--project', 'x'], message: /project: must be a Google Cloud project id/ },
    { argv: ['plan', '--cluster'], message: /option '--cluster <P\/L\/C>' argument missing/ },
    { argv: ['plan', '--fleet', '--bogus'], message: /unknown option '--bogus'/ },
    { argv: ['plan', '--fleet', 'extra'], message: /too many arguments/ },
    { argv: ['status', '--fleet'], message: /unknown option '--fleet'/ },
    { argv: ['status', '--services', '--project', 'p-1'], message: /--services.*cannot be used with/ },
    {
      argv: ['reconcile', '--fleet'],
      message: /--topic projects\/PROJECT\/topics\/TOPIC is required \(or --sandbox\)/,
    },
    {
      argv: ['reconcile', '--fleet', '--topic', 'spokefleet-reconcile'],
      message: /--topic spokefleet-reconcile needs a project: add --project PROJECT/,
    },
    {
      argv: ['reconcile', '--fleet'],
      env: { SPOKEFLEET_RECONCILE_TOPIC: 'spokefleet-reconcile' },
      message: /--topic spokefleet-reconcile needs a project/,
    },
    {
      argv: ['reconcile', '--fleet', '--topic', 'projects/p/topics'],
      message:
        /--topic must be a topic id \(with a project\) or projects\/PROJECT\/topics\/TOPIC, got "projects\/p\/topics"/,
    },
    { argv: ['status', '-o', 'yaml'], message: /argument 'yaml' is invalid.*Allowed choices are wide/ },
    {
      argv: ['reconcile', '--fleet', '--sandbox', '--request-id', 'naïve'],
      message: /--request-id: must be printable ASCII/,
    },
    {
      argv: ['reconcile', '--fleet', '--sandbox', '--request-id', 'x'.repeat(129)],
      message: /--request-id: Too big/i,
    },
    { argv: ['config', 'validate', 'a.json', 'b.json'], message: /too many arguments/ },
    {
      argv: ['config', 'validate'],
      message: /nothing to validate: give FILE, use --sandbox, or set SPOKEFLEET_CONFIG/,
    },
    { argv: ['deploy'], message: /unknown command 'deploy'/ },
    { argv: [], message: /Usage: spokefleet/ },
  ];
  for (const { argv, env, message } of invalid) {
    it(`spokefleet ${argv.join(' ') || '(nothing)'}${env ? ' (with env)' : ''} → exit 2`, async () => {
      const result = await cli(argv, env);
      assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.calls.length, 0, 'no handler runs');
      assert.equal(result.stdout, '', 'usage errors go to stderr');
    });
  }

  it('config validate without FILE takes SPOKEFLEET_CONFIG', async () => {
    const result = await cli(['config', 'validate'], { SPOKEFLEET_CONFIG: '{}' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.calls[0], {
      command: 'configValidate',
      args: { file: undefined, sandbox: undefined, json: false, functionTimeoutSeconds: 540 },
    });
  });

  it('--help and --version exit 0 on stdout', async () => {
    for (const argv of [['--help'], ['plan', '--help'], ['help', 'status'], ['--version']]) {
      const result = await cli(argv);
      assert.equal(result.code, 0, argv.join(' '));
      assert.notEqual(result.stdout, '');
      assert.equal(result.calls.length, 0);
    }
  });

  it('a handler error exits 1 with one line on stderr', async () => {
    const stderr = new Capture();
    const io: Io = { stdout: new Capture(), stderr, env: {}, cwd: '/' };
    const failing = async (): Promise<number> => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND pubsub.googleapis.com'), { code: 'ENOTFOUND' });
    };
    const code = await run(['reconcile', '--fleet', '--topic', TOPIC], io, {
      reconcile: failing,
      plan: failing,
      status: failing,
      services: failing,
      configValidate: failing,
    });
    assert.equal(code, 1);
    assert.equal(stderr.text, 'error: getaddrinfo ENOTFOUND pubsub.googleapis.com\n');
  });

  it('the handler exit code is the command exit code', async () => {
    const io: Io = { stdout: new Capture(), stderr: new Capture(), env: {}, cwd: '/' };
    const one = async () => 1;
    assert.equal(
      await run(['status'], io, {
        reconcile: one,
        plan: one,
        status: one,
        services: one,
        configValidate: one,
      }),
      1,
    );
  });
});

describe('cli: args helpers', () => {
  it('parseClusterArg splits P/L/C and rejects other shapes', () => {
    assert.deepEqual(parseClusterArg('p-123456/us-east4/c'), {
      project: 'p-123456',
      location: 'us-east4',
      name: 'c',
    });
    for (const bad of ['', 'p', 'p/l', 'p/l/c/x', '/l/c', 'p/ /c']) {
      assert.throws(() => parseClusterArg(bad), UsageError, bad);
    }
  });

  it('buildRequest validates with the function parser (strict: no unknown scope fields)', () => {
    assert.deepEqual(buildRequest({ fleet: true }, { dryRun: true }), { scope: 'fleet', dryRun: true });
    assert.deepEqual(buildRequest({}, { defaultFleet: true }), { scope: 'fleet' });
    assert.throws(() => buildRequest({}), UsageError);
  });
});
