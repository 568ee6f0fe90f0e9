// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${service_account_email}` is a Terraform template variable
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  API_CALLS,
  CLIENTS,
  type ClientName,
  CONNECT_GATEWAY_ROLE,
  capacityPermissions,
  connectGatewayPermissions,
  customRolePermissions,
  isGoogleApiCall,
  isKubernetesCall,
  kubernetesIamPermissions,
  kubernetesRbacRules,
  servicesByScope,
  TOPIC_GRANTS,
} from '../../shared/cloud/permissions';

const ROOT = join(__dirname, '..', '..');
const CLOUD_DIR = join(ROOT, 'shared', 'cloud');
const read = (path: string) => readFileSync(path, 'utf8');

/** Source without comments, so a method named in a comment does not count as a call. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

const code = (path: string) => stripComments(read(path));

/**
 * The client methods an adapter calls: `this.<accessor>().<chain>(` or `this.<accessor>.<chain>(`.
 * Limits: it sees calls through the `this.<accessor>` field only (a client copied into a local variable, or called
 * through a computed member, is invisible), and it cannot tell which custom resource a CustomObjectsApi call is for
 * (the table says serviceexports because kube.ts only ever passes the MCS group/plural).
 */
function calledMethods(source: string, accessor: string): string[] {
  const pattern = new RegExp(`this\\.${accessor}(?:\\(\\))?((?:\\s*\\.\\s*[A-Za-z_]\\w*)+)\\s*\\(`, 'g');
  return [...new Set([...source.matchAll(pattern)].map((m) => m[1].replace(/\s+/g, '').slice(1)))].sort();
}

/** Class fields holding a client-library object: `private readonly x: () => SomeClient` or `private readonly x: SomeApi`. */
function clientFields(source: string): string[] {
  const field = /(?:private|protected|public)\s+(?:readonly\s+)?(\w+)\s*:\s*(?:\(\)\s*=>\s*)?([\w.]+)/g;
  // PubSub/Topic: @google-cloud/pubsub, which the fan-out publishes with; its call needs a row like any other.
  const clientType = /(Client|Api|Gkehub|Cloudresourcemanager|Hub|PubSub|Topic)$/;
  return [...source.matchAll(field)].filter((m) => clientType.test(m[2])).map((m) => m[1]);
}

const isPending = (c: (typeof API_CALLS)[number]) => isGoogleApiCall(c) && c.pending !== undefined;

/** The table's methods for a client; `pending` rows (granted before the adapter calls them) apart. */
const tableMethods = (client: ClientName, pending = false) =>
  API_CALLS.filter((c) => c.client === client && isPending(c) === pending)
    .map((c) => c.method)
    .sort();

