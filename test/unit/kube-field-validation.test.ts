/**
 * The Kubernetes stand-in's field checks against the served schemas (logic only; the wire behaviour is in
 * test/wire/kubectl-validation.test.ts and test/wire/kube.test.ts): which fields are unknown, how the decoder
 * names a value of the wrong type, what Warn and Ignore drop, how a strategic merge patch is quoted.
 */
import assert from 'node:assert/strict';
import { checkFields, directiveOf, goValue, withoutFields } from '../../sandbox/kube/field-validation';
import { RESOURCES, type ResourceType, resourceNamed } from '../../sandbox/kube/resources';
import { closure, componentOf, components } from '../../sandbox/kube/schemas';

function type(name: string): ResourceType {
  const found = resourceNamed(name);
  assert.ok(found, name);
  return found;
}

const service = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'web' }) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata,
  spec,
});

describe('kube stand-in: field validation against the served schemas', () => {
  it('a Service as kubectl writes it has no unknown field and no type error', () => {
    const report = checkFields(
      type('services'),
      service(
        {
          selector: { app: 'web' },
          ports: [
            { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
        },
        {
          name: 'web',
          labels: { app: 'web' },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
          // FieldsV1 is free-form: whatever it holds is not an unknown field.
          managedFields: [
            { manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': { 'f:ports': {} } } },
          ],
        },
      ),
    );
    assert.deepEqual(report, { unknown: [] });
  });

  it('unknown fields at any depth, in the order of the object, list items by index', () => {
    const report = checkFields(
      type('services'),
      service(
        { foo: 1, ports: [{ port: 80 }, { port: 81, bar: true }], selector: {} },
        { name: 'w', baz: 'x' },
      ),
    );
    assert.deepEqual(report.unknown, ['metadata.baz', 'spec.foo', 'spec.ports[1].bar']);
  });

  it('a value of the wrong type: the innermost struct, the path without indices, the Go type', () => {
    const port = checkFields(type('services'), service({ ports: [{ port: '80' }] })).mismatch;
    assert.deepEqual(port, {
      path: 'spec.ports[0].port',
      got: 'string',
      struct: 'ServicePort',
      field: 'spec.ports.port',
      goType: 'int32',
    });
    const spec = checkFields(type('services'), { ...service({}), spec: 'x' }).mismatch;
    assert.equal(spec?.struct, 'Service');
    assert.equal(spec?.goType, 'v1.ServiceSpec');
    const ports = checkFields(type('services'), service({ ports: { port: 80 } })).mismatch;
    assert.equal(ports?.goType, '[]v1.ServicePort');
    assert.equal(ports?.got, 'object');
    const labels = checkFields(type('services'), service({}, { name: 'w', labels: { a: 1 } })).mismatch;
    assert.equal(
      labels,
      undefined,
      'numbers are taken where a string is expected (quantities decode from both)',
    );
    const flag = checkFields(type('services'), service({ publishNotReadyAddresses: 'yes' })).mismatch;
    assert.equal(flag?.goType, 'bool');
  });

  it('int-or-string takes both an integer and a string; a fraction or an object is a type error', () => {
    assert.equal(
      checkFields(type('services'), service({ ports: [{ port: 80, targetPort: 80.5 }] })).mismatch?.got,
      'number',
    );
    assert.equal(
      checkFields(type('services'), service({ ports: [{ port: 80, targetPort: 8080 }] })).mismatch,
      undefined,
    );
    assert.equal(
      checkFields(type('services'), service({ ports: [{ port: 80, targetPort: 'web' }] })).mismatch,
      undefined,
    );
    assert.equal(
      checkFields(type('services'), service({ ports: [{ port: 80, targetPort: { x: 1 } }] })).mismatch?.path,
      'spec.ports[0].targetPort',
    );
  });

  it('a Deployment is checked down to its containers', () => {
    const report = checkFields(type('deployments'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, hostPot: 1 }] }] },
        },
      },
    });
    assert.deepEqual(report.unknown, ['spec.template.spec.containers[0].ports[0].hostPot']);
  });

  it("GKE's ServiceExport has no spec; custom resources are not type-checked", () => {
    const exported = type('serviceexports');
    assert.deepEqual(
      checkFields(exported, {
        apiVersion: 'net.gke.io/v1',
        kind: 'ServiceExport',
        metadata: { name: 'w' },
        spec: {},
      }).unknown,
      ['spec'],
    );
    const conditions = [{ type: 'Exported', status: 'True', lastTransitionTime: 'x', observedGeneration: 1 }];
    assert.deepEqual(checkFields(exported, { metadata: { name: 'w' }, status: { conditions } }).unknown, [
      'status.conditions[0].observedGeneration',
    ]);
    assert.equal(
      checkFields(exported, { metadata: { name: 'w' }, status: { conditions: 'x' } }).mismatch,
      undefined,
    );
  });

  it('withoutFields drops exactly the named paths, list items included, and leaves the input alone', () => {
    const input = service({ foo: 1, ports: [{ port: 80 }, { port: 81, bar: true }] });
    const dropped = withoutFields(input, ['spec.foo', 'spec.ports[1].bar']);
    assert.deepEqual(dropped, service({ ports: [{ port: 80 }, { port: 81 }] }));
    assert.equal((input.spec as { foo?: number }).foo, 1);
  });

  it("goValue prints a decoded JSON map as Go's %+v does: keys sorted, lists spaced, null as <nil>", () => {
    assert.equal(
      goValue({ spec: { foo: 'bar', ports: [{ port: 80 }, { port: 81 }] }, metadata: { x: null } }),
      'map[metadata:map[x:<nil>] spec:map[foo:bar ports:[map[port:80] map[port:81]]]]',
    );
  });

  it('the directive: Strict and Ignore as sent, anything else (or nothing) is Warn', () => {
    assert.equal(directiveOf(new URLSearchParams('fieldValidation=Strict')), 'Strict');
    assert.equal(directiveOf(new URLSearchParams('fieldValidation=Ignore')), 'Ignore');
    assert.equal(directiveOf(new URLSearchParams('fieldValidation=Warn')), 'Warn');
    assert.equal(directiveOf(new URLSearchParams('')), 'Warn');
  });

  it('schemas: every kind the stand-in serves has one, tagged with its group, version and kind', () => {
    const all = components();
    for (const served of RESOURCES) {
      const schema = all[componentOf(served)];
      assert.ok(schema?.properties?.metadata, `${served.kind} has a schema with metadata`);
      assert.deepEqual(schema['x-kubernetes-group-version-kind'], [
        { group: served.group, kind: served.kind, version: served.version },
      ]);
    }
    assert.deepEqual(RESOURCES.map(componentOf), [
      'io.k8s.api.core.v1.Namespace',
      'io.k8s.api.core.v1.Service',
      'io.k8s.api.core.v1.Event',
      'io.k8s.api.discovery.v1.EndpointSlice',
      'io.k8s.api.apps.v1.Deployment',
      'io.gke.net.v1.ServiceExport',
      'io.gke.net.v1.ServiceImport',
    ]);
  });

  it('schemas: each served kind is tagged with its group-version-kind and its closure is self-contained', () => {
    const all = components();
    const service = all['io.k8s.api.core.v1.Service'];
    assert.deepEqual(service['x-kubernetes-group-version-kind'], [
      { group: '', kind: 'Service', version: 'v1' },
    ]);
    assert.deepEqual(service.required, undefined, 'no property of a Service is required');
    assert.deepEqual(all['io.k8s.api.core.v1.ServicePort'].required, ['port']);
    const ports = all['io.k8s.api.core.v1.ServiceSpec'].properties?.ports;
    assert.equal(ports?.['x-kubernetes-patch-merge-key'], 'port');
    const some = closure([type('services')]);
    for (const text of Object.values(some).map((s) => JSON.stringify(s))) {
      for (const ref of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) assert.ok(some[ref[1]], ref[1]);
    }
  });
});
