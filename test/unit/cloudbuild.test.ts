// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${…}` are Cloud Build substitutions
/**
 * cloudbuild.yaml and the script its Terraform steps run. The pipeline cannot run here, so: every step must run
 * something that exists (an image binary, or a script in this repository that parses) in an image pinned to an
 * exact version, every `npm run X` must be a package.json script, every substitution must be declared; and
 * scripts/ci-terraform.sh is run against a fake `terraform` that records its arguments.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(path, 'utf8');

interface Step {
  id?: string;
  name: string;
  entrypoint?: string;
  args?: string[];
  env?: string[];
  waitFor?: string[];
}

interface CloudBuild {
  substitutions: Record<string, string>;
  steps: Step[];
  options?: Record<string, unknown>;
}

const build = (): CloudBuild => parse(read(join(ROOT, 'cloudbuild.yaml')));
const packageScripts = (): Record<string, string> => JSON.parse(read(join(ROOT, 'package.json'))).scripts;

/** Binaries the step images provide; anything else must be a file in the repository. */
const IMAGE_BINARIES = new Set(['npm', 'node', 'sh', 'bash', 'gcloud', 'terraform']);

describe('cloudbuild.yaml', () => {
  /** Set by Cloud Build itself for pull-request triggers; empty (ALLOW_LOOSE) elsewhere. */
  const BUILT_IN = new Set(['_PR_NUMBER']);

  it('declares the _STATE_BUCKET and _TFVARS_FILE substitutions, and every one it uses', () => {
    const config = build();
    for (const name of ['_STATE_BUCKET', '_TFVARS_FILE']) assert.ok(name in config.substitutions, name);
    const used = [...read(join(ROOT, 'cloudbuild.yaml')).matchAll(/\$\{(_[A-Z0-9_]+)\}/g)].map((m) => m[1]);
    assert.deepStrictEqual(
      [...new Set(used)].filter((u) => !(u in config.substitutions) && !BUILT_IN.has(u)),
      [],
    );
    assert.equal(config.options?.substitutionOption, 'ALLOW_LOOSE', '_PR_NUMBER is empty on pushes');
  });

  it('the deployment’s variables are a file in the repository, not an object in a bucket', () => {
    const config = build();
    assert.match(config.substitutions._TFVARS_FILE, /^terraform\/[\w.-]+\.tfvars$/);
    assert.doesNotMatch(read(join(ROOT, 'cloudbuild.yaml')), /gs:\/\/|storage, cp|gcloud/);
    const plan = config.steps.find((s) => s.id === 'terraform-plan');
    assert.ok(plan?.env?.includes('TFVARS_FILE=${_TFVARS_FILE}'));
  });

  it('every step image is pinned to an exact version or a digest, in the file (no substitution can swap it)', () => {
    const pinned = /^[a-z0-9./-]+(?::\d+\.\d+\.\d+(?:-[a-z0-9.-]+)?|@sha256:[0-9a-f]{64})$/;
    for (const step of build().steps) assert.match(step.name, pinned, step.id);
  });

  it('the Node.js image is Node 22 (package.json engines) and the Terraform image satisfies required_version', () => {
    const images = new Set(build().steps.map((s) => s.name));
    const node = [...images].find((i) => i.startsWith('node:'));
    assert.match(node ?? '', /^node:22\./);
    assert.equal(JSON.parse(read(join(ROOT, 'package.json'))).engines.node, '>=22');
    const tf = [...images].find((i) => i.startsWith('hashicorp/terraform:')) ?? '';
    const [major, minor] = tf.split(':')[1].split('.').map(Number);
    const required = /required_version = ">= (\d+)\.(\d+)"/.exec(
      read(join(ROOT, 'terraform', 'versions.tf')),
    );
    assert.ok(required);
    assert.ok(
      major > Number(required[1]) || (major === Number(required[1]) && minor >= Number(required[2])),
      tf,
    );
  });

  it('logs to Cloud Logging only (what a user-specified build account supports)', () => {
    assert.equal(build().options?.logging, 'CLOUD_LOGGING_ONLY');
  });

  it('every step runs an image binary or a repository script that exists and parses', () => {
    for (const step of build().steps) {
      const entrypoint = step.entrypoint ?? '';
      assert.ok(
        IMAGE_BINARIES.has(entrypoint) || existsSync(join(ROOT, entrypoint)),
        `${step.id}: ${entrypoint}`,
      );
      if (entrypoint === 'sh' || entrypoint === 'bash') {
        const script = step.args?.[0] ?? '';
        assert.ok(!script.startsWith('-'), `${step.id}: inline shell; put the logic in scripts/`);
        assert.ok(existsSync(join(ROOT, script)), `${step.id}: ${script} does not exist`);
        const syntax = spawnSync(entrypoint, ['-n', join(ROOT, script)], { encoding: 'utf8' });
        assert.equal(syntax.status, 0, `${script}: ${syntax.stderr}`);
      }
    }
  });

  it('every `npm run X` is a package.json script', () => {
    const scripts = packageScripts();
    const called = build()
      .steps.filter((s) => s.entrypoint === 'npm' && s.args?.[0] === 'run')
      .map((s) => s.args?.[1] ?? '');
    assert.deepStrictEqual(called, [
      'lint',
      'typecheck',
      'test:unit',
      'test:wire',
      'test:reliability',
      'build',
      'test:e2e:dist',
    ]);
    assert.deepStrictEqual(
      called.filter((name) => !(name in scripts)),
      [],
      'missing from package.json scripts',
    );
  });

  it('installs with npm ci, then lints, type-checks, tests and builds before any plan', () => {
    const config = build();
    const byId = new Map(config.steps.map((s) => [s.id, s]));
    assert.deepStrictEqual(byId.get('install')?.args?.slice(0, 1), ['ci']);
    assert.deepStrictEqual(byId.get('build')?.waitFor?.sort(), [
      'lint',
      'test-unit',
      'test-wire',
      'typecheck',
    ]);
    assert.ok(byId.get('terraform-plan')?.waitFor?.includes('build'), 'plan needs the bundle');
  });

  it('runs every suite — unit, wire, reliability, and e2e on the built bundle — before any plan', () => {
    const config = build();
    const byId = new Map(config.steps.map((s) => [s.id, s]));
    const scripts = packageScripts();
    // The suites by what they run, so a step that keeps its id but runs less fails here.
    const suite = (id: string) => {
      const step = byId.get(id);
      assert.equal(step?.entrypoint, 'npm', id);
      return scripts[String(step?.args?.[1])];
    };
    assert.match(suite('test-unit'), /mocha 'test\/unit\/\*\*\/\*\.test\.ts'/);
    assert.match(suite('test-wire'), /mocha 'test\/wire\/\*\*\/\*\.test\.ts'/);
    assert.match(suite('test-reliability'), /mocha 'test\/reliability\/\*\*\/\*\.test\.ts'/);
    assert.match(suite('test-e2e'), /mocha 'test\/e2e\/\*\*\/\*\.test\.ts'/);
    assert.deepStrictEqual(byId.get('test-e2e')?.waitFor, ['build'], 'e2e runs the bundle the build made');
    // Plan (and so apply) only after all of them, directly or through the build.
    const upstream = (id: string): Set<string> => {
      const out = new Set<string>();
      for (const dep of byId.get(id)?.waitFor ?? []) {
        out.add(dep);
        for (const d of upstream(dep)) out.add(d);
      }
      return out;
    };
    const plan = upstream('terraform-plan');
    for (const id of ['test-unit', 'test-wire', 'test-reliability', 'test-e2e'])
      assert.ok(plan.has(id), `terraform-plan waits for ${id}`);
  });

  it('runs terraform fmt, init, plan and apply, in that order, apply after plan, and nothing after apply', () => {
    const steps = build().steps;
    const terraformSteps = steps
      .filter((s) => s.args?.[0] === 'scripts/ci-terraform.sh')
      .map((s) => s.args?.[1]);
    assert.deepStrictEqual(terraformSteps, ['fmt', 'init', 'plan', 'apply']);
    const apply = steps.find((s) => s.id === 'terraform-apply');
    assert.deepStrictEqual(apply?.waitFor, ['terraform-plan']);
    assert.equal(steps.at(-1)?.id, 'terraform-apply');
    for (const id of ['terraform-init', 'terraform-plan', 'terraform-apply']) {
      const env = steps.find((s) => s.id === id)?.env ?? [];
      assert.ok(env.includes('BRANCH_NAME=${BRANCH_NAME}'), `${id} sees the branch`);
      assert.ok(env.includes('PR_NUMBER=${_PR_NUMBER}'), `${id} sees a pull request`);
    }
    const init = steps.find((s) => s.id === 'terraform-init');
    assert.ok(init?.env?.includes('STATE_BUCKET=${_STATE_BUCKET}'));
  });

  it('every waitFor names an earlier step', () => {
    const seen = new Set<string>(['-']);
    for (const step of build().steps) {
      for (const id of step.waitFor ?? []) assert.ok(seen.has(id), `${step.id} waits for unknown ${id}`);
      if (step.id) seen.add(step.id);
    }
  });
});