describe('cloud/permissions: the API call → IAM permission table', () => {
  describe('covers exactly the calls the adapters make', () => {
    for (const [client, { file, accessor }] of Object.entries(CLIENTS) as Array<
      [ClientName, (typeof CLIENTS)[ClientName]]
    >) {
      it(`${file}: this.${accessor} (${client})`, () => {
        const called = calledMethods(code(join(CLOUD_DIR, file)), accessor);
        assert.ok(
          called.length > 0,
          `no call through this.${accessor} found in ${file}: is the accessor right?`,
        );
        const pending = tableMethods(client, true);
        assert.deepStrictEqual(
          called.filter((m) => !pending.includes(m)),
          tableMethods(client),
          `${file}: calls on this.${accessor} vs the table's ${client} rows`,
        );
        assert.deepStrictEqual(
          pending.filter((m) => called.includes(m)),
          [],
          `${file} now makes these calls: remove their rows' \`pending\` mark in permissions.ts`,
        );
      });
    }

    it('pending rows are Google API rows that say what brings the call', () => {
      for (const call of API_CALLS.filter(isPending)) {
        assert.ok(isGoogleApiCall(call) && (call.pending?.length ?? 0) > 10, call.method);
      }
    });

    it('every client-typed field of every adapter is a table client (a new client needs rows)', () => {
      const known = new Set(Object.values(CLIENTS).map((c) => `${c.file}:${c.accessor}`));
      const unknown: string[] = [];
      for (const file of readdirSync(CLOUD_DIR).filter((f) => f.endsWith('.ts') && f !== 'permissions.ts')) {
        for (const name of clientFields(code(join(CLOUD_DIR, file)))) {
          if (!known.has(`${file}:${name}`)) unknown.push(`${file}: this.${name}`);
        }
      }
      assert.deepStrictEqual(unknown, []);
    });

    it('the field finder sees the known clients (guards the check above against a broken regex)', () => {
      assert.deepStrictEqual(clientFields(code(join(CLOUD_DIR, 'kube.ts'))).sort(), [
        'core',
        'custom',
        'discovery',
        'imports',
      ]);
      assert.deepStrictEqual(clientFields(code(join(CLOUD_DIR, 'peering.ts'))).sort(), [
        'networks',
        'operations',
        'subnetworks',
      ]);
    });

    it('the call finder ignores commented-out calls', () => {
      const source =
        '// this.hub().projects.delete()\n/* this.hub().projects.list() */\nawait this.hub().projects.get({ name });';
      assert.deepStrictEqual(calledMethods(stripComments(source), 'hub'), ['projects.get']);
    });

    it('has no duplicate rows', () => {
      const keys = API_CALLS.map((c) => `${c.client}.${c.method}`);
      assert.deepStrictEqual(keys, [...new Set(keys)]);
    });
  });

  describe('Google API rows', () => {
    const prefixOf: Record<string, string> = {
      'container.googleapis.com': 'container.',
      'compute.googleapis.com': 'compute.',
      'gkehub.googleapis.com': 'gkehub.',
      'cloudresourcemanager.googleapis.com': 'resourcemanager.',
      'pubsub.googleapis.com': 'pubsub.',
    };

    it('grant topic rows on the topic alone, exactly as TOPIC_GRANTS says, and keep them out of the custom role', () => {
      const topicRows = API_CALLS.filter(isGoogleApiCall).filter((c) => c.grant === 'topic');
      assert.deepStrictEqual(
        topicRows.flatMap((c) => c.permissions).sort(),
        TOPIC_GRANTS.flatMap((g) => [...g.permissions]).sort(),
      );
      for (const permission of topicRows.flatMap((c) => c.permissions))
        assert.ok(!customRolePermissions().includes(permission), `${permission} is project-wide`);
    });

    it('name well-formed permissions of the API they call', () => {
      for (const call of API_CALLS.filter(isGoogleApiCall)) {
        assert.ok(call.permissions.length > 0, `${call.method}: no permission`);
        for (const permission of call.permissions) {
          assert.match(permission, /^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$/, `${call.method}: ${permission}`);
          assert.ok(
            permission.startsWith(prefixOf[CLIENTS[call.client].service]),
            `${call.method}: ${permission}`,
          );
        }
        assert.ok(call.why.length > 10, `${call.method}: say why`);
      }
    });

    it('scope the permissions to the project each call addresses', () => {
      assert.deepStrictEqual(customRolePermissions('cluster'), [
        'container.clusters.get',
        'container.clusters.list',
        'container.clusters.update',
        'container.operations.get',
        'container.operations.list',
      ]);
      assert.deepStrictEqual(customRolePermissions('network'), [
        'compute.globalOperations.get',
        'compute.globalOperations.list',
        'compute.networks.get',
        'compute.networks.updatePeering',
        'compute.subnetworks.get',
      ]);
      assert.deepStrictEqual(customRolePermissions('fleet'), [
        'gkehub.features.create',
        'gkehub.features.get',
        'gkehub.memberships.create',
        'gkehub.memberships.delete',
        'gkehub.memberships.get',
        'gkehub.memberships.list',
        'gkehub.memberships.update',
        'gkehub.operations.get',
        'resourcemanager.projects.get',
      ]);
      assert.deepStrictEqual(
        customRolePermissions(),
        [
          ...customRolePermissions('cluster'),
          ...customRolePermissions('network'),
          ...customRolePermissions('fleet'),
        ].sort(),
      );
    });

    it('split the cluster scope: container.clusters.update is the write capacity, granted only when a step writes', () => {
      assert.deepStrictEqual(capacityPermissions('cluster_write'), ['container.clusters.update']);
      assert.deepStrictEqual(capacityPermissions('cluster'), [
        'container.clusters.get',
        'container.clusters.list',
        'container.operations.get',
        'container.operations.list',
      ]);
      for (const call of API_CALLS.filter(isGoogleApiCall).filter((c) => c.writes)) {
        assert.equal(call.project, 'cluster', call.method);
        for (const permission of call.permissions) {
          assert.ok(
            capacityPermissions('cluster_write').includes(permission),
            `${call.method}: ${permission}`,
          );
        }
      }
      // The capacities of the cluster scope are exactly its permissions, and never overlap.
      assert.deepStrictEqual(
        [...capacityPermissions('cluster'), ...capacityPermissions('cluster_write')].sort(),
        customRolePermissions('cluster'),
      );
      assert.deepStrictEqual(capacityPermissions('fleet'), customRolePermissions('fleet'));
      assert.deepStrictEqual(capacityPermissions('network'), customRolePermissions('network'));
    });

    it('every row that changes a cluster or a node pool is a write row', () => {
      const writes = API_CALLS.filter(isGoogleApiCall)
        .filter((c) => c.writes)
        .map((c) => c.method)
        .sort();
      const changing = API_CALLS.filter(isGoogleApiCall)
        .filter((c) => c.client === 'container' && /^(update|set|create|delete)/.test(c.method))
        .map((c) => c.method)
        .sort();
      assert.deepStrictEqual(writes, changing);
    });

    it('need these APIs per scope', () => {
      assert.deepStrictEqual(servicesByScope(), {
        fleet: ['cloudresourcemanager.googleapis.com', 'gkehub.googleapis.com'],
        cluster: ['container.googleapis.com'],
        network: ['compute.googleapis.com'],
      });
    });
  });

  describe('Kubernetes rows', () => {
    const httpOf = { get: 'GET', list: 'GET', create: 'POST', delete: 'DELETE' } as const;

    it('send the HTTP verb their RBAC verb implies', () => {
      for (const call of API_CALLS.filter(isKubernetesCall)) {
        assert.equal(call.http, httpOf[call.rbac.verb], call.method);
      }
    });

    it('map to the GKE IAM permission of the same resource and verb', () => {
      const iamResource = (group: string, resource: string) =>
        group === 'net.gke.io'
          ? 'thirdPartyObjects'
          : resource === 'endpointslices'
            ? 'endpointSlices'
            : resource;
      for (const call of API_CALLS.filter(isKubernetesCall)) {
        assert.equal(
          call.gkeIam,
          `container.${iamResource(call.rbac.apiGroup, call.rbac.resource)}.${call.rbac.verb}`,
        );
      }
    });

    it('need gkehub.gateway.get/post/delete through the Connect gateway, which gatewayEditor grants', () => {
      assert.deepStrictEqual(connectGatewayPermissions(), [
        'gkehub.gateway.delete',
        'gkehub.gateway.get',
        'gkehub.gateway.post',
      ]);
      assert.equal(CONNECT_GATEWAY_ROLE, 'roles/gkehub.gatewayEditor');
    });

    it('make the ClusterRole the issue describes', () => {
      assert.deepStrictEqual(kubernetesRbacRules(), [
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'get', 'list'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'get'] },
        { apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list'] },
        {
          apiGroups: ['net.gke.io'],
          resources: ['serviceexports'],
          verbs: ['create', 'delete', 'get', 'list'],
        },
        { apiGroups: ['net.gke.io'], resources: ['serviceimports'], verbs: ['list'] },
      ]);
    });

    it('terraform/rbac/ holds exactly that ClusterRole, bound to the functions’ service account', () => {
      const text = read(join(ROOT, 'terraform', 'rbac', 'spokefleet-rbac.yaml.tftpl'));
      assert.ok(text.includes('${service_account_email}'), 'the template binds ${service_account_email}');
      const docs = parseAllDocuments(
        text.replaceAll('${service_account_email}', 'fn@p.iam.gserviceaccount.com'),
      ).map(
        (d) =>
          d.toJS() as { kind: string; rules?: unknown; subjects?: Array<{ kind: string; name: string }> },
      );
      const role = docs.find((d) => d.kind === 'ClusterRole');
      const binding = docs.find((d) => d.kind === 'ClusterRoleBinding');
      assert.deepStrictEqual(role?.rules, kubernetesRbacRules());
      assert.deepStrictEqual(
        binding?.subjects?.map((s) => [s.kind, s.name]),
        [['User', 'fn@p.iam.gserviceaccount.com']],
      );
    });

    it('docs/iam.md shows the same ClusterRole rules', () => {
      const iamDoc = read(join(ROOT, 'docs', 'iam.md'));
      const block = /```yaml\n([\s\S]*?kind: ClusterRole\n[\s\S]*?)```/.exec(iamDoc);
      assert.ok(block, 'docs/iam.md has a ```yaml block with the ClusterRole');
      const role = parseAllDocuments(block[1])
        .map((d) => d.toJS() as { kind: string; rules?: unknown })
        .find((d) => d.kind === 'ClusterRole');
      assert.deepStrictEqual(role?.rules, kubernetesRbacRules());
    });
  });

  it('docs/iam.md names every permission of the table', () => {
    const iamDoc = read(join(ROOT, 'docs', 'iam.md'));
    const missing = [
      ...customRolePermissions(),
      ...connectGatewayPermissions(),
      ...kubernetesIamPermissions(),
      ...TOPIC_GRANTS.flatMap((g) => [...g.permissions, g.role]),
    ].filter((p) => !iamDoc.includes(`\`${p}\``));
    assert.deepStrictEqual(missing, []);
  });
});
