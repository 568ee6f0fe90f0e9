/**
 * `spokefleet config validate`: "did you mean" for unknown keys, the checks that need the deployment (function
 * timeout, membership id placeholders), and a missing file said plainly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblems } from '../../cli/commands/config';
import { crossFieldProblems, explainedProblems, knownKeysAt, suggest } from '../../cli/config-checks';
import type { Io } from '../../cli/io';
import { run } from '../../cli/program';

const VALID = {
  fleetProject: 'acme-hub',
  projects: ['acme-spokes'],
  spokes: [{ network: 'gcp-spoke100' }],
};

function io(cwd: string) {
  const out = { text: '' };
  const err = { text: '' };
  const value: Io = {
    stdout: { write: (t: string) => (out.text += t) },
    stderr: { write: (t: string) => (err.text += t) },
    env: {},
    cwd,
  };
  return { io: value, out, err };
}

describe('cli config validate: did you mean', () => {
  it('knownKeysAt walks objects, wrappers, arrays and unions', () => {
    assert.ok(knownKeysAt([]).includes('invocationBudgetSeconds'));
    assert.deepEqual(knownKeysAt(['membership']).sort(), ['idTemplate', 'location']);
    assert.deepEqual(knownKeysAt(['workloadIdentity']).sort(), ['nodePools', 'policy']);
    assert.deepEqual(knownKeysAt(['spokes', 0]).sort(), ['network', 'networkPattern', 'project']);
    assert.ok(knownKeysAt(['aviatrix', 'advertise']).includes('verifyDelayMs'));
    assert.deepEqual(knownKeysAt(['nothing']), []);
  });

  it('suggest: a typo gets the key meant, an unrelated word gets nothing', () => {
    assert.equal(suggest('fleetProjct', knownKeysAt([])), 'fleetProject');
    assert.equal(suggest('namespace', knownKeysAt([])), 'namespaces');
    assert.equal(suggest('Concurrency', knownKeysAt([])), 'concurrency');
    assert.equal(suggest('idTempalte', knownKeysAt(['membership'])), 'idTemplate');
    assert.equal(suggest('colour', knownKeysAt([])), undefined);
  });

  it('explainedProblems: unknown keys at the root and nested, each with its suggestion', () => {
    const problems = explainedProblems({
      ...VALID,
      namespace: ['mcs-common'],
      membership: { idTempalte: '{cluster}' },
      colour: 'blue',
    });
    assert.equal(problems.length, 2, problems.join('\n'));
    problems.sort();
    assert.match(
      problems[0],
      /^\(root\): Unrecognized keys: "namespace", "colour" \("namespace": did you mean "namespaces"\?\)$/,
    );
    assert.match(
      problems[1],
      /^membership: Unrecognized key: "idTempalte" \("idTempalte": did you mean "idTemplate"\?\)$/,
    );
  });
});

describe('cli config validate: checks of the deployment', () => {
  it('invocationBudgetSeconds must be below the function timeout (the default budget included)', () => {
    assert.deepEqual(crossFieldProblems(VALID, { functionTimeoutSeconds: 540 }), []);
    const [tooLong] = crossFieldProblems(
      { ...VALID, invocationBudgetSeconds: 540 },
      { functionTimeoutSeconds: 540 },
    );
    assert.match(tooLong, /^invocationBudgetSeconds: 540 s is not below the function timeout \(540 s\)/);
    const [byDefault] = crossFieldProblems(VALID, { functionTimeoutSeconds: 300 });
    assert.match(
      byDefault,
      /^invocationBudgetSeconds: 480 s \(the default\) is not below the function timeout \(300 s\)/,
    );
    assert.deepEqual(
      crossFieldProblems({ ...VALID, invocationBudgetSeconds: 260 }, { functionTimeoutSeconds: 300 }),
      [],
    );
  });

  it('membership.idTemplate: only {cluster}, {project} and {location}', () => {
    assert.deepEqual(
      crossFieldProblems(
        { ...VALID, membership: { idTemplate: '{project}-{location}-{cluster}' } },
        { functionTimeoutSeconds: 540 },
      ),
      [],
    );
    const [problem] = crossFieldProblems(
      { ...VALID, membership: { idTemplate: '{cluster}-{region}-{Cluster}' } },
      { functionTimeoutSeconds: 540 },
    );
    assert.match(
      problem,
      /^membership\.idTemplate: unknown placeholders \{region\}, \{Cluster\} \(known: \{cluster\}, \{project\}, \{location\}\)/,
    );
  });
});

describe('cli config validate: the command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spokefleet-config-'));

  it('a missing file is said plainly, exit 1', async () => {
    const { io: cli, out } = io(dir);
    const code = await run(['config', 'validate', 'nope.json'], cli);
    assert.equal(code, 1);
    assert.equal(out.text, `${join(dir, 'nope.json')}: no such file\n`);
    const plan = io(dir);
    assert.equal(await run(['plan', '--fleet', '--config', 'nope.json'], plan.io), 1);
    assert.equal(plan.err.text, `error: no such file: ${join(dir, 'nope.json')}\n`);
  });

  it('--function-timeout reaches the budget check; schema problems come first and alone', async () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(VALID));
    const ok = io(dir);
    assert.equal(await run(['config', 'validate', 'ok.json'], ok.io), 0);
    const short = io(dir);
    assert.equal(await run(['config', 'validate', 'ok.json', '--function-timeout', '300'], short.io), 1);
    assert.match(short.out.text, /ok\.json: 1 problem\n {2}- invocationBudgetSeconds: 480 s \(the default\)/);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ ...VALID, concurency: 4 }));
    const typo = configProblems({ file: 'typo.json', json: false }, io(dir).io);
    assert.deepEqual(typo.problems, [
      '(root): Unrecognized key: "concurency" ("concurency": did you mean "concurrency"?)',
    ]);
  });
});
