// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${…}` are Cloud Build substitutions
/**
 * cloudbuild.yaml and the scripts its steps run. The pipeline cannot run here, so: every step must run something
 * that exists (an image binary, or a script in this repository that parses), every `npm run X` must be a
 * package.json script, every substitution must be declared; and the Terraform and dead-letter scripts are run
 * against fake `terraform` / `gcloud` executables that record their arguments.
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
  it('declares the _PROJECT, _REGION and _STATE_BUCKET substitutions, and every one it uses', () => {
    const config = build();
    for (const name of ['_PROJECT', '_REGION', '_STATE_BUCKET'])
      assert.ok(name in config.substitutions, name);
    const used = [...read(join(ROOT, 'cloudbuild.yaml')).matchAll(/\$\{(_[A-Z0-9_]+)\}/g)].map((m) => m[1]);
    assert.deepStrictEqual(
      [...new Set(used)].filter((u) => !(u in config.substitutions)),
      [],
    );
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
    assert.deepStrictEqual(called, ['lint', 'typecheck', 'test:unit', 'test:wire', 'build']);
    assert.deepStrictEqual(
      called.filter((name) => !(name in scripts)),
      [],
      'missing from package.json scripts',
    );
  });

  it('installs with npm ci on Node 22, then lints, type-checks, tests and builds before any plan', () => {
    const config = build();
    const byId = new Map(config.steps.map((s) => [s.id, s]));
    assert.deepStrictEqual(byId.get('install')?.args?.slice(0, 1), ['ci']);
    assert.equal(config.substitutions._NODE_IMAGE, 'node:22');
    assert.deepStrictEqual(byId.get('build')?.waitFor?.sort(), [
      'lint',
      'test-unit',
      'test-wire',
      'typecheck',
    ]);
    assert.ok(byId.get('terraform-plan')?.waitFor?.includes('build'), 'plan needs the bundle');
  });

  it('runs terraform fmt, init, plan and apply, in that order, apply after plan', () => {
    const steps = build().steps;
    const terraformSteps = steps
      .filter((s) => s.args?.[0] === 'scripts/ci-terraform.sh')
      .map((s) => s.args?.[1]);
    assert.deepStrictEqual(terraformSteps, ['fmt', 'init', 'plan', 'apply']);
    const apply = steps.find((s) => s.id === 'terraform-apply');
    assert.deepStrictEqual(apply?.waitFor, ['terraform-plan']);
    assert.ok(apply?.env?.includes('BRANCH_NAME=${BRANCH_NAME}'), 'apply sees the branch');
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

  it('attaches the dead-letter topic after apply', () => {
    const step = build().steps.find((s) => s.id === 'dead-letter');
    assert.deepStrictEqual(step?.args, ['scripts/dead-letter.sh', '--args-file', '.dead-letter-args']);
    assert.deepStrictEqual(step?.waitFor, ['terraform-apply']);
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
  // The fake prints a value for `terraform output`, like the real one does.
  beforeEach(() => {
    fake = fakeBin('terraform', 'case "$1" in output) printf -- "--project p --function f" ;; esac');
    tfDir = mkdtempSync(join(tmpdir(), 'tfdir-'));
  });
  afterEach(() => {
    fake.cleanup();
    rmSync(tfDir, { recursive: true, force: true });
  });

  it('apply does nothing off main', () => {
    writeFileSync(join(tfDir, 'tfplan'), 'plan');
    const result = run('ci-terraform.sh', ['apply'], { BRANCH_NAME: 'feature/x', TF_DIR: tfDir }, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.deepStrictEqual(fake.calls(), []);
    assert.match(result.stdout, /not main: plan only/);
  });

  it('apply on main applies the saved plan and writes the dead-letter arguments', () => {
    writeFileSync(join(tfDir, 'tfplan'), 'plan');
    const argsFile = join(tfDir, 'args');
    const env = { BRANCH_NAME: 'main', TF_DIR: tfDir, DEAD_LETTER_ARGS_FILE: argsFile };
    const result = run('ci-terraform.sh', ['apply'], env, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.deepStrictEqual(fake.calls(), [
      'apply -input=false -lock-timeout=5m tfplan',
      'output -raw dead_letter_args',
    ]);
    assert.equal(read(argsFile), '--project p --function f');
  });

  it('apply on main without a plan fails', () => {
    const result = run('ci-terraform.sh', ['apply'], { BRANCH_NAME: 'main', TF_DIR: tfDir }, fake.dir);
    assert.equal(result.status, 2);
    assert.deepStrictEqual(fake.calls(), []);
  });

  it('init configures the GCS backend from STATE_BUCKET, and refuses without it', () => {
    const ok = run('ci-terraform.sh', ['init'], { STATE_BUCKET: 'tf-state', TF_DIR: tfDir }, fake.dir);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepStrictEqual(fake.calls(), [
      'init -input=false -backend-config=bucket=tf-state -backend-config=prefix=spokefleet',
    ]);
    const missing = run('ci-terraform.sh', ['init'], { TF_DIR: tfDir }, fake.dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /STATE_BUCKET is not set/);
  });

  it('plan targets PROJECT and REGION and saves the plan', () => {
    const result = run(
      'ci-terraform.sh',
      ['plan'],
      { PROJECT: 'p1', REGION: 'us-east4', TF_DIR: tfDir },
      fake.dir,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepStrictEqual(fake.calls(), [
      'plan -input=false -lock-timeout=5m -var=project_id=p1 -var=region=us-east4 -out=tfplan',
    ]);
  });

  it('fmt checks terraform/ recursively', () => {
    const result = run('ci-terraform.sh', ['fmt'], { TF_DIR: tfDir }, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(fake.calls()[0], `fmt -check -diff -recursive ${join(ROOT, 'terraform')}`);
  });
});

describe('scripts/dead-letter.sh (against a fake gcloud)', () => {
  let fake: ReturnType<typeof fakeBin>;
  beforeEach(() => {
    // Answers the two describe calls the way gcloud does with --format=value(...).
    fake = fakeBin(
      'gcloud',
      `case "$1 $2" in
  "functions describe") echo "projects/p/locations/us-east4/triggers/$3-trigger" ;;
  "eventarc triggers") echo "projects/p/subscriptions/eventarc-us-east4-$(basename "$4")-sub-1" ;;
esac`,
    );
  });
  afterEach(() => fake.cleanup());

  const args = [
    '--project',
    'p',
    '--region',
    'us-east4',
    '--dead-letter-topic',
    'projects/p/topics/dl',
    '--max-delivery-attempts',
    '10',
    '--pubsub-service-agent',
    'service-1@gcp-sa-pubsub.iam.gserviceaccount.com',
    '--function',
    'sf-audit',
    '--function',
    'sf-reconcile',
  ];

  it('sets the dead-letter policy on each function’s Eventarc subscription and lets Pub/Sub pull from it', () => {
    const result = run('dead-letter.sh', args, {}, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    const calls = fake.calls();
    for (const fn of ['sf-audit', 'sf-reconcile']) {
      const subscription = `projects/p/subscriptions/eventarc-us-east4-${fn}-trigger-sub-1`;
      assert.ok(
        calls.includes(
          `pubsub subscriptions update ${subscription} --dead-letter-topic=projects/p/topics/dl --max-delivery-attempts=10 --min-retry-delay=10s --max-retry-delay=600s --quiet`,
        ),
        `update of ${fn}: ${calls.join('\n')}`,
      );
      assert.ok(
        calls.includes(
          `pubsub subscriptions add-iam-policy-binding ${subscription} --member=serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com --role=roles/pubsub.subscriber --quiet`,
        ),
        `binding of ${fn}`,
      );
    }
  });

  it('reads its arguments from the file `terraform output -raw dead_letter_args` wrote', () => {
    const file = join(fake.dir, 'args');
    writeFileSync(file, args.join(' '));
    const result = run('dead-letter.sh', ['--args-file', file], {}, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(fake.calls().filter((c) => c.startsWith('pubsub subscriptions update')).length, 2);
  });

  it('does nothing when nothing was applied (no args file)', () => {
    const result = run('dead-letter.sh', ['--args-file', join(fake.dir, 'absent')], {}, fake.dir);
    assert.equal(result.status, 0, result.stderr);
    assert.deepStrictEqual(fake.calls(), []);
  });

  it('refuses to run without a function', () => {
    const result = run('dead-letter.sh', args.slice(0, -4), {}, fake.dir);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--function is required/);
  });
});
