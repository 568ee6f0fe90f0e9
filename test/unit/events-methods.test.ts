import assert from 'node:assert/strict';
import {
  AUDIT_METHODS,
  CONTAINER_SERVICE,
  findAuditMethod,
  K8S_SERVICE,
  MAX_FILTER_LENGTH,
  sinkFilter,
} from '../../shared/events/methods';

/** The method names inside each `protoPayload.methodName=(…)` group, keyed by the serviceName beside it. */
function methodsByService(filter: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  const branch = /protoPayload\.serviceName="([^"]+)"[^()]*?protoPayload\.methodName=\(([^)]*)\)/g;
  for (const [, service, group] of filter.matchAll(branch)) {
    result[service] = group.split(' OR ').map((quoted) => JSON.parse(quoted));
  }
  return result;
}

const expectedByService = () => {
  const result: Record<string, string[]> = {};
  for (const m of AUDIT_METHODS) result[m.serviceName] = [...(result[m.serviceName] ?? []), m.methodName];
  return result;
};

describe('events/methods', () => {
  it('lists CreateCluster/DeleteCluster in v1 and v1beta1 and the four Service writes', () => {
    assert.deepStrictEqual(
      AUDIT_METHODS.map((m) => [m.serviceName, m.methodName, m.kind]),
      [
        [CONTAINER_SERVICE, 'google.container.v1.ClusterManager.CreateCluster', 'ClusterReady'],
        [CONTAINER_SERVICE, 'google.container.v1beta1.ClusterManager.CreateCluster', 'ClusterReady'],
        [CONTAINER_SERVICE, 'google.container.v1.ClusterManager.DeleteCluster', 'ClusterDeleted'],
        [CONTAINER_SERVICE, 'google.container.v1beta1.ClusterManager.DeleteCluster', 'ClusterDeleted'],
        [K8S_SERVICE, 'io.k8s.core.v1.services.create', 'ServiceChanged'],
        [K8S_SERVICE, 'io.k8s.core.v1.services.update', 'ServiceChanged'],
        [K8S_SERVICE, 'io.k8s.core.v1.services.patch', 'ServiceChanged'],
        [K8S_SERVICE, 'io.k8s.core.v1.services.delete', 'ServiceDeleted'],
      ],
    );
  });

  const lookups = [
    { service: CONTAINER_SERVICE, method: 'google.container.v1.ClusterManager.CreateCluster', found: true },
    { service: K8S_SERVICE, method: 'io.k8s.core.v1.services.patch', found: true },
    { service: K8S_SERVICE, method: 'google.container.v1.ClusterManager.CreateCluster', found: false },
    { service: CONTAINER_SERVICE, method: 'google.container.v1.ClusterManager.UpdateCluster', found: false },
    { service: K8S_SERVICE, method: 'io.k8s.core.v1.services.get', found: false },
    { service: K8S_SERVICE, method: 'io.k8s.core.v1.services.status.patch', found: false },
    { service: K8S_SERVICE, method: 'IO.K8S.CORE.V1.SERVICES.PATCH', found: false },
    { service: 'k8s.io ', method: 'io.k8s.core.v1.services.patch', found: false },
  ];
  for (const l of lookups) {
    it(`findAuditMethod(${JSON.stringify(l.service)}, ${l.method}) ${l.found ? 'finds' : 'does not find'} it`, () => {
      assert.equal(findAuditMethod(l.service, l.method) !== undefined, l.found);
    });
  }
});

describe('events/methods: sinkFilter', () => {
  it('contains every method of the list, under its service, and no other', () => {
    const filter = sinkFilter();
    assert.deepStrictEqual(methodsByService(filter), expectedByService());
    // No method-looking string outside those groups either.
    const all = [...filter.matchAll(/"((?:google\.container|io\.k8s)\.[^"]*)"/g)].map((m) => m[1]).sort();
    assert.deepStrictEqual(all, AUDIT_METHODS.map((m) => m.methodName).sort());
  });

  it('is the exact Logging query', () => {
    assert.equal(
      sinkFilter(),
      'logName:"cloudaudit.googleapis.com%2Factivity" AND ((' +
        'protoPayload.serviceName="container.googleapis.com" AND protoPayload.methodName=(' +
        '"google.container.v1.ClusterManager.CreateCluster" OR "google.container.v1beta1.ClusterManager.CreateCluster" OR ' +
        '"google.container.v1.ClusterManager.DeleteCluster" OR "google.container.v1beta1.ClusterManager.DeleteCluster"' +
        ') AND operation.last=true) OR (' +
        'protoPayload.serviceName="k8s.io" AND resource.type="k8s_cluster" AND protoPayload.methodName=(' +
        '"io.k8s.core.v1.services.create" OR "io.k8s.core.v1.services.update" OR ' +
        '"io.k8s.core.v1.services.patch" OR "io.k8s.core.v1.services.delete"' +
        ')))',
    );
  });

  it('excludes the given principals from the Service branch only, once each', () => {
    const sa = 'spokefleet@acme-spokes-prod.iam.gserviceaccount.com';
    const filter = sinkFilter({
      excludePrincipals: [sa, 'system:serviceaccount:kube-system:spokefleet', sa],
    });
    assert.ok(
      filter.endsWith(
        ' AND NOT protoPayload.authenticationInfo.principalEmail=' +
          `("${sa}" OR "system:serviceaccount:kube-system:spokefleet")))`,
      ),
    );
    assert.deepStrictEqual(methodsByService(filter), expectedByService());
  });

  it('has balanced parentheses and quotes, and fits the 20,000-character limit', () => {
    const filter = sinkFilter({ excludePrincipals: ['a@b.example'] });
    let depth = 0;
    for (const c of filter.replace(/"[^"]*"/g, '""')) {
      if (c === '(') depth++;
      if (c === ')') depth--;
      assert.ok(depth >= 0);
    }
    assert.equal(depth, 0);
    assert.equal((filter.match(/"/g) ?? []).length % 2, 0);
    assert.ok(filter.length < MAX_FILTER_LENGTH);
  });

  const refused = ['', 'a"b@example.com', 'evil\\@example.com', 'line\nbreak@example.com'];
  for (const principal of refused) {
    it(`refuses the principal ${JSON.stringify(principal)} rather than quoting it wrongly`, () => {
      assert.throws(
        () => sinkFilter({ excludePrincipals: [principal] }),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message === `not usable in a Logging query: ${JSON.stringify(principal)}`,
      );
    });
  }

  it('refuses a filter longer than Cloud Logging accepts', () => {
    const many = Array.from(
      { length: 500 },
      (_, i) => `automation-${i}@acme-spokes-prod.iam.gserviceaccount.com`,
    );
    assert.throws(() => sinkFilter({ excludePrincipals: many }), RangeError);
  });

  it('accepts a filter of exactly 20,000 characters; one more is refused, with both lengths', () => {
    const principal = (n: number) => `${'a'.repeat(n)}@acme.example`;
    const n = MAX_FILTER_LENGTH - sinkFilter({ excludePrincipals: [principal(0)] }).length;
    assert.equal(sinkFilter({ excludePrincipals: [principal(n)] }).length, MAX_FILTER_LENGTH);
    assert.throws(
      () => sinkFilter({ excludePrincipals: [principal(n + 1)] }),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message === 'sink filter is 20001 characters, Cloud Logging accepts 20000',
    );
  });
});
