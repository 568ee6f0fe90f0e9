import assert from 'node:assert/strict';
import { type Json, jsonPatch, mergePatch, PatchError, strategicMergePatch } from '../../sandbox/kube/patch';

const SERVICE_KEYS = { 'spec.ports': 'port' };

/** The fields the strategic-merge tests read back. */
interface Service {
  metadata: { labels: Record<string, string> };
  spec: { clusterIP: string; ports: Array<{ port: number }> };
}

describe('kube merge patch (RFC 7386)', () => {
  // Examples from RFC 7386 appendix A, plus the label removal `kubectl label key-` sends.
  const cases: Array<[string, Json, Json, Json]> = [
    ['replaces a value', { a: 'b' }, { a: 'c' }, { a: 'c' }],
    ['adds a key', { a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    ['null removes a key', { a: 'b' }, { a: null }, {}],
    ['replaces a list whole', { a: ['b'] }, { a: ['c'] }, { a: ['c'] }],
    ['merges nested objects', { a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    ['a non-object patch replaces', { a: 'foo' }, ['bar'], ['bar']],
    [
      'removes a label',
      { metadata: { labels: { 'spokefleet.io/export': 'true', app: 'web' } } },
      { metadata: { labels: { 'spokefleet.io/export': null } } },
      { metadata: { labels: { app: 'web' } } },
    ],
  ];
  for (const [what, target, patch, expected] of cases) {
    it(what, () => {
      const before = structuredClone(target);
      assert.deepEqual(mergePatch(target, patch), expected);
      assert.deepEqual(target, before, 'the target is not modified');
    });
  }
});

describe('kube strategic merge patch', () => {
  const service: Json = {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      clusterIP: '10.96.0.7',
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, protocol: 'TCP' },
      ],
    },
  };

  it('merges ports by port and keeps fields the patch does not name', () => {
    const patch = { spec: { ports: [{ port: 80, targetPort: 9090 }] } };
    const result = strategicMergePatch(service, patch, SERVICE_KEYS) as unknown as Service;
    assert.deepEqual(result.spec.ports, [
      { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' },
      { name: 'https', port: 443, protocol: 'TCP' },
    ]);
    assert.equal(result.spec.clusterIP, '10.96.0.7');
  });

  it('applies the patch kubectl apply sends when a port is added (with $setElementOrder)', () => {
    const patch = {
      spec: {
        '$setElementOrder/ports': [{ port: 8443 }, { port: 80 }, { port: 443 }],
        ports: [{ name: 'alt', port: 8443 }],
      },
    };
    const result = strategicMergePatch(service, patch, SERVICE_KEYS) as unknown as Service;
    assert.deepEqual(
      result.spec.ports.map((p) => p.port),
      [8443, 80, 443],
    );
    assert.equal(
      Object.keys(result.spec).some((k) => k.startsWith('$')),
      false,
      'no directive is stored',
    );
  });

  it('deletes a list element with $patch: delete', () => {
    const patch = { spec: { ports: [{ $patch: 'delete', port: 443 }] } };
    const result = strategicMergePatch(service, patch, SERVICE_KEYS) as unknown as Service;
    assert.deepEqual(
      result.spec.ports.map((p) => p.port),
      [80],
    );
  });

  it('replaces a map with $patch: replace', () => {
    const patch = { metadata: { labels: { $patch: 'replace', tier: 'edge' } } };
    const result = strategicMergePatch(service, patch, SERVICE_KEYS) as unknown as Service;
    assert.deepEqual(result.metadata.labels, { tier: 'edge' });
  });

  it('null removes a key, as in a merge patch', () => {
    const result = strategicMergePatch(
      service,
      { metadata: { labels: { app: null } } },
      SERVICE_KEYS,
    ) as unknown as Service;
    assert.deepEqual(result.metadata.labels, {});
  });

  it('replaces lists without a merge key', () => {
    const target = { spec: { selector: { app: 'a' }, externalIPs: ['1.1.1.1', '2.2.2.2'] } };
    const result = strategicMergePatch(target, { spec: { externalIPs: ['3.3.3.3'] } }, SERVICE_KEYS);
    assert.deepEqual(result, { spec: { selector: { app: 'a' }, externalIPs: ['3.3.3.3'] } });
  });

  it('removes values with $deleteFromPrimitiveList and unions finalizers', () => {
    const target = { metadata: { finalizers: ['a', 'b'] } };
    assert.deepEqual(strategicMergePatch(target, { metadata: { finalizers: ['c'] } }, {}), {
      metadata: { finalizers: ['a', 'b', 'c'] },
    });
    assert.deepEqual(
      strategicMergePatch(target, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, {}),
      {
        metadata: { finalizers: ['b'] },
      },
    );
  });

  it('keeps only $retainKeys', () => {
    const target = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } };
    assert.deepEqual(strategicMergePatch(target, patch, {}), { spec: { strategy: { type: 'Recreate' } } });
  });
});

describe('kube JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, list: ['x', 'y'] };
  const cases: Array<[string, Json, Json]> = [
    [
      'add a key',
      [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
      { metadata: { labels: { a: '1', b: '2' } }, list: ['x', 'y'] },
    ],
    [
      'add to the end of a list',
      [{ op: 'add', path: '/list/-', value: 'z' }],
      { metadata: { labels: { a: '1' } }, list: ['x', 'y', 'z'] },
    ],
    [
      'insert into a list',
      [{ op: 'add', path: '/list/0', value: 'w' }],
      { metadata: { labels: { a: '1' } }, list: ['w', 'x', 'y'] },
    ],
    [
      'remove',
      [{ op: 'remove', path: '/metadata/labels/a' }],
      { metadata: { labels: {} }, list: ['x', 'y'] },
    ],
    [
      'replace',
      [{ op: 'replace', path: '/list/1', value: 'q' }],
      { metadata: { labels: { a: '1' } }, list: ['x', 'q'] },
    ],
    [
      'move',
      [{ op: 'move', from: '/list/0', path: '/metadata/first' }],
      { metadata: { labels: { a: '1' }, first: 'x' }, list: ['y'] },
    ],
    [
      'copy',
      [{ op: 'copy', from: '/metadata/labels', path: '/copied' }],
      { metadata: { labels: { a: '1' } }, list: ['x', 'y'], copied: { a: '1' } },
    ],
    ['a passing test', [{ op: 'test', path: '/metadata/labels/a', value: '1' }], doc],
    [
      'escaped pointers',
      [{ op: 'add', path: '/metadata/labels/spokefleet.io~1export', value: 'true' }],
      { metadata: { labels: { a: '1', 'spokefleet.io/export': 'true' } }, list: ['x', 'y'] },
    ],
  ];
  for (const [what, operations, expected] of cases) {
    it(what, () => {
      assert.deepEqual(jsonPatch(doc, operations), expected);
    });
  }

  const failures: Array<[string, Json, boolean]> = [
    ['a failing test', [{ op: 'test', path: '/metadata/labels/a', value: '2' }], false],
    ['removing a missing key', [{ op: 'remove', path: '/nope' }], false],
    ['replacing a missing key', [{ op: 'replace', path: '/nope', value: 1 }], false],
    ['an unknown op', [{ op: 'frobnicate', path: '/a' }], true],
    ['a patch that is not a list', { op: 'add' }, true],
  ];
  for (const [what, operations, malformed] of failures) {
    it(`fails on ${what}`, () => {
      assert.throws(
        () => jsonPatch(doc, operations),
        (error: unknown) => error instanceof PatchError && error.malformed === malformed,
      );
    });
  }
});
