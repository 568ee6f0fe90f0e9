/**
 * The Kubernetes stand-in seen through @kubernetes/client-node 2 over HTTPS, as Spokefleet's kube adapter
 * will see it: CRUD per kind, Status errors, selectors, patches, cascade, auth, faults and audit entries.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { MemorySink } from '../../sandbox/audit/sink';
import { FaultInjector, type FaultKind } from '../../sandbox/faults';
import { type KubeServer, kubeconfigYaml, NAMESPACE_CONTROLLER, startKubeServer } from '../../sandbox/kube';
import type { AuditLog, LogEntry } from '../../shared/events/types';

const cluster = { project: 'spoke-project', location: 'us-east4', name: 'gke-us-east4-cluster-1' };
const PRINCIPAL = 'alice@example.com';
const TOKENS: Record<string, string> = { 'alice-token': PRINCIPAL };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const MCS = { group: 'net.gke.io', version: 'v1', plural: 'serviceexports' };

interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ field?: string }> };
  code: number;
}

/** The ApiException a call fails with. client-node 2 leaves the body of an error response as text. */
async function rejection(call: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return error;
    throw error;
  }
  assert.fail('expected the call to fail');
}

async function statusOf(call: Promise<unknown>): Promise<StatusBody> {
  const error = await rejection(call);
  const status = JSON.parse(error.body) as StatusBody;
  assert.equal(status.code, error.code, 'the Status code is the HTTP code');
  return status;
}

function payloadOf(entry: LogEntry): AuditLog {
  assert.ok(entry.protoPayload, 'the entry has an audit payload');
  return entry.protoPayload;
}

function clientsFor(server: KubeServer, token = 'alice-token') {
  const kc = new KubeConfig();
  kc.loadFromString(
    kubeconfigYaml([{ name: 'c1', server: server.url, caCertificate: server.caCertificate, token }]),
  );
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    apps: kc.makeApiClient(AppsV1Api),
  };
}

function service(name: string, labels: Record<string, string> = {}) {
  return {
    metadata: { name, labels },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] },
  };
}

