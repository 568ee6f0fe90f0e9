import assert from 'node:assert/strict';
import {
  fieldsMatch,
  labelsMatch,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from '../../sandbox/kube/selectors';

describe('kube label selectors', () => {
  const web = { app: 'web', tier: 'frontend', 'spokefleet.io/export': 'true', replicas: '3' };
  const db = { app: 'db', tier: 'backend' };

  const cases: Array<[string, boolean, boolean]> = [
    // selector, matches web, matches db
    ['', true, true],
    ['app=web', true, false],
    ['app==web', true, false],
    ['app!=web', false, true],
    ['spokefleet.io/export', true, false],
    ['!spokefleet.io/export', false, true],
    ['spokefleet.io/export=true', true, false],
    ['app in (web,db)', true, true],
    ['app in (web, api)', true, false],
    ['app notin (web)', false, true],
    ['missing notin (x)', true, true],
    ['missing!=x', true, true],
    ['app=web,tier=frontend', true, false],
    ['app=web,tier=backend', false, false],
    [' app = web , !missing ', true, false],
    ['replicas>2', true, false],
    ['replicas<2', false, false],
    ['app=', false, false],
  ];
  for (const [selector, matchesWeb, matchesDb] of cases) {
    it(`"${selector}" → web ${matchesWeb}, db ${matchesDb}`, () => {
      const requirements = parseLabelSelector(selector);
      assert.equal(labelsMatch(requirements, web), matchesWeb);
      assert.equal(labelsMatch(requirements, db), matchesDb);
    });
  }

  it('treats an empty value as matching the empty label value', () => {
    assert.equal(labelsMatch(parseLabelSelector('app='), { app: '' }), true);
  });

  for (const bad of ['app in ()', 'app in (a', 'app=web,', '=web', 'app in web', 'app>x', 'a b']) {
    it(`rejects "${bad}"`, () => {
      assert.throws(() => parseLabelSelector(bad), SelectorError);
    });
  }
});

describe('kube field selectors', () => {
  const svc = { metadata: { name: 'nginx', namespace: 'mcs-common' }, spec: { type: 'ClusterIP' } };
  const cases: Array<[string, boolean]> = [
    ['metadata.name=nginx', true],
    ['metadata.name==nginx', true],
    ['metadata.name!=nginx', false],
    ['metadata.name=nginx,metadata.namespace=mcs-common', true],
    ['metadata.name=nginx,metadata.namespace=default', false],
    ['spec.type=ClusterIP', true],
    ['spec.missing=', true],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" → ${expected}`, () => {
      assert.equal(fieldsMatch(parseFieldSelector(selector), svc), expected);
    });
  }

  it('unescapes values', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b'), [
      { field: 'metadata.name', operator: '=', value: 'a,b' },
    ]);
  });

  it('rejects a term without an operator', () => {
    assert.throws(() => parseFieldSelector('metadata.name'), SelectorError);
  });
});