/** A directory with an executable that appends its arguments (one call per line) to calls.log. */
function fakeBin(name: string, body = ''): { dir: string; calls: () => string[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `fake-${name}-`));
  const log = join(dir, 'calls.log');
  writeFileSync(join(dir, name), `#!/bin/sh\necho "$*" >>"${log}"\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return {
    dir,
    calls: () => (existsSync(log) ? read(log).trim().split('\n').filter(Boolean) : []),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function run(script: string, args: string[], env: Record<string, string>, path: string) {
  return spawnSync('sh', [join(ROOT, 'scripts', script), ...args], {
    encoding: 'utf8',
    env: { PATH: `${path}:/usr/bin:/bin`, HOME: tmpdir(), ...env },
  });
}

describe('scripts/ci-terraform.sh (against a fake terraform)', () => {
  let fake: ReturnType<typeof fakeBin>;
  let tfDir: string;
  const tfvars = 'terraform/examples/single-project.tfvars';
  beforeEach(() => {
    fake = fakeBin('terraform');
    tfDir = mkdtempSync(join(tmpdir(), 'tfdir-'));
  });
  afterEach(() => {
    fake.cleanup();
    rmSync(tfDir, { recursive: true, force: true });
  });
  const ci = (step: string, env: Record<string, string>) =>
    run('ci-terraform.sh', [step], { TF_DIR: tfDir, ...env }, fake.dir);

  describe('apply', () => {
    it('applies the saved plan for a push to main', () => {
      writeFileSync(join(tfDir, 'tfplan'), 'plan');
      const result = ci('apply', { BRANCH_NAME: 'main' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), ['apply -input=false -lock-timeout=5m tfplan']);
    });

    it('does nothing off main', () => {
      writeFileSync(join(tfDir, 'tfplan'), 'plan');
      const result = ci('apply', { BRANCH_NAME: 'feature/x' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), []);
      assert.match(result.stdout, /plan only, nothing applied/);
    });

    it('does nothing for a pull request, even from a branch called main', () => {
      writeFileSync(join(tfDir, 'tfplan'), 'plan');
      const result = ci('apply', { BRANCH_NAME: 'main', PR_NUMBER: '42' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), []);
    });

    it('fails on main without a plan', () => {
      const result = ci('apply', { BRANCH_NAME: 'main' });
      assert.equal(result.status, 2);
      assert.deepStrictEqual(fake.calls(), []);
    });
  });

  describe('init', () => {
    it('configures the GCS backend from STATE_BUCKET and keeps the committed provider lock read-only', () => {
      writeFileSync(join(tfDir, '.terraform.lock.hcl'), '# locked');
      const ok = ci('init', { STATE_BUCKET: 'tf-state', BRANCH_NAME: 'main' });
      assert.equal(ok.status, 0, ok.stderr);
      assert.deepStrictEqual(fake.calls(), [
        'init -input=false -lockfile=readonly -backend-config=bucket=tf-state -backend-config=prefix=spokefleet',
      ]);
    });

    it('refuses to deploy without a committed provider lock file', () => {
      const result = ci('init', { STATE_BUCKET: 'tf-state', BRANCH_NAME: 'main' });
      assert.equal(result.status, 2);
      assert.match(result.stderr, /\.terraform\.lock\.hcl is not committed/);
      assert.deepStrictEqual(fake.calls(), []);
    });

    it('lets a plan build without a lock file go on (init writes one for that build)', () => {
      const result = ci('init', { STATE_BUCKET: 'tf-state', BRANCH_NAME: 'main', PR_NUMBER: '7' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), [
        'init -input=false -backend-config=bucket=tf-state -backend-config=prefix=spokefleet',
      ]);
    });

    it('refuses without STATE_BUCKET', () => {
      const missing = ci('init', {});
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /STATE_BUCKET is not set/);
    });
  });

  describe('plan', () => {
    it('plans with the reviewed tfvars file, taking the state lock on main', () => {
      const result = ci('plan', { TFVARS_FILE: tfvars, BRANCH_NAME: 'main' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), [
        `plan -input=false -lock-timeout=5m -var-file=${join(ROOT, tfvars)} -out=tfplan`,
      ]);
    });

    it('takes no state lock in a pull request (the planner account only reads)', () => {
      const result = ci('plan', { TFVARS_FILE: tfvars, BRANCH_NAME: 'feature/x', PR_NUMBER: '7' });
      assert.equal(result.status, 0, result.stderr);
      assert.deepStrictEqual(fake.calls(), [
        `plan -input=false -lock=false -lock-timeout=5m -var-file=${join(ROOT, tfvars)} -out=tfplan`,
      ]);
    });

    for (const [name, file, message] of [
      ['an absolute path', '/etc/passwd.tfvars', /inside the repository/],
      ['a path out of the repository', 'terraform/../../x.tfvars', /inside the repository/],
      ['not a .tfvars file', 'terraform/variables.tf', /must be a \.tfvars file/],
      ['a file that is not committed', 'terraform/deploy-missing.tfvars', /does not exist/],
    ] as const) {
      it(`refuses ${name}`, () => {
        const result = ci('plan', { TFVARS_FILE: file, BRANCH_NAME: 'main' });
        assert.equal(result.status, 2);
        assert.match(result.stderr, message);
        assert.deepStrictEqual(fake.calls(), []);
      });
    }
  });

  it('fmt checks terraform/ recursively (the example tfvars included)', () => {
    const result = ci('fmt', {});
    assert.equal(result.status, 0, result.stderr);
    assert.deepStrictEqual(fake.calls(), [`fmt -check -diff -recursive ${join(ROOT, 'terraform')}`]);
  });
});