describe('kube stand-in over the wire (client-node)', function () {
  this.timeout(10000);
  let server: KubeServer;
  let faults: FaultInjector;
  let audit: MemorySink;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let discovery: DiscoveryV1Api;
  let apps: AppsV1Api;
  let kc: KubeConfig;
  let namespaceCount = 0;

  before(async () => {
    faults = new FaultInjector({ seed: 1 });
    audit = new MemorySink();
    server = await startKubeServer({ cluster, faults, audit, principalFor: (token) => TOKENS[token] });
    ({ core, custom, discovery, apps, kc } = clientsFor(server));
  });
  after(() => server.close());
  afterEach(() => {
    faults.clearRules();
    faults.resetCounters();
  });

  /** A fresh namespace per test keeps the tests independent. */
  async function freshNamespace(): Promise<string> {
    const name = `test-${++namespaceCount}`;
    await core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  function serviceEntries(namespace: string): LogEntry[] {
    return audit.entries.filter((e) =>
      e.protoPayload?.resourceName?.startsWith(`core/v1/namespaces/${namespace}/`),
    );
  }

  describe('discovery', () => {
    it('serves /version like a GKE 1.32 control plane', async () => {
      const version = await kc.makeApiClient(VersionApi).getCode();
      assert.equal(version.major, '1');
      assert.equal(version.minor, '32');
      assert.match(version.gitVersion, /^v1\.32\.\d+-gke/);
    });

    it('lists the core resources with kinds, verbs and short names', async () => {
      const list = await core.getAPIResources();
      const byName = new Map(list.resources.map((r) => [r.name, r]));
      assert.deepEqual(byName.get('namespaces')?.shortNames, ['ns']);
      assert.equal(byName.get('namespaces')?.namespaced, false);
      assert.deepEqual(byName.get('services')?.shortNames, ['svc']);
      assert.equal(byName.get('services')?.kind, 'Service');
      assert.ok(byName.get('services')?.verbs.includes('patch'));
      assert.deepEqual(byName.get('events')?.shortNames, ['ev']);
    });
  });

  describe('namespaces', () => {
    it('starts with the namespaces of a new cluster', async () => {
      const list = await core.listNamespace();
      assert.deepEqual(
        list.items.map((n) => n.metadata?.name),
        ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
      );
    });

    it('creates with server-side metadata and reads back', async () => {
      const created = await core.createNamespace({
        body: { metadata: { name: 'mcs-common', labels: { 'app.kubernetes.io/managed-by': 'spokefleet' } } },
      });
      assert.equal(created.kind, 'Namespace');
      assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
      assert.ok(created.metadata?.creationTimestamp instanceof Date);
      assert.equal(created.status?.phase, 'Active');
      assert.deepEqual(created.metadata?.labels, {
        'app.kubernetes.io/managed-by': 'spokefleet',
        'kubernetes.io/metadata.name': 'mcs-common',
      });
      const read = await core.readNamespace({ name: 'mcs-common' });
      assert.equal(read.metadata?.uid, created.metadata?.uid);
    });

    it('answers 409 AlreadyExists for a second create', async () => {
      const status = await statusOf(core.createNamespace({ body: { metadata: { name: 'kube-system' } } }));
      assert.deepEqual(status, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'namespaces "kube-system" already exists',
        reason: 'AlreadyExists',
        details: { name: 'kube-system', kind: 'namespaces' },
        code: 409,
      });
    });

    it('answers 404 NotFound for a missing namespace', async () => {
      const status = await statusOf(core.readNamespace({ name: 'nope' }));
      assert.equal(status.reason, 'NotFound');
      assert.equal(status.message, 'namespaces "nope" not found');
      assert.deepEqual(status.details, { name: 'nope', kind: 'namespaces' });
    });

    it('supports generateName', async () => {
      const created = await core.createNamespace({ body: { metadata: { generateName: 'gen-' } } });
      assert.match(created.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
    });

    it('deleting a namespace deletes everything in it, with the namespace controller auditing each Service', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedService({ namespace: ns, body: service('web') });
      await custom.createNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name: 'web' } },
      });
      await discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: {
          metadata: { name: 'web-abc' },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.0.0.1'] }],
        },
      });

      const answer = await core.deleteNamespace({ name: ns });
      assert.equal(answer.kind, 'Namespace');
      assert.equal((answer as { status?: { phase?: string } }).status?.phase, 'Terminating');

      for (const read of [
        core.readNamespace({ name: ns }),
        core.readNamespacedService({ namespace: ns, name: 'web' }),
        custom.getNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web' }),
        discovery.readNamespacedEndpointSlice({ namespace: ns, name: 'web-abc' }),
      ]) {
        assert.equal((await rejection(read)).code, 404);
      }
      const deletes = serviceEntries(ns).filter(
        (e) => e.protoPayload?.methodName === 'io.k8s.core.v1.services.delete',
      );
      assert.equal(deletes.length, 1);
      assert.equal(deletes[0].protoPayload?.authenticationInfo?.principalEmail, NAMESPACE_CONTROLLER);
    });

    for (const [name, expected] of [
      ['Upper', 'Invalid'],
      ['a'.repeat(64), 'Invalid'],
      ['9lives', 'created'],
    ] as const) {
      it(`validates namespace name "${name.slice(0, 12)}" as a DNS-1123 label → ${expected}`, async () => {
        if (expected === 'created') {
          const created = await core.createNamespace({ body: { metadata: { name } } });
          assert.equal(created.metadata?.name, name);
          return;
        }
        const status = await statusOf(core.createNamespace({ body: { metadata: { name } } }));
        assert.equal(status.code, 422);
        assert.equal(status.reason, expected);
        assert.equal(status.details?.kind, 'Namespace');
        assert.equal(status.details?.causes?.[0]?.field, 'metadata.name');
      });
    }
  });

  describe('services', () => {
    it('creates with defaults, reads, lists, replaces and deletes', async () => {
      const ns = await freshNamespace();
      const created = await core.createNamespacedService({
        namespace: ns,
        body: service('web', { app: 'web' }),
      });
      assert.equal(created.metadata?.namespace, ns);
      assert.match(created.spec?.clusterIP ?? '', /^10\.96\.\d+\.\d+$/);
      assert.equal(created.spec?.type, 'ClusterIP');
      assert.deepEqual(
        created.spec?.ports?.map((p) => ({ ...p })),
        [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }],
      );

      const read = await core.readNamespacedService({ namespace: ns, name: 'web' });
      assert.deepEqual(read.spec, created.spec);

      const list = await core.listNamespacedService({ namespace: ns });
      assert.equal(list.kind, 'ServiceList');
      assert.equal(list.apiVersion, 'v1');
      assert.deepEqual(
        list.items.map((s) => s.metadata?.name),
        ['web'],
      );
      assert.ok(Number(list.metadata?.resourceVersion) >= Number(created.metadata?.resourceVersion));

      read.spec = { ...read.spec, selector: { app: 'web2' } };
      const replaced = await core.replaceNamespacedService({ namespace: ns, name: 'web', body: read });
      assert.deepEqual(replaced.spec?.selector, { app: 'web2' });
      assert.equal(replaced.spec?.clusterIP, created.spec?.clusterIP, 'the cluster IP survives an update');
      assert.ok(Number(replaced.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));

      await core.deleteNamespacedService({ namespace: ns, name: 'web' });
      assert.equal((await rejection(core.readNamespacedService({ namespace: ns, name: 'web' }))).code, 404);
    });

    it('answers 404 and 409 as Status objects', async () => {
      const ns = await freshNamespace();
      const missing = await statusOf(core.readNamespacedService({ namespace: ns, name: 'nope' }));
      assert.deepEqual(
        { code: missing.code, reason: missing.reason, message: missing.message, details: missing.details },
        {
          code: 404,
          reason: 'NotFound',
          message: 'services "nope" not found',
          details: { name: 'nope', kind: 'services' },
        },
      );
      await core.createNamespacedService({ namespace: ns, body: service('web') });
      const again = await statusOf(core.createNamespacedService({ namespace: ns, body: service('web') }));
      assert.equal(again.code, 409);
      assert.equal(again.reason, 'AlreadyExists');
      assert.equal(again.message, 'services "web" already exists');
    });

    it('refuses to create in a namespace that does not exist', async () => {
      const status = await statusOf(
        core.createNamespacedService({ namespace: 'ghost', body: service('web') }),
      );
      assert.equal(status.code, 404);
      assert.equal(status.message, 'namespaces "ghost" not found');
      assert.deepEqual(status.details, { name: 'ghost', kind: 'namespaces' });
    });

    it('answers 409 Conflict for an update with a stale resourceVersion', async () => {
      const ns = await freshNamespace();
      const stale = await core.createNamespacedService({ namespace: ns, body: service('web') });
      await core.patchNamespacedService(
        { namespace: ns, name: 'web', body: { metadata: { labels: { a: 'b' } } } },
        mergePatch,
      );
      const status = await statusOf(
        core.replaceNamespacedService({ namespace: ns, name: 'web', body: stale }),
      );
      assert.equal(status.code, 409);
      assert.equal(status.reason, 'Conflict');
      assert.equal(
        status.message,
        'Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again',
      );
    });

    it('rejects a body whose name or namespace disagrees with the path (400)', async () => {
      const ns = await freshNamespace();
      const created = await core.createNamespacedService({ namespace: ns, body: service('web') });
      const renamed = { ...created, metadata: { ...created.metadata, name: 'other' } };
      const byName = await statusOf(
        core.replaceNamespacedService({ namespace: ns, name: 'web', body: renamed }),
      );
      assert.equal(byName.code, 400);
      assert.equal(byName.message, 'the name of the object (other) does not match the name on the URL (web)');
      const elsewhere = { ...service('x'), metadata: { name: 'x', namespace: 'default' } };
      const byNamespace = await statusOf(core.createNamespacedService({ namespace: ns, body: elsewhere }));
      assert.equal(byNamespace.code, 400);
    });

    for (const [name, valid] of [
      ['web-1', true],
      ['1web', false],
      ['web.v1', false],
      ['Web', false],
      ['w'.repeat(63), true],
      ['w'.repeat(64), false],
    ] as const) {
      it(`validates Service name "${name.slice(0, 10)}…" as a DNS-1035 label → ${valid ? 'created' : '422'}`, async () => {
        const ns = await freshNamespace();
        const call = core.createNamespacedService({ namespace: ns, body: service(name) });
        if (valid) {
          assert.equal((await call).metadata?.name, name);
        } else {
          const status = await statusOf(call);
          assert.equal(status.reason, 'Invalid');
          assert.match(
            status.message,
            new RegExp(`^Service "${name}" is invalid: metadata\\.name: Invalid value`),
          );
        }
      });
    }

    it('dryRun=All answers with the object it would have created, and stores and audits nothing', async () => {
      const ns = await freshNamespace();
      const dry = await core.createNamespacedService({ namespace: ns, body: service('web'), dryRun: 'All' });
      assert.equal(dry.metadata?.name, 'web');
      assert.match(dry.spec?.clusterIP ?? '', /^10\.96\./);
      assert.equal(server.api.store.get('services', ns, 'web'), undefined);
      assert.deepEqual(serviceEntries(ns), []);
    });

    it('rejects an invalid label value with 422', async () => {
      const ns = await freshNamespace();
      const status = await statusOf(
        core.createNamespacedService({
          namespace: ns,
          body: service('web', { 'spokefleet.io/export': 'yes please' }),
        }),
      );
      assert.equal(status.code, 422);
      assert.equal(status.details?.causes?.[0]?.field, 'metadata.labels');
    });

    describe('label selectors', () => {
      let ns: string;
      before(async () => {
        ns = await freshNamespace();
        const labelled: Array<[string, Record<string, string>]> = [
          ['exported', { 'spokefleet.io/export': 'true', tier: 'web' }],
          ['not-exported', { 'spokefleet.io/export': 'false', tier: 'web' }],
          ['plain', { tier: 'db' }],
          ['bare', {}],
        ];
        for (const [name, labels] of labelled)
          await core.createNamespacedService({ namespace: ns, body: service(name, labels) });
      });

      const cases: Array<[string, string[]]> = [
        ['spokefleet.io/export=true', ['exported']],
        ['spokefleet.io/export==true', ['exported']],
        ['spokefleet.io/export!=true', ['bare', 'not-exported', 'plain']],
        ['spokefleet.io/export', ['exported', 'not-exported']],
        ['!spokefleet.io/export', ['bare', 'plain']],
        ['tier in (web,db)', ['exported', 'not-exported', 'plain']],
        ['tier notin (web)', ['bare', 'plain']],
        ['tier=web,spokefleet.io/export=true', ['exported']],
        ['tier=web,!spokefleet.io/export', []],
      ];
      for (const [labelSelector, expected] of cases) {
        it(`"${labelSelector}"`, async () => {
          const list = await core.listNamespacedService({ namespace: ns, labelSelector });
          assert.deepEqual(
            list.items.map((s) => s.metadata?.name),
            expected,
          );
        });
      }

      it('applies across namespaces with a field selector on metadata.namespace', async () => {
        const list = await core.listServiceForAllNamespaces({
          labelSelector: 'spokefleet.io/export=true',
          fieldSelector: `metadata.namespace=${ns}`,
        });
        assert.deepEqual(
          list.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
          [`${ns}/exported`],
        );
      });

      it('selects by metadata.name', async () => {
        const list = await core.listNamespacedService({
          namespace: ns,
          fieldSelector: 'metadata.name=plain',
        });
        assert.deepEqual(
          list.items.map((s) => s.metadata?.name),
          ['plain'],
        );
      });

      it('answers 400 for a malformed selector or an unsupported field', async () => {
        assert.equal(
          (await statusOf(core.listNamespacedService({ namespace: ns, labelSelector: 'a in (' }))).code,
          400,
        );
        const field = await statusOf(
          core.listNamespacedService({ namespace: ns, fieldSelector: 'spec.selector=x' }),
        );
        assert.equal(field.message, 'field label not supported: spec.selector');
      });

      it('pages with limit and continue', async () => {
        const first = await core.listNamespacedService({ namespace: ns, limit: 3 });
        assert.deepEqual(
          first.items.map((s) => s.metadata?.name),
          ['bare', 'exported', 'not-exported'],
        );
        assert.equal(first.metadata?.remainingItemCount, 1);
        const rest = await core.listNamespacedService({
          namespace: ns,
          limit: 3,
          _continue: first.metadata?._continue,
        });
        assert.deepEqual(
          rest.items.map((s) => s.metadata?.name),
          ['plain'],
        );
        assert.equal(rest.metadata?._continue, undefined);
      });
    });

    describe('patch', () => {
      it('merge patch adds and (with null) removes a label', async () => {
        const ns = await freshNamespace();
        await core.createNamespacedService({ namespace: ns, body: service('web', { app: 'web' }) });
        const labelled = await core.patchNamespacedService(
          { namespace: ns, name: 'web', body: { metadata: { labels: { 'spokefleet.io/export': 'true' } } } },
          mergePatch,
        );
        assert.deepEqual(labelled.metadata?.labels, { app: 'web', 'spokefleet.io/export': 'true' });
        const unlabelled = await core.patchNamespacedService(
          { namespace: ns, name: 'web', body: { metadata: { labels: { 'spokefleet.io/export': null } } } },
          mergePatch,
        );
        assert.deepEqual(unlabelled.metadata?.labels, { app: 'web' });
      });

      it('strategic merge patch merges ports by port', async () => {
        const ns = await freshNamespace();
        await core.createNamespacedService({ namespace: ns, body: service('web') });
        const patched = await core.patchNamespacedService(
          {
            namespace: ns,
            name: 'web',
            body: {
              spec: {
                '$setElementOrder/ports': [{ port: 80 }, { port: 443 }],
                ports: [{ name: 'https', port: 443 }],
              },
            },
          },
          strategicPatch,
        );
        assert.deepEqual(
          patched.spec?.ports?.map((p) => [p.name, p.port]),
          [
            ['http', 80],
            ['https', 443],
          ],
        );
      });

      it('JSON patch (the client default) applies operations', async () => {
        const ns = await freshNamespace();
        await core.createNamespacedService({ namespace: ns, body: service('web') });
        const patched = await core.patchNamespacedService({
          namespace: ns,
          name: 'web',
          body: [{ op: 'add', path: '/metadata/labels/spokefleet.io~1export', value: 'true' }],
        });
        assert.equal(patched.metadata?.labels?.['spokefleet.io/export'], 'true');
      });

      it('a patch carrying a stale resourceVersion is a 409 Conflict', async () => {
        const ns = await freshNamespace();
        const created = await core.createNamespacedService({ namespace: ns, body: service('web') });
        await core.patchNamespacedService(
          { namespace: ns, name: 'web', body: { metadata: { labels: { a: '1' } } } },
          mergePatch,
        );
        const status = await statusOf(
          core.patchNamespacedService(
            {
              namespace: ns,
              name: 'web',
              body: { metadata: { resourceVersion: created.metadata?.resourceVersion, labels: { a: '2' } } },
            },
            mergePatch,
          ),
        );
        assert.equal(status.reason, 'Conflict');
      });

      it('answers 415 for server-side apply and 404 for a missing object', async () => {
        const ns = await freshNamespace();
        const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
        await core.createNamespacedService({ namespace: ns, body: service('web') });
        const unsupported = await statusOf(
          core.patchNamespacedService({ namespace: ns, name: 'web', body: {}, fieldManager: 'x' }, ssa),
        );
        assert.equal(unsupported.code, 415);
        assert.equal(unsupported.reason, 'UnsupportedMediaType');
        const missing = await statusOf(
          core.patchNamespacedService({ namespace: ns, name: 'nope', body: {} }, mergePatch),
        );
        assert.equal(missing.code, 404);
      });
    });
  });

  describe('other kinds', () => {
    it('serviceexports (net.gke.io/v1): create, get, list, merge patch, 409, delete', async () => {
      const ns = await freshNamespace();
      const body = {
        apiVersion: 'net.gke.io/v1',
        kind: 'ServiceExport',
        metadata: { name: 'web', labels: { 'app.kubernetes.io/managed-by': 'spokefleet' } },
      };
      const created = await custom.createNamespacedCustomObject({ ...MCS, namespace: ns, body });
      assert.equal(created.kind, 'ServiceExport');
      assert.equal(created.metadata.namespace, ns);
      assert.equal(created.metadata.generation, 1);
      const again = await statusOf(custom.createNamespacedCustomObject({ ...MCS, namespace: ns, body }));
      assert.equal(again.message, 'serviceexports.net.gke.io "web" already exists');
      assert.deepEqual(again.details, { name: 'web', group: 'net.gke.io', kind: 'serviceexports' });

      const read = await custom.getNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web' });
      assert.equal(read.metadata.uid, created.metadata.uid);
      const list = await custom.listNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        labelSelector: 'app.kubernetes.io/managed-by=spokefleet',
      });
      assert.equal(list.kind, 'ServiceExportList');
      assert.equal(list.apiVersion, 'net.gke.io/v1');
      assert.deepEqual(
        list.items.map((i: { kind: string; metadata: { name: string } }) => [i.kind, i.metadata.name]),
        [['ServiceExport', 'web']],
      );

      const patched = await custom.patchNamespacedCustomObject(
        { ...MCS, namespace: ns, name: 'web', body: { metadata: { annotations: { note: 'x' } } } },
        mergePatch,
      );
      assert.equal(patched.metadata.annotations.note, 'x');
      assert.equal(patched.metadata.generation, 1, 'metadata changes leave generation alone');

      // Custom resources take no strategic merge patch, as on a real API server.
      const smp = await statusOf(
        custom.patchNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web', body: {} }, strategicPatch),
      );
      assert.equal(smp.code, 415);

      await custom.deleteNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web' });
      const gone = await statusOf(custom.getNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web' }));
      assert.equal(gone.message, 'serviceexports.net.gke.io "web" not found');
    });

    it('serviceexports: replace requires a resourceVersion and keeps status, which /status writes', async () => {
      const ns = await freshNamespace();
      const created = await custom.createNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name: 'web' } },
      });
      const withStatus = await custom.patchNamespacedCustomObjectStatus(
        {
          ...MCS,
          namespace: ns,
          name: 'web',
          body: { status: { conditions: [{ type: 'Initialized', status: 'True' }] } },
        },
        mergePatch,
      );
      assert.deepEqual(withStatus.status, { conditions: [{ type: 'Initialized', status: 'True' }] });

      const noVersion = { ...created, metadata: { ...created.metadata, resourceVersion: undefined } };
      const invalid = await statusOf(
        custom.replaceNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web', body: noVersion }),
      );
      assert.equal(invalid.code, 422);

      const replaced = await custom.replaceNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        name: 'web',
        body: { ...withStatus, spec: { note: 'changed' }, status: { conditions: [] } },
      });
      assert.deepEqual(replaced.status, withStatus.status, 'the main resource does not write status');
      // GKE's ServiceExport schema has no spec: it is dropped (client-node sends no fieldValidation: Warn), so
      // nothing outside metadata and status changed and the generation stays.
      assert.equal((replaced as { spec?: unknown }).spec, undefined);
      assert.equal(replaced.metadata.generation, 1);
    });

    it("fieldValidation on custom objects: Strict refuses a field GKE's schema lacks (create and replace), Ignore drops it", async () => {
      const ns = await freshNamespace();
      const withSpec = {
        apiVersion: 'net.gke.io/v1',
        kind: 'ServiceExport',
        metadata: { name: 'web' },
        spec: { ports: [] },
      };
      const refused = await statusOf(
        custom.createNamespacedCustomObject({
          ...MCS,
          namespace: ns,
          body: withSpec,
          fieldValidation: 'Strict',
        }),
      );
      assert.equal(refused.code, 400);
      assert.equal(refused.reason, 'BadRequest');
      assert.equal(
        refused.message,
        'ServiceExport in version "v1" cannot be handled as a ServiceExport: strict decoding error: unknown field "spec"',
      );

      const created = await custom.createNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        body: withSpec,
        fieldValidation: 'Ignore',
      });
      assert.equal(created.spec, undefined, 'dropped');

      const replaced = await statusOf(
        custom.replaceNamespacedCustomObject({
          ...MCS,
          namespace: ns,
          name: 'web',
          body: { ...created, spec: { note: 'x' }, metadata: { ...created.metadata, labels: { a: 'b' } } },
          fieldValidation: 'Strict',
        }),
      );
      assert.equal(replaced.code, 400);
      assert.match(replaced.message ?? '', /strict decoding error: unknown field "spec"$/);
      const stored = await custom.getNamespacedCustomObject({ ...MCS, namespace: ns, name: 'web' });
      assert.equal(stored.metadata.labels, undefined, 'the refused replace wrote nothing');
    });

    it('serviceimports are served too, namespaced', async () => {
      const ns = await freshNamespace();
      await custom.createNamespacedCustomObject({
        group: 'net.gke.io',
        version: 'v1',
        plural: 'serviceimports',
        namespace: ns,
        body: {
          apiVersion: 'net.gke.io/v1',
          kind: 'ServiceImport',
          metadata: { name: 'web' },
          spec: { ips: ['10.0.0.9'] },
        },
      });
      const all = await custom.listClusterCustomObject({
        group: 'net.gke.io',
        version: 'v1',
        plural: 'serviceimports',
      });
      assert.ok(all.items.some((i: { metadata: { namespace: string } }) => i.metadata.namespace === ns));
    });

    it('endpointslices (discovery.k8s.io/v1): create, read, list by service label, delete', async () => {
      const ns = await freshNamespace();
      await discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: {
          metadata: { name: 'web-x1', labels: { 'kubernetes.io/service-name': 'web' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }],
          ports: [{ port: 8080 }],
        },
      });
      const read = await discovery.readNamespacedEndpointSlice({ namespace: ns, name: 'web-x1' });
      assert.equal(read.endpoints?.length, 2);
      const list = await discovery.listNamespacedEndpointSlice({
        namespace: ns,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      assert.equal(list.kind, 'EndpointSliceList');
      assert.deepEqual(
        list.items.map((s) => s.metadata?.name),
        ['web-x1'],
      );
      await discovery.deleteNamespacedEndpointSlice({ namespace: ns, name: 'web-x1' });
      assert.equal(
        (await rejection(discovery.readNamespacedEndpointSlice({ namespace: ns, name: 'web-x1' }))).code,
        404,
      );
    });

    it('deployments (apps/v1) are stored with generation tracking', async () => {
      const ns = await freshNamespace();
      const body = {
        metadata: { name: 'nginx' },
        spec: {
          selector: { matchLabels: { app: 'nginx' } },
          template: {
            metadata: { labels: { app: 'nginx' } },
            spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
          },
        },
      };
      const created = await apps.createNamespacedDeployment({ namespace: ns, body });
      assert.equal(created.metadata?.generation, 1);
      assert.equal(created.spec?.replicas, 1);
      const patched = await apps.patchNamespacedDeployment(
        {
          namespace: ns,
          name: 'nginx',
          body: { spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.28' }] } } } },
        },
        strategicPatch,
      );
      assert.equal(patched.spec?.template.spec?.containers[0].image, 'nginx:1.28');
      assert.equal(patched.metadata?.generation, 2);
      await apps.deleteNamespacedDeployment({ namespace: ns, name: 'nginx' });
      assert.deepEqual((await apps.listNamespacedDeployment({ namespace: ns })).items, []);
    });

    it('events (v1) are created and listed with a field selector', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name: 'web.1' },
          involvedObject: { kind: 'Service', name: 'web', namespace: ns },
          reason: 'Exported',
          message: 'ServiceExport created',
          type: 'Normal',
        },
      });
      const list = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'involvedObject.kind=Service,reason=Exported',
      });
      assert.deepEqual(
        list.items.map((e) => e.metadata.name),
        ['web.1'],
      );
    });
  });

  describe('watch', () => {
    it('streams ADDED, MODIFIED and DELETED for the watched namespace', async () => {
      const ns = await freshNamespace();
      const seen: string[] = [];
      let sawDelete: () => void = () => {};
      const deleted = new Promise<void>((resolve) => {
        sawDelete = resolve;
      });
      const abort = await new Watch(kc).watch(
        `/api/v1/namespaces/${ns}/services`,
        {},
        (type: string, object: { metadata: { name: string } }) => {
          seen.push(`${type} ${object.metadata.name}`);
          if (type === 'DELETED') sawDelete();
        },
        () => {},
      );
      await core.createNamespacedService({ namespace: ns, body: service('web') });
      await core.patchNamespacedService(
        { namespace: ns, name: 'web', body: { metadata: { labels: { a: 'b' } } } },
        mergePatch,
      );
      await core.deleteNamespacedService({ namespace: ns, name: 'web' });
      await deleted;
      abort.abort();
      assert.deepEqual(seen, ['ADDED web', 'MODIFIED web', 'DELETED web']);
    });
  });

  describe('watch from a resourceVersion', () => {
    it('replays what changed since a list, as informers rely on', async () => {
      const ns = await freshNamespace();
      const listed = await core.listNamespacedService({ namespace: ns });
      await core.createNamespacedService({ namespace: ns, body: service('late') });
      let firstEvent: (event: string) => void = () => {};
      const first = new Promise<string>((resolve) => {
        firstEvent = resolve;
      });
      const controller = await new Watch(kc).watch(
        `/api/v1/namespaces/${ns}/services`,
        { resourceVersion: listed.metadata?.resourceVersion },
        (type: string, object: { metadata: { name: string } }) =>
          firstEvent(`${type} ${object.metadata.name}`),
        () => {},
      );
      assert.equal(await first, 'ADDED late');
      controller.abort();
    });

    it('answers an ERROR event with 410 Expired for an unknown resourceVersion', async () => {
      const event = await new Promise<{ type: string; code: number }>((resolve, reject) => {
        new Watch(kc)
          .watch(
            '/api/v1/namespaces',
            { resourceVersion: 'not-a-version' },
            (type: string, object: { code: number }) => resolve({ type, code: object.code }),
            (error: unknown) => (error ? reject(error) : undefined),
          )
          .catch(reject);
      });
      assert.deepEqual(event, { type: 'ERROR', code: 410 });
    });
  });

  describe('mounted under a prefix', () => {
    it("serves through a gateway path such as Connect Gateway's", async () => {
      // What a gateway stand-in does: strip its own prefix and hand the Kubernetes path to handle().
      const prefix = '/v1/projects/123456/locations/global/gkeMemberships/gke-us-east4-cluster-1';
      const gateway = http.createServer((req, res) => {
        const url = req.url ?? '/';
        if (!url.startsWith(prefix)) return void res.writeHead(404).end();
        server.api.handle(req, res, url.slice(prefix.length) || '/');
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = gateway.address() as AddressInfo;
        const config = new KubeConfig();
        config.loadFromString(
          kubeconfigYaml([{ name: 'gw', server: `http://127.0.0.1:${port}${prefix}`, token: 'alice-token' }]),
        );
        const viaGateway = config.makeApiClient(CoreV1Api);
        const ns = await viaGateway.readNamespace({ name: 'kube-system' });
        assert.equal(ns.metadata?.name, 'kube-system');
        const missing = await statusOf(
          viaGateway.readNamespacedService({ namespace: 'default', name: 'nope' }),
        );
        assert.equal(missing.code, 404);
      } finally {
        gateway.closeAllConnections();
        await new Promise((resolve) => gateway.close(resolve));
      }
    });
  });

  describe('authentication', () => {
    it('answers 401 for an unknown token', async () => {
      const { core: stranger } = clientsFor(server, 'who-knows');
      assert.equal((await rejection(stranger.listNamespace())).code, 401);
    });

    it('serves plain HTTP when asked, with the kubeconfig skipping TLS verification', async () => {
      const plain = await startKubeServer({
        cluster,
        faults: new FaultInjector(),
        audit: new MemorySink(),
        principalFor: (t) => TOKENS[t],
        tls: false,
      });
      try {
        assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const { core: overHttp } = clientsFor(plain);
        assert.equal((await overHttp.listNamespace()).items.length, 4);
      } finally {
        await plain.close();
      }
    });
  });

  describe('faults', () => {
    const cases: Array<[FaultKind, number, string]> = [
      ['unavailable', 503, 'ServiceUnavailable'],
      ['rate-limited', 429, 'TooManyRequests'],
      ['internal', 500, 'InternalError'],
      ['aborted', 409, 'Conflict'],
      ['peering-in-progress', 409, 'Conflict'],
      ['deadline', 504, 'Timeout'],
      ['permission-denied', 403, 'Forbidden'],
      ['invalid-argument', 400, 'BadRequest'],
    ];
    for (const [fault, code, reason] of cases) {
      it(`${fault} → ${code} ${reason}, counted`, async () => {
        faults.setRule('kube.services.get', { errorRate: 1, faults: [fault] });
        const error = await rejection(core.readNamespacedService({ namespace: 'default', name: 'web' }));
        assert.equal(error.code, code);
        assert.equal((JSON.parse(error.body) as StatusBody).reason, reason);
        if (fault === 'rate-limited') assert.equal(error.headers['retry-after'], '1');
        assert.deepEqual(faults.counters()['kube.services.get'], {
          kind: 'read',
          calls: 1,
          faults: 1,
          maxInFlight: 1,
        });
      });
    }

    it('reset destroys the connection', async () => {
      faults.setRule('kube.namespaces.list', { errorRate: 1, faults: ['reset'] });
      await assert.rejects(core.listNamespace(), (error: Error) => !(error instanceof ApiException));
      assert.equal(faults.counters()['kube.namespaces.list'].faults, 1);
    });

    it('counts served reads and writes per kube.<resource>.<verb>, and not discovery', async () => {
      const ns = await freshNamespace();
      await core.readNamespace({ name: ns });
      await core.listNamespacedService({ namespace: ns });
      await core.getAPIResources();
      assert.deepEqual(faults.totals('kube.'), { reads: 2, writes: 1, faults: 0 });
      assert.deepEqual(Object.keys(faults.counters()).sort(), [
        'kube.namespaces.create',
        'kube.namespaces.get',
        'kube.services.list',
      ]);
    });

    it('a faulted write changes nothing and is not audited', async () => {
      const ns = await freshNamespace();
      faults.setRule('kube.services.create', { errorRate: 1, faults: ['unavailable'] });
      assert.equal(
        (await rejection(core.createNamespacedService({ namespace: ns, body: service('web') }))).code,
        503,
      );
      assert.equal(server.api.store.get('services', ns, 'web'), undefined);
      assert.deepEqual(serviceEntries(ns), []);
    });
  });

  describe('audit', () => {
    it('writes one k8s.io entry per Service write with principal, request, response and user agent', async () => {
      const ns = await freshNamespace();
      const body = service('web', { app: 'web' });
      const created = await core.createNamespacedService({ namespace: ns, body });
      const labelPatch = { metadata: { labels: { 'spokefleet.io/export': 'true' } } };
      const patched = await core.patchNamespacedService(
        { namespace: ns, name: 'web', body: labelPatch },
        mergePatch,
      );
      const updated = await core.replaceNamespacedService({
        namespace: ns,
        name: 'web',
        body: { ...patched, spec: { ...patched.spec, selector: { app: 'v2' } } },
      });
      await core.deleteNamespacedService({ namespace: ns, name: 'web' });

      const entries = serviceEntries(ns);
      assert.deepEqual(
        entries.map((e) => e.protoPayload?.methodName),
        ['create', 'patch', 'update', 'delete'].map((verb) => `io.k8s.core.v1.services.${verb}`),
      );
      for (const entry of entries) {
        assert.equal(entry.protoPayload?.serviceName, 'k8s.io');
        assert.equal(entry.protoPayload?.resourceName, `core/v1/namespaces/${ns}/services/web`);
        assert.equal(entry.protoPayload?.authenticationInfo?.principalEmail, PRINCIPAL);
        assert.match(
          entry.protoPayload?.requestMetadata?.callerSuppliedUserAgent ?? '',
          /^kubernetes-client-javascript\//,
        );
        assert.deepEqual(entry.resource, {
          type: 'k8s_cluster',
          labels: { project_id: cluster.project, location: cluster.location, cluster_name: cluster.name },
        });
      }
      const [create, patch, update, remove] = entries.map(payloadOf);
      assert.deepEqual(create.request, { '@type': 'core.k8s.io/v1.Service', ...body });
      assert.equal((create.response as { metadata: { uid: string } }).metadata.uid, created.metadata?.uid);
      assert.deepEqual(
        patch.request,
        { '@type': 'k8s.io/Patch', ...labelPatch },
        'a patch entry carries only the patch',
      );
      assert.deepEqual((patch.response as { metadata: { labels: object } }).metadata.labels, {
        app: 'web',
        'spokefleet.io/export': 'true',
      });
      assert.deepEqual((update.response as { spec: { selector: object } }).spec.selector, { app: 'v2' });
      assert.equal(
        (update.response as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
        updated.metadata?.resourceVersion,
      );
      assert.deepEqual(remove.response, {
        '@type': 'core.k8s.io/v1.Status',
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: 'web', kind: 'services', uid: created.metadata?.uid },
        code: 200,
      });
    });

    it('writes no entries for other kinds, failed writes or reads', async () => {
      const ns = await freshNamespace();
      await core.createNamespacedService({ namespace: ns, body: service('web') });
      const before = audit.entries.length;
      await rejection(core.createNamespacedService({ namespace: ns, body: service('web') }));
      await core.readNamespacedService({ namespace: ns, name: 'web' });
      await custom.createNamespacedCustomObject({
        ...MCS,
        namespace: ns,
        body: { apiVersion: 'net.gke.io/v1', kind: 'ServiceExport', metadata: { name: 'web' } },
      });
      await core.createNamespace({ body: { metadata: { name: `${ns}-other` } } });
      assert.equal(audit.entries.length, before);
    });

    it('a failing audit sink never fails the request', async () => {
      const broken = await startKubeServer({
        cluster,
        faults: new FaultInjector(),
        audit: {
          emit() {
            throw new Error('sink down');
          },
        },
        principalFor: (t) => TOKENS[t],
      });
      try {
        const { core: client } = clientsFor(broken);
        const created = await client.createNamespacedService({ namespace: 'default', body: service('web') });
        assert.equal(created.metadata?.name, 'web');
      } finally {
        await broken.close();
      }
    });
  });
});
