// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations (`${…}`) are the expected values here, not JavaScript templates
/**
 * terraform/ checked against the code, offline. `terraform validate`/`plan` need the provider binaries, which
 * cannot be downloaded here, so the configuration is parsed (@cdktf/hcl2json) and compared with what the code says:
 * the sink filter with shared/events/methods.ts, the custom role with shared/cloud/permissions.ts, SPOKEFLEET_CONFIG
 * with shared/config.ts, arguments and blocks with the providers' real schemas (test/fixtures/terraform/), the
 * plan's order with the dependency graph Terraform builds from references and depends_on. Where a `terraform`
 * binary is installed, the provider-free parts (fmt, variable validations, the config mapping, the locals that
 * decide the IAM and the MCS feature, the filter template) are run through it; without one those tests are skipped
 * with a message.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { DELIVERY } from '../../sandbox/timing';
import {
  GENERATED_DIR,
  generatedFiles,
  PRINCIPALS_INTERPOLATION,
  README,
  renderReadme,
  SINK_FILTER_TEMPLATE,
} from '../../scripts/gen-terraform';
import {
  type BlockSchema,
  isBetaProvider,
  type ProviderSchema,
  typeSchemaFromBinding,
} from '../../scripts/provider-schema';
import {
  capacityPermissions,
  customRolePermissions,
  kubernetesIamPermissions,
  type ProjectScope,
  servicesByScope,
  TOPIC_GRANTS,
} from '../../shared/cloud/permissions';
import { type ConfigInput, parseConfig } from '../../shared/config';
import { AUDIT_METHODS, sinkFilter } from '../../shared/events/methods';
import { parseReconcileRequest } from '../../shared/events/request';
import {
  allCode,
  dependencyGraph,
  dependsOn,
  evaluate,
  findCycle,
  type Graph,
  hclCode,
  type Json,
  loadModule,
  MODULE,
  type Module,
  neededLocals,
  needTerraform,
  REQUIRED_TFVARS,
  ROOT,
  read,
  references,
  runValidationCases,
  TF,
  terraform,
  unwrap,
  type ValidationCase,
  withScratch,
} from './terraform-harness';

const EXAMPLES = join(TF, 'examples');
const examples = () => readdirSync(EXAMPLES).filter((f) => f.endsWith('.tfvars'));

let root: Module;
let configModule: Module;
let schema: ProviderSchema;
let graph: Graph;

describe('terraform/', () => {
  before(async () => {
    root = await loadModule(TF);
    configModule = await loadModule(MODULE);
    schema = JSON.parse(read(join(ROOT, 'test', 'fixtures', 'terraform', 'provider-schema.json')));
    graph = dependencyGraph(root);
  });

  describe('format', () => {
    it('terraform fmt -check -recursive terraform/ passes (modules and the example tfvars included)', function () {
      needTerraform(this);
      terraform(ROOT, ['fmt', '-check', '-recursive', 'terraform/']);
    });
  });

  describe('variables and locals', () => {
    for (const [label, load] of [
      ['root module', () => root],
      ['modules/spokefleet-config', () => configModule],
    ] as const) {
      it(`${label}: every var.X used is declared, and every declared variable is used`, () => {
        const mod = load();
        const declared = Object.keys(mod.variable).sort();
        // A variable's own validation blocks do not count as a use: look outside variables.tf.
        const elsewhere = Object.entries(mod.files)
          .filter(([name]) => name !== 'variables.tf')
          .map(([, text]) => hclCode(text))
          .join('\n');
        const used = [
          ...new Set([...elsewhere.matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)].map((m) => m[1])),
        ].sort();
        assert.deepStrictEqual(
          used.filter((v) => !declared.includes(v)),
          [],
          'used but not declared',
        );
        assert.deepStrictEqual(
          declared.filter((v) => !used.includes(v)),
          [],
          'declared but never used',
        );
      });

      it(`${label}: every local.X used is declared, and every declared local is used`, () => {
        const mod = load();
        const declared = Object.keys(mod.locals).sort();
        const used = [
          ...new Set([...allCode(mod).matchAll(/\blocal\.([a-z_][a-z0-9_]*)/g)].map((m) => m[1])),
        ].sort();
        assert.deepStrictEqual(
          used.filter((v) => !declared.includes(v)),
          [],
          'used but not declared',
        );
        assert.deepStrictEqual(
          declared.filter((v) => !used.includes(v)),
          [],
          'declared but never used',
        );
      });
    }

    it('every variable is typed and documented', () => {
      for (const mod of [root, configModule]) {
        for (const [name, body] of Object.entries(mod.variable)) {
          assert.ok(body.type, `${name} has no type`);
          assert.ok(
            typeof body.description === 'string' && body.description.length > 10,
            `${name} has no description`,
          );
        }
      }
    });

    it('there is one example per deployment shape: single project and Shared VPC', () => {
      assert.deepStrictEqual(examples().sort(), ['shared-vpc.tfvars', 'single-project.tfvars']);
    });

    it('each example sets only declared variables and every required one', async () => {
      const declared = Object.keys(root.variable);
      const required = Object.entries(root.variable)
        .filter(([, body]) => !('default' in body))
        .map(([name]) => name);
      for (const file of examples()) {
        const example: Json = await parse(file, read(join(EXAMPLES, file)));
        assert.deepStrictEqual(
          Object.keys(example).filter((k) => !declared.includes(k)),
          [],
          file,
        );
        assert.deepStrictEqual(
          required.filter((k) => !(k in example)),
          [],
          file,
        );
      }
    });

    it('the single-project example is the seed topology, with the default rbac authorisation', async () => {
      const example: Json = await parse('x.tfvars', read(join(EXAMPLES, 'single-project.tfvars')));
      assert.deepStrictEqual(
        example.spokes.map((s: { network: string }) => s.network),
        ['gcp-spoke100-us-east4', 'gcp-spoke200-us-east4'],
      );
      assert.deepStrictEqual(example.namespaces, ['mcs-common']);
      assert.equal(example.kubernetes_authorization, 'rbac');
      assert.equal(root.variable.kubernetes_authorization.default, 'rbac');
    });

    it('the Shared VPC example names the host project for its spokes, lists it in projects, and uses rbac', async () => {
      const example: Json = await parse('x.tfvars', read(join(EXAMPLES, 'shared-vpc.tfvars')));
      const host = example.fleet_project;
      assert.ok(example.projects.includes(host), 'the host project is in projects (peering, networks)');
      assert.ok(example.projects.length >= 3, 'the host and service projects');
      for (const spoke of example.spokes) assert.equal(spoke.project, host);
      assert.equal(example.kubernetes_authorization, 'rbac');
      assert.equal(example.log_sink.scope, 'folder');
    });

    it('providers: google and google-beta within one major (6.x, whose schema the tests check), Terraform >= 1.9', () => {
      const block = root.terraform.find((t) => t.required_providers);
      const providers = block.required_providers[0];
      assert.equal(providers.google.source, 'hashicorp/google');
      assert.equal(providers.google.version, '~> 6.50');
      assert.equal(providers['google-beta'].source, 'hashicorp/google-beta');
      assert.equal(providers['google-beta'].version, '~> 6.50');
      assert.equal(providers.archive.version, '~> 2.4');
      assert.equal(block.required_version, '>= 1.9');
      assert.equal(schema.provider, 'hashicorp/google 6.50.0');
      assert.equal(schema.beta.provider, 'hashicorp/google-beta 6.50.0');
      assert.ok(root.provider['google-beta'], 'google-beta is configured');
      assert.deepStrictEqual(
        root.provider['google-beta'][0].project,
        root.provider.google[0].project,
        'both providers address the same project',
      );
    });
  });

  describe('variable validation rejects what Google rejects (terraform test, one plan per case)', () => {
    const fn = (settings: string) => `function_settings = { audit = { ${settings} } }`;
    const cases: ValidationCase[] = [
      // Cloud Run: below 1 vCPU, maximum concurrency must be 1.
      {
        name: 'cpu 0.5 with concurrency 8',
        variables: fn('cpu = "0.5", request_concurrency = 8'),
        rejects: 'function_settings',
      },
      { name: 'cpu 0.5 with concurrency 1', variables: fn('cpu = "0.5", request_concurrency = 1') },
      { name: 'cpu 1 with concurrency 80', variables: fn('cpu = "1", request_concurrency = 80') },
      { name: 'concurrency 1001', variables: fn('request_concurrency = 1001'), rejects: 'function_settings' },
      // Cloud Run CPU values: 0.08-1 in steps of 0.001, or 1, 2, 4, 6, 8.
      { name: 'cpu 3', variables: fn('cpu = "3", memory = "2Gi"'), rejects: 'function_settings' },
      {
        name: 'cpu 0.05',
        variables: fn('cpu = "0.05", request_concurrency = 1, memory = "256Mi"'),
        rejects: 'function_settings',
      },
      {
        name: 'cpu 0.0833',
        variables: fn('cpu = "0.0833", request_concurrency = 1, memory = "256Mi"'),
        rejects: 'function_settings',
      },
      { name: 'cpu 0.083', variables: fn('cpu = "0.083", request_concurrency = 1, memory = "256Mi"') },
      // Cloud Run memory per vCPU.
      {
        name: 'memory 8Gi at 1 vCPU',
        variables: fn('cpu = "1", memory = "8Gi"'),
        rejects: 'function_settings',
      },
      { name: 'memory 4Gi at 1 vCPU', variables: fn('cpu = "1", memory = "4Gi"') },
      { name: 'memory 8Gi at 2 vCPU', variables: fn('cpu = "2", memory = "8Gi"') },
      {
        name: 'memory 1Gi at 4 vCPU',
        variables: fn('cpu = "4", memory = "1Gi"'),
        rejects: 'function_settings',
      },
      {
        name: 'memory 1Gi at 0.25 vCPU',
        variables: fn('cpu = "0.25", request_concurrency = 1, memory = "1Gi"'),
        rejects: 'function_settings',
      },
      {
        name: 'memory 1Gi at 0.5 vCPU',
        variables: fn('cpu = "0.5", request_concurrency = 1, memory = "1Gi"'),
      },
      {
        name: 'memory 2Gi at 0.5 vCPU',
        variables: fn('cpu = "0.5", request_concurrency = 1, memory = "2Gi"'),
        rejects: 'function_settings',
      },
      { name: 'memory 64Mi', variables: fn('memory = "64Mi"'), rejects: 'function_settings' },
      { name: 'memory 512M (not Mi)', variables: fn('memory = "512M"'), rejects: 'function_settings' },
      // Pub/Sub: the push request timeout (ack deadline) is at most 600 s.
      { name: 'timeout 601', variables: fn('timeout_seconds = 601'), rejects: 'function_settings' },
      { name: 'timeout 600', variables: fn('timeout_seconds = 600') },
      {
        name: 'timeout 11 (invocation budget under 10 s)',
        variables: fn('timeout_seconds = 11'),
        rejects: 'function_settings',
      },
      // Pub/Sub DeadLetterPolicy: 5-100 delivery attempts; RetryPolicy: backoffs 0-600 s.
      {
        name: 'max_delivery_attempts 4',
        variables: fn('max_delivery_attempts = 4'),
        rejects: 'function_settings',
      },
      {
        name: 'max_delivery_attempts 101',
        variables: fn('max_delivery_attempts = 101'),
        rejects: 'function_settings',
      },
      { name: 'max_delivery_attempts 100', variables: fn('max_delivery_attempts = 100') },
      {
        name: 'maximum_backoff 601s',
        variables: fn('maximum_backoff = "601s"'),
        rejects: 'function_settings',
      },
      {
        name: 'minimum above maximum backoff',
        variables: fn('minimum_backoff = "60s", maximum_backoff = "30s"'),
        rejects: 'function_settings',
      },
      { name: 'backoff in minutes', variables: fn('maximum_backoff = "10m"'), rejects: 'function_settings' },
      // Pub/Sub message retention: 10 minutes to 31 days, for subscriptions and topics.
      {
        name: 'dead-letter retention 31 days + 1 s',
        variables: 'dead_letter = { message_retention = "2678401s" }',
        rejects: 'dead_letter',
      },
      {
        name: 'dead-letter retention 31 days',
        variables: 'dead_letter = { message_retention = "2678400s" }',
      },
      {
        name: 'dead-letter retention 599 s',
        variables: 'dead_letter = { message_retention = "599s" }',
        rejects: 'dead_letter',
      },
      {
        name: 'delivery retention 32 days',
        variables: 'delivery_retention = "2764800s"',
        rejects: 'delivery_retention',
      },
      {
        name: 'delivery retention 7d (not seconds)',
        variables: 'delivery_retention = "7d"',
        rejects: 'delivery_retention',
      },
      {
        name: 'audit topic retention 31 days + 1 s',
        variables: 'audit_topic_retention = "2678401s"',
        rejects: 'audit_topic_retention',
      },
      { name: 'audit topic retention 10 minutes', variables: 'audit_topic_retention = "600s"' },
      // Google Cloud labels: lowercase keys starting with a letter, <= 63 characters; values likewise; <= 64 labels.
      { name: 'label key with a capital', variables: 'labels = { Team = "a" }', rejects: 'labels' },
      { name: 'label key starting with a digit', variables: 'labels = { "1team" = "a" }', rejects: 'labels' },
      {
        name: 'label key with a dot',
        variables: 'labels = { "app.kubernetes.io" = "a" }',
        rejects: 'labels',
      },
      {
        name: 'label key of 64 characters',
        variables: `labels = { ${'a'.repeat(64)} = "a" }`,
        rejects: 'labels',
      },
      { name: 'label key of 63 characters', variables: `labels = { ${'a'.repeat(63)} = "a" }` },
      { name: 'label value with a capital', variables: 'labels = { team = "Platform" }', rejects: 'labels' },
      { name: 'international lowercase label', variables: 'labels = { "équipe" = "réseau", team = "" }' },
      {
        name: '64 labels',
        variables: `labels = { ${Array.from({ length: 64 }, (_, i) => `l${i} = "v"`).join(', ')} }`,
        rejects: 'labels',
      },
      // Cloud Scheduler: a tz database name.
      {
        name: 'time zone as an offset',
        variables: 'reconcile_time_zone = "+02:00"',
        rejects: 'reconcile_time_zone',
      },
      {
        name: 'time zone in lowercase',
        variables: 'reconcile_time_zone = "europe/paris"',
        rejects: 'reconcile_time_zone',
      },
      {
        name: 'time zone with a space',
        variables: 'reconcile_time_zone = "Europe/Paris "',
        rejects: 'reconcile_time_zone',
      },
      { name: 'time zone Europe/Paris', variables: 'reconcile_time_zone = "Europe/Paris"' },
      {
        name: 'time zone with three parts',
        variables: 'reconcile_time_zone = "America/Argentina/Buenos_Aires"',
      },
      { name: 'time zone UTC', variables: 'reconcile_time_zone = "UTC"' },
      // Spokefleet's own enumerations.
      { name: 'mcs_feature delete', variables: 'mcs_feature = "delete"', rejects: 'mcs_feature' },
      {
        name: 'node pools all',
        variables: 'workload_identity_node_pools = "all"',
        rejects: 'workload_identity_node_pools',
      },
      {
        name: 'an excluded principal with a quote',
        variables: 'sink_excluded_principals = ["a\\"b"]',
        rejects: 'sink_excluded_principals',
      },
      // Config `namespaces` is a seed list or "auto", never both: a list beside auto would be ignored unseen.
      { name: 'namespaces_auto alone', variables: 'namespaces_auto = true' },
      { name: 'namespaces_auto with an empty list', variables: 'namespaces_auto = true\nnamespaces = []' },
      {
        name: 'namespaces_auto with a seed list',
        variables: 'namespaces_auto = true\nnamespaces = ["mcs-common"]',
        rejects: 'namespaces_auto',
      },
      { name: 'namespace with a capital', variables: 'namespaces = ["Team-a"]', rejects: 'namespaces' },
    ];

    it('each case is accepted or rejected as its source says', function () {
      needTerraform(this);
      this.timeout(120_000);
      const { wrong, output } = runValidationCases(cases);
      assert.deepStrictEqual(wrong, [], output);
    });

    it('every time zone name of the tz database passes the shape check', () => {
      const condition = unwrap(root.variable.reconcile_time_zone.validation[0].condition);
      const source = /regex\("((?:[^"\\]|\\.)*)"/.exec(condition)?.[1];
      assert.ok(source, condition);
      const shape = new RegExp(JSON.parse(`"${source}"`));
      const zones = Intl.supportedValuesOf('timeZone');
      assert.ok(zones.length > 300);
      assert.deepStrictEqual(
        [...zones, 'Etc/UTC', 'Etc/GMT+5', 'EST5EDT', 'GB-Eire'].filter((z) => !shape.test(z)),
        [],
      );
    });
  });

  describe('the sandbox delivers as deployed', () => {
    it('sandbox/timing.ts DELIVERY holds the function_settings defaults of variables.tf', () => {
      const text = root.files['variables.tf'];
      const defaults = (fn: 'audit' | 'reconcile') => {
        const block = new RegExp(`\\b${fn} = optional\\(object\\(\\{([^}]*)\\}\\)`).exec(text)?.[1] ?? '';
        return Object.fromEntries(
          [...block.matchAll(/(\w+)\s*=\s*optional\((?:string|number), "?([^")]+)"?\)/g)].map((m) => [
            m[1],
            m[2],
          ]),
        );
      };
      const ms = (seconds: string) => Number(seconds.replace(/s$/, '')) * 1000;
      for (const fn of ['audit', 'reconcile'] as const) {
        const d = defaults(fn);
        assert.equal(DELIVERY.functionTimeoutMs, ms(d.timeout_seconds), `${fn} timeout_seconds`);
        assert.equal(DELIVERY[fn].minimumBackoffMs, ms(d.minimum_backoff), `${fn} minimum_backoff`);
        assert.equal(DELIVERY[fn].maximumBackoffMs, ms(d.maximum_backoff), `${fn} maximum_backoff`);
        assert.equal(DELIVERY[fn].maxDeliveryAttempts, Number(d.max_delivery_attempts), `${fn} attempts`);
      }
      const reconcile = defaults('reconcile');
      assert.equal(DELIVERY.reconcile.maxInstances, Number(reconcile.max_instances));
      assert.equal(DELIVERY.reconcile.requestConcurrency, Number(reconcile.request_concurrency));
    });
  });

  describe('terraform/README.md', () => {
    it('its inputs and outputs tables are what `npm run gen:terraform` writes from variables.tf and outputs.tf', async () => {
      const current = read(README);
      assert.equal(
        current,
        await renderReadme(current),
        'terraform/README.md is stale: run npm run gen:terraform',
      );
    });

    it('the generated tables name every variable and output', async () => {
      const text = read(README);
      for (const name of [...Object.keys(root.variable), ...Object.keys(root.output)]) {
        assert.ok(text.includes(`| \`${name}\` |`), name);
      }
    });
  });

  describe('the audit sink filter comes from shared/events/methods.ts', () => {
    const template = () => read(join(GENERATED_DIR, SINK_FILTER_TEMPLATE));
    /** What templatefile() renders, for principals without quotes or backslashes (the only ones sinkFilter allows). */
    const render = (text: string, principals: string[]) =>
      text
        .replace(PRINCIPALS_INTERPOLATION, `(${principals.map((p) => `"${p}"`).join(' OR ')})`)
        .replaceAll('$${', '${')
        .replaceAll('%%{', '%{');

    it('the checked-in terraform/generated files are what `npm run gen:terraform` writes', () => {
      for (const [name, content] of Object.entries(generatedFiles())) {
        assert.equal(
          read(join(GENERATED_DIR, name)),
          content,
          `terraform/generated/${name} is stale: run npm run gen:terraform`,
        );
      }
    });

    it('the filter names exactly the methods of AUDIT_METHODS', () => {
      const named = [...template().matchAll(/protoPayload\.methodName=\(([^)]*)\)/g)].flatMap((m) =>
        m[1].split(' OR ').map((quoted) => JSON.parse(quoted)),
      );
      assert.deepStrictEqual(named.sort(), AUDIT_METHODS.map((m) => m.methodName).sort());
    });

    it('rendered with the excluded principals it equals sinkFilter({ excludePrincipals })', () => {
      const principals = [
        'spokefleet-fn@p.iam.gserviceaccount.com',
        'system:serviceaccount:gke-mcs:gke-mcs-importer',
      ];
      assert.equal(render(template(), principals), sinkFilter({ excludePrincipals: principals }));
    });

    it('terraform itself renders the template to sinkFilter({ excludePrincipals })', function () {
      needTerraform(this);
      withScratch('sinkfilter-', (dir) => {
        cpSync(join(GENERATED_DIR, SINK_FILTER_TEMPLATE), join(dir, SINK_FILTER_TEMPLATE));
        const principals = [
          'spokefleet-fn@p.iam.gserviceaccount.com',
          'system:serviceaccount:gke-mcs:gke-mcs-importer',
        ];
        writeFileSync(
          join(dir, 'main.tf'),
          `output "filter" {\n  value = templatefile("${SINK_FILTER_TEMPLATE}", { self_principals = ${JSON.stringify(principals)} })\n}\n`,
        );
        terraform(dir, ['init', '-input=false']);
        terraform(dir, ['apply', '-auto-approve', '-input=false']);
        assert.equal(
          terraform(dir, ['output', '-raw', 'filter']),
          sinkFilter({ excludePrincipals: principals }),
        );
      });
    });

    it('every sink uses that template, leaving out the functions’ account and the MCS importer’s Service writes', () => {
      assert.equal(
        unwrap(root.locals.sink_filter).replace(/\s+/g, ' '),
        'templatefile("${path.module}/generated/sink_filter.tftpl", { self_principals = distinct(concat(local.self_principals, var.sink_excluded_principals)) })',
      );
      assert.match(unwrap(root.locals.self_principals), /google_service_account\.functions\.email/);
      assert.deepStrictEqual(root.variable.sink_excluded_principals.default, [
        'system:serviceaccount:gke-mcs:gke-mcs-importer',
      ]);
      for (const type of [
        'google_logging_project_sink',
        'google_logging_folder_sink',
        'google_logging_organization_sink',
      ]) {
        const sink = root.resource[type]?.audit;
        assert.ok(sink, `${type}.audit`);
        assert.equal(sink.filter, '${local.sink_filter}', type);
        assert.equal(sink.destination, 'pubsub.googleapis.com/${google_pubsub_topic.audit.id}', type);
      }
      assert.equal(root.resource.google_logging_folder_sink.audit.include_children, true);
      assert.equal(root.resource.google_logging_organization_sink.audit.include_children, true);
    });

    it('the excluded principals stay out of the config: the code still sees every Service write it gets', () => {
      assert.equal(root.module.config.self_principals, '${local.self_principals}');
      assert.doesNotMatch(unwrap(root.locals.self_principals), /sink_excluded_principals/);
    });

    it('each sink writer identity may publish to the audit topic', () => {
      const grant = root.resource.google_pubsub_topic_iam_member.sink_publisher;
      assert.equal(grant.topic, '${google_pubsub_topic.audit.name}');
      assert.equal(grant.role, 'roles/pubsub.publisher');
      assert.equal(grant.for_each, '${local.sink_writer_identities}');
      const identities = unwrap(root.locals.sink_writer_identities);
      for (const sink of [
        'google_logging_project_sink',
        'google_logging_folder_sink',
        'google_logging_organization_sink',
      ]) {
        assert.match(identities, new RegExp(`${sink}\\.audit`), sink);
      }
    });
  });

  describe('IAM matches shared/cloud/permissions.ts', () => {
    for (const capacity of ['fleet', 'cluster', 'cluster_write', 'network'] as const) {
      it(`custom role permissions of the ${capacity} capacity`, () => {
        assert.deepStrictEqual(root.locals.custom_role_permissions[capacity], capacityPermissions(capacity));
      });
    }

    it('the custom role is built from those lists, in each fleet/cluster/network project, and bound to the functions SA', () => {
      const role = root.resource.google_project_iam_custom_role.reconciler;
      assert.equal(role.for_each, '${local.iam_projects}');
      assert.match(unwrap(role.permissions), /local\.custom_role_permissions\[capacity\]/);
      const binding = root.resource.google_project_iam_member.reconciler;
      assert.equal(binding.role, '${google_project_iam_custom_role.reconciler[each.key].name}');
      assert.equal(binding.member, '${google_service_account.functions.member}');
    });

    it('role = calls for every policy: container.clusters.update only where a step can write a cluster', function () {
      needTerraform(this);
      this.timeout(120_000);
      // The role's permissions per project, exactly as iam.tf computes them (its expression, each.value = capacities).
      const perProject = `{ for project, capacities in local.iam_projects : project => ${unwrap(
        root.resource.google_project_iam_custom_role.reconciler.permissions,
      ).replaceAll('each.value', 'capacities')} }`;
      const scopes = (...of: ProjectScope[]) =>
        [...new Set(of.flatMap((s) => customRolePermissions(s)))].sort();
      for (const workloadIdentity of ['enable', 'require', 'ignore']) {
        for (const nodePools of ['migrate', 'migrate-new', 'report']) {
          const { roles } = evaluate(
            root,
            { roles: perProject },
            `${REQUIRED_TFVARS.replace(/^projects .*$/m, 'projects = ["spokefleet-demo", "spokefleet-other"]')}
fleet_project = "spokefleet-fleet"
workload_identity = "${workloadIdentity}"
workload_identity_node_pools = "${nodePools}"
`,
          ) as { roles: Record<string, string[]> };
          const writes = workloadIdentity === 'enable' || nodePools !== 'report';
          const cluster = writes
            ? scopes('cluster', 'network')
            : scopes('cluster', 'network').filter((p) => !capacityPermissions('cluster_write').includes(p));
          const label = `${workloadIdentity}/${nodePools}`;
          assert.deepStrictEqual(roles['spokefleet-demo'], cluster, label);
          assert.deepStrictEqual(roles['spokefleet-other'], cluster, label);
          assert.deepStrictEqual(roles['spokefleet-fleet'], scopes('fleet'), label);
          assert.equal(roles['spokefleet-demo'].includes('container.clusters.update'), writes, label);
        }
      }
    });

    it('a fleet project that also holds clusters gets both capacities in one role', function () {
      needTerraform(this);
      const { projects } = evaluate(root, { projects: 'local.iam_projects' }, REQUIRED_TFVARS) as {
        projects: Record<string, string[]>;
      };
      assert.deepStrictEqual(projects, {
        'spokefleet-demo': ['fleet', 'cluster', 'cluster_write', 'network'],
      });
    });

    it('the Connect gateway role is bound in the fleet project in connectGateway mode', () => {
      const binding = root.resource.google_project_iam_member.connect_gateway;
      assert.equal(binding.role, 'roles/gkehub.gatewayEditor');
      assert.equal(binding.project, '${local.fleet_project}');
      assert.match(binding.count, /var\.kube_access == "connectGateway"/);
    });

    it('kubernetes_authorization: rbac (default) grants nothing in IAM; iam grants exactly the ClusterRole’s equivalents', () => {
      assert.deepStrictEqual(root.locals.kubernetes_iam_permissions, kubernetesIamPermissions());
      const role = root.resource.google_project_iam_custom_role.kubernetes;
      assert.equal(role.permissions, '${local.kubernetes_iam_permissions}');
      assert.match(
        role.for_each,
        /var\.kubernetes_authorization == "iam" \? toset\(var\.projects\) : toset\(\[\]\)/,
      );
      assert.equal(
        root.resource.google_project_iam_member.kubernetes.for_each,
        '${google_project_iam_custom_role.kubernetes}',
      );
    });

    it('the MCS importer gets compute.networkViewer in every project, as a principal:// of the fleet pool', () => {
      const grant = root.resource.google_project_iam_member.mcs_importer_network_viewer;
      assert.equal(grant.role, 'roles/compute.networkViewer');
      assert.equal(grant.member, '${local.mcs_importer_principal}');
      assert.equal(grant.for_each, '${var.mcs_importer_grant ? local.iam_projects : {}}');
      assert.equal(
        root.locals.mcs_importer_principal,
        'principal://iam.googleapis.com/projects/${local.fleet_project_number}/locations/global/workloadIdentityPools/${local.fleet_project}.svc.id.goog/subject/ns/gke-mcs/sa/gke-mcs-importer',
      );
    });

    it('the fleet project number is read from its GKE Hub service agent (service-NUMBER@…), at apply time', function () {
      needTerraform(this);
      const { number } = evaluate(root, { number: 'local.fleet_project_number' }, REQUIRED_TFVARS, {
        // What google_project_service_identity returns for gkehub.googleapis.com.
        fleet_project_number: unwrap(root.locals.fleet_project_number).replace(
          'google_project_service_identity.gkehub.email',
          '"service-123456789012@gcp-sa-gkehub.iam.gserviceaccount.com"',
        ),
      });
      assert.equal(number, '123456789012');
    });

    it('no grant spells a Google service agent by hand: they come from google_project_service_identity', () => {
      assert.doesNotMatch(allCode(root), /gcp-sa-|gserviceaccount\.com/);
      for (const [local, service] of [
        ['pubsub_service_agent', 'pubsub'],
        ['gkehub_service_agent', 'gkehub'],
        ['mcsd_service_agent', 'mcsd'],
      ]) {
        assert.equal(root.locals[local], `\${google_project_service_identity.${service}.member}`);
      }
      const identities = root.resource.google_project_service_identity;
      assert.deepStrictEqual(
        Object.fromEntries(
          Object.entries(identities).map(([name, body]) => [name, [body.project, body.service]]),
        ),
        {
          pubsub: ['${var.project_id}', 'pubsub.googleapis.com'],
          gkehub: ['${local.fleet_project}', 'gkehub.googleapis.com'],
          mcsd: ['${local.fleet_project}', 'multiclusterservicediscovery.googleapis.com'],
        },
      );
      for (const body of Object.values(identities)) assert.ok(isBetaProvider(body.provider), 'google-beta');
    });

    it('cross-project fleet grants go to the fleet project’s GKE Hub and MCS agents in the other projects', () => {
      const roles = unwrap(root.locals.cross_project_agent_roles);
      assert.match(roles, /"roles\/gkehub\.serviceAgent", member = local\.gkehub_service_agent/);
      assert.match(roles, /"roles\/gkehub\.crossProjectServiceAgent", member = local\.gkehub_service_agent/);
      assert.match(
        roles,
        /"roles\/multiclusterservicediscovery\.serviceAgent", member = local\.mcsd_service_agent/,
      );
    });

    it('fan-out: the functions may publish to the reconcile topic and to nothing else', () => {
      const [grant] = TOPIC_GRANTS;
      const binding = root.resource.google_pubsub_topic_iam_member.functions_reconcile_publisher;
      assert.equal(binding.topic, `\${google_pubsub_topic.${grant.topic}.name}`);
      assert.equal(binding.role, grant.role);
      assert.equal(binding.member, '${google_service_account.functions.member}');
      const functionsGrants = Object.entries(root.resource)
        .flatMap(([type, byName]) =>
          Object.entries(byName).map(([name, body]) => ({ id: `${type}.${name}`, body })),
        )
        .filter(({ body }) => body.member === '${google_service_account.functions.member}')
        .map(({ id, body }) => `${id} ${body.role}`);
      assert.deepStrictEqual(
        functionsGrants.filter((g) => /pubsub/.test(g)),
        ['google_pubsub_topic_iam_member.functions_reconcile_publisher roles/pubsub.publisher'],
      );
    });

    it('the push identity may invoke the two functions, and holds no project-level role', () => {
      const invoker = root.resource.google_cloud_run_v2_service_iam_member.trigger_invoker;
      assert.equal(invoker.role, 'roles/run.invoker');
      assert.equal(invoker.for_each, '${google_cloudfunctions2_function.this}');
      assert.equal(invoker.member, '${google_service_account.trigger.member}');
      const projectGrants = Object.values(root.resource.google_project_iam_member).filter(
        (b: Json) => b.member === '${google_service_account.trigger.member}',
      );
      assert.deepStrictEqual(projectGrants, []);
      assert.doesNotMatch(allCode(root), /eventarc/i);
    });

    it('the build identity holds what a function build needs, each on its one resource', () => {
      const member = '${google_service_account.build.member}';
      const projectRoles = Object.values(root.resource.google_project_iam_member)
        .filter((b: Json) => b.member === member)
        .map((b: Json) => b.role);
      assert.deepStrictEqual(projectRoles, ['roles/logging.logWriter']);
      const source = root.resource.google_storage_bucket_iam_member.build_source_reader;
      assert.deepStrictEqual(
        [source.bucket, source.role, source.member],
        ['${google_storage_bucket.source.name}', 'roles/storage.objectViewer', member],
      );
      const images = root.resource.google_artifact_registry_repository_iam_member.build_image_writer;
      assert.deepStrictEqual(
        [images.repository, images.role, images.member],
        ['${google_artifact_registry_repository.functions.name}', 'roles/artifactregistry.writer', member],
      );
      assert.equal(
        root.resource.google_cloudfunctions2_function.this.build_config[0].docker_repository,
        '${google_artifact_registry_repository.functions.id}',
      );
    });
  });

  describe('APIs', () => {
    const apis = () => {
      const host = [...unwrap(root.locals.apis.host).matchAll(/"([a-z]+\.googleapis\.com)"/g)].map(
        (m) => m[1],
      );
      return {
        host,
        fleet: root.locals.apis.fleet as string[],
        cluster: root.locals.apis.cluster as string[],
      };
    };

    it('enables every API the deployment and MCS need', () => {
      const all = new Set(Object.values(apis()).flat());
      const needed = [
        'container',
        'compute',
        'gkehub',
        'multiclusterservicediscovery',
        'trafficdirector',
        'dns',
        'cloudresourcemanager',
        'cloudfunctions',
        'run',
        'pubsub',
        'logging',
        'cloudbuild',
        'artifactregistry',
        'cloudscheduler',
        'secretmanager',
      ].map((api) => `${api}.googleapis.com`);
      assert.deepStrictEqual(
        needed.filter((api) => !all.has(api)),
        [],
      );
    });

    it('the fleet project gets the Connect gateway APIs Google’s setup guide lists, except GKE Enterprise', () => {
      const { fleet } = apis();
      for (const api of ['connectgateway', 'gkeconnect', 'gkehub', 'cloudresourcemanager'])
        assert.ok(fleet.includes(`${api}.googleapis.com`), api);
      assert.ok(
        !Object.values(apis()).flat().includes('anthos.googleapis.com'),
        'anthos turns on GKE Enterprise billing',
      );
    });

    it('enables secretmanager only with the Aviatrix look-up', () => {
      assert.match(
        unwrap(root.locals.apis.host),
        /var\.aviatrix == null \? \[\] : \["secretmanager\.googleapis\.com"\]/,
      );
    });

    it('enables the APIs the table’s calls use in the projects they address', () => {
      const { fleet, cluster } = apis();
      const byScope = servicesByScope();
      assert.deepStrictEqual(
        byScope.fleet.filter((s) => !fleet.includes(s)),
        [],
      );
      assert.deepStrictEqual(
        [...byScope.cluster, ...byScope.network].filter((s) => !cluster.includes(s)),
        [],
      );
    });

    it('never disables an API on destroy', () => {
      assert.equal(root.resource.google_project_service.this.disable_on_destroy, false);
    });
  });

  describe('the first apply in a fresh project succeeds: the plan’s dependency graph', () => {
    it('has no cycle', () => {
      assert.equal(findCycle(graph), undefined);
    });

    it('reads nothing from Google at plan time: no google_* data source', () => {
      assert.deepStrictEqual(Object.keys(root.data), ['archive_file']);
    });

    it('every service agent is provisioned after its API is on, and every grant to one after it is provisioned', () => {
      for (const name of Object.keys(root.resource.google_project_service_identity)) {
        assert.ok(
          dependsOn(graph, `google_project_service_identity.${name}`).has('google_project_service.this'),
          name,
        );
      }
      const grants: Record<string, string[]> = {
        'google_service_account_iam_member.pubsub_token_creator': ['pubsub'],
        'google_pubsub_topic_iam_member.dead_letter_publisher': ['pubsub'],
        'google_pubsub_subscription_iam_member.dead_letter_subscriber': ['pubsub'],
        'google_project_iam_member.cross_project_service_agents': ['gkehub', 'mcsd'],
        'google_project_iam_member.mcs_importer_network_viewer': ['gkehub'],
      };
      for (const [grant, agents] of Object.entries(grants)) {
        const before = dependsOn(graph, grant);
        for (const agent of agents) {
          assert.ok(before.has(`google_project_service_identity.${agent}`), `${grant} → ${agent}`);
        }
      }
      // And those are all the grants to an agent: nothing else reaches a service identity.
      const toAgents = [...graph.keys()]
        .filter((node) => /_iam_member\./.test(node))
        .filter((node) =>
          [...dependsOn(graph, node)].some((d) => d.startsWith('google_project_service_identity.')),
        );
      assert.deepStrictEqual(toAgents.sort(), Object.keys(grants).sort());
    });

    it('the MCS importer grant comes after the fleet’s APIs, its GKE Hub agent and the MCS feature', () => {
      const before = dependsOn(graph, 'google_project_iam_member.mcs_importer_network_viewer');
      for (const node of [
        'google_project_service.this',
        'google_project_service_identity.gkehub',
        'google_gke_hub_feature.mcs',
      ]) {
        assert.ok(before.has(node), node);
      }
    });

    it('a push subscription is created after its function may be invoked by the push identity', () => {
      const before = dependsOn(graph, 'google_pubsub_subscription.push');
      for (const node of [
        'google_cloudfunctions2_function.this',
        'google_cloud_run_v2_service_iam_member.trigger_invoker',
        'google_service_account_iam_member.pubsub_token_creator',
        'google_pubsub_topic.dead_letter',
      ]) {
        assert.ok(before.has(node), node);
      }
    });

    it('the functions are built after the build identity holds its grants', () => {
      const before = dependsOn(graph, 'google_cloudfunctions2_function.this');
      for (const node of [
        'google_project_iam_member.build_log_writer',
        'google_storage_bucket_iam_member.build_source_reader',
        'google_artifact_registry_repository_iam_member.build_image_writer',
        'google_project_service.this',
      ]) {
        assert.ok(before.has(node), node);
      }
    });

    it('every resource in a project waits for that project’s APIs (directly or through what it uses)', () => {
      const exempt = new Set([
        'google_project_service.this',
        'google_logging_folder_sink.audit',
        'google_logging_organization_sink.audit',
      ]);
      const missing = [...graph.keys()]
        .filter((node) => /^google_/.test(node) && !exempt.has(node))
        .filter((node) => !dependsOn(graph, node).has('google_project_service.this'));
      // IAM on project-level roles needs only Resource Manager, which every project has; the rest must wait.
      assert.deepStrictEqual(
        missing.filter((node) => !node.startsWith('google_project_iam_')),
        [],
      );
    });

    it('the graph sees references and depends_on (guards the checks above)', () => {
      const types = new Set(['google_a', 'google_b']);
      assert.deepStrictEqual(
        [
          ...references(
            {
              x: '${google_a.one.id}',
              y: 'google_b.two is prose',
              depends_on: ['${google_b.three}'],
              z: '${local.l} ${var.v} ${data.t_x.d.y}',
            },
            types,
          ),
        ].sort(),
        ['data.t_x.d', 'google_a.one', 'google_b.three', 'local.l', 'var.v'],
      );
      const g: Graph = new Map([
        ['a', new Set(['b'])],
        ['b', new Set(['c'])],
        ['c', new Set()],
      ]);
      assert.deepStrictEqual([...dependsOn(g, 'a')].sort(), ['b', 'c']);
      assert.equal(findCycle(g), undefined);
      g.get('c')?.add('a');
      assert.deepStrictEqual(findCycle(g), ['a', 'b', 'c', 'a']);
    });
  });

  describe('the fleet’s MCS feature', () => {
    const modes = (mode: string) => {
      const feature = root.resource.google_gke_hub_feature.mcs;
      const [adopt] = root.import;
      return evaluate(
        root,
        { feature: unwrap(feature.for_each), adopt: unwrap(adopt.for_each) },
        `${REQUIRED_TFVARS}mcs_feature = "${mode}"\n`,
      );
    };

    it('is multiclusterservicediscovery in the fleet project, location global', () => {
      const feature = root.resource.google_gke_hub_feature.mcs;
      assert.equal(feature.name, 'multiclusterservicediscovery');
      assert.equal(feature.location, '${each.key}');
      assert.equal(feature.project, '${local.fleet_project}');
      const [adopt] = root.import;
      assert.equal(adopt.to, '${google_gke_hub_feature.mcs[each.key]}');
      assert.equal(
        adopt.id,
        'projects/${local.fleet_project}/locations/${each.key}/features/multiclusterservicediscovery',
      );
    });

    it('unmanaged (the default) is not in the state, so destroy never turns MCS off; create owns it; adopt imports it', function () {
      needTerraform(this);
      assert.equal(root.variable.mcs_feature.default, 'unmanaged');
      assert.deepStrictEqual(modes('unmanaged'), { feature: [], adopt: [] });
      assert.deepStrictEqual(modes('create'), { feature: ['global'], adopt: [] });
      assert.deepStrictEqual(modes('adopt'), { feature: ['global'], adopt: ['global'] });
    });

    it('the functions can still create it when it is missing (unmanaged mode relies on that)', () => {
      assert.ok(capacityPermissions('fleet').includes('gkehub.features.create'));
    });
  });

  describe('Pub/Sub: one push subscription per function, with dead-lettering, owned by Terraform', () => {
    const push = () => root.resource.google_pubsub_subscription.push;

    it('has the audit, reconcile and dead-letter topics; the reconcile topic is the one the config names', () => {
      assert.deepStrictEqual(Object.keys(root.resource.google_pubsub_topic).sort(), [
        'audit',
        'dead_letter',
        'reconcile',
      ]);
      assert.equal(root.resource.google_pubsub_topic.reconcile.name, '${local.reconcile_topic_name}');
      assert.equal(
        root.resource.google_pubsub_topic.reconcile.project,
        undefined,
        'in the provider’s project: var.project_id',
      );
      assert.equal(root.provider.google[0].project, '${var.project_id}');
      assert.equal(
        root.locals.reconcile_topic,
        'projects/${var.project_id}/topics/${local.reconcile_topic_name}',
      );
      assert.equal(root.module.config.reconcile_topic, '${local.reconcile_topic}');
    });

    it('each function has a push subscription on its topic, to its URL + the topic path, with an OIDC token', () => {
      const sub = push();
      assert.equal(sub.for_each, '${local.functions}');
      assert.equal(sub.topic, '${each.value.topic}');
      const config = sub.push_config[0];
      assert.equal(
        config.push_endpoint,
        '${google_cloudfunctions2_function.this[each.key].service_config[0].uri}/${each.value.topic}',
      );
      assert.deepStrictEqual(config.oidc_token, [
        {
          service_account_email: '${google_service_account.trigger.email}',
          audience: '${google_cloudfunctions2_function.this[each.key].service_config[0].uri}',
        },
      ]);
      // Wrapped deliveries only: with payload unwrapping the raw data arrives as the body, which functions-framework
      // cannot turn into a CloudEvent (500 before the function runs, every message to the dead-letter topic).
      assert.equal(config.no_wrapper, undefined);
      // The topic id Terraform appends is projects/P/topics/T: the path functions-framework reads the topic from.
      assert.ok(
        Object.values(root.locals.functions as Record<string, { topic: string }>).every((f) =>
          /^\$\{google_pubsub_topic\.\w+\.id\}$/.test(f.topic),
        ),
      );
    });

    it('ack deadline = the function’s timeout; retry and dead-letter policies from the function’s settings', () => {
      const sub = push();
      assert.equal(sub.ack_deadline_seconds, '${each.value.settings.timeout_seconds}');
      assert.deepStrictEqual(sub.retry_policy, [
        {
          minimum_backoff: '${each.value.settings.minimum_backoff}',
          maximum_backoff: '${each.value.settings.maximum_backoff}',
        },
      ]);
      assert.deepStrictEqual(sub.dead_letter_policy, [
        {
          dead_letter_topic: '${google_pubsub_topic.dead_letter.id}',
          max_delivery_attempts: '${each.value.settings.max_delivery_attempts}',
        },
      ]);
      assert.deepStrictEqual(sub.expiration_policy, [{ ttl: '' }]);
      assert.equal(sub.message_retention_duration, '${var.delivery_retention}');
    });

    it('the fan-out target (reconcile) allows more parallel work and more delivery attempts than the audit function', () => {
      const type = root.variable.function_settings.type as string;
      const defaults = (fn: string) => {
        const block = new RegExp(`${fn} = optional\\(object\\(\\{([\\s\\S]*?)\\}\\)`).exec(type)?.[1] ?? '';
        return Object.fromEntries(
          [...block.matchAll(/(\w+)\s*=\s*optional\((?:number|string), "?([^")]+)"?\)/g)].map((m) => [
            m[1],
            m[2],
          ]),
        );
      };
      const audit = defaults('audit');
      const reconcile = defaults('reconcile');
      const parallel = (d: Record<string, string>) => Number(d.max_instances) * Number(d.request_concurrency);
      assert.ok(parallel(reconcile) >= parallel(audit), JSON.stringify({ audit, reconcile }));
      assert.ok(Number(reconcile.max_delivery_attempts) > Number(audit.max_delivery_attempts));
      assert.ok(Number(reconcile.cpu) >= 1, 'concurrency above 1 needs a whole vCPU');
    });

    it('the Pub/Sub service agent may publish to the dead-letter topic and acknowledge on each push subscription', () => {
      const publisher = root.resource.google_pubsub_topic_iam_member.dead_letter_publisher;
      assert.equal(publisher.topic, '${google_pubsub_topic.dead_letter.name}');
      assert.equal(publisher.role, 'roles/pubsub.publisher');
      assert.equal(publisher.member, '${local.pubsub_service_agent}');
      const subscriber = root.resource.google_pubsub_subscription_iam_member.dead_letter_subscriber;
      assert.equal(subscriber.for_each, '${google_pubsub_subscription.push}');
      assert.equal(subscriber.role, 'roles/pubsub.subscriber');
      assert.equal(subscriber.member, '${local.pubsub_service_agent}');
    });

    it('the dead-letter topic has a pull subscription that never expires', () => {
      const dlq = root.resource.google_pubsub_subscription.dead_letter;
      assert.equal(dlq.topic, '${google_pubsub_topic.dead_letter.id}');
      assert.deepStrictEqual(dlq.expiration_policy, [{ ttl: '' }]);
      assert.equal(dlq.push_config, undefined);
    });

    it('no step runs after apply: no dead-letter script, no output feeding one, no Eventarc trigger', () => {
      assert.ok(!existsSync(join(ROOT, 'scripts', 'dead-letter.sh')));
      assert.ok(!('dead_letter_args' in root.output));
      assert.equal(root.resource.google_cloudfunctions2_function.this.event_trigger, undefined);
      assert.doesNotMatch(read(join(ROOT, 'cloudbuild.yaml')), /dead-letter/);
    });
  });

  describe('functions', () => {
    const fn = () => root.resource.google_cloudfunctions2_function.this;

    it('deploys one function per entry point functions/index.ts registers', () => {
      const registered = [
        ...read(join(ROOT, 'functions', 'index.ts')).matchAll(/cloudEvent\(\s*'(\w+)'/g),
      ].map((m) => m[1]);
      assert.ok(registered.length >= 2);
      const deployed = Object.values(root.locals.functions as Record<string, { entry_point: string }>).map(
        (f) => f.entry_point,
      );
      assert.deepStrictEqual(deployed.sort(), registered.sort());
      assert.equal(fn().for_each, '${local.functions}');
      assert.equal(fn().build_config[0].entry_point, '${each.value.entry_point}');
    });

    it('runs on nodejs22 from the bundle in a bucket object named by the zip’s MD5', () => {
      const build = fn().build_config[0];
      assert.equal(build.runtime, 'nodejs22');
      assert.deepStrictEqual(build.source[0].storage_source[0], {
        bucket: '${google_storage_bucket.source.name}',
        object: '${google_storage_bucket_object.bundle.name}',
      });
      assert.match(
        root.resource.google_storage_bucket_object.bundle.name,
        /\$\{data\.archive_file\.bundle\.output_md5\}/,
      );
    });

    it('only Pub/Sub from the project (internal ingress) reaches the functions', () => {
      assert.equal(fn().service_config[0].ingress_settings, 'ALLOW_INTERNAL_ONLY');
    });

    it('sets every environment variable the code reads, per function, with that function’s config', () => {
      const reads = new Set<string>();
      const scan = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) scan(path);
          else if (entry.name.endsWith('.ts')) {
            const text = read(path);
            for (const m of text.matchAll(/\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)/g)) reads.add(m[1]);
            for (const m of text.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) reads.add(m[1]);
          }
        }
      };
      scan(join(ROOT, 'functions'));
      scan(join(ROOT, 'shared'));
      // Deliberately not set in the function, with the reason; an unknown new variable fails until listed here.
      const notNeeded: Record<string, string> = {};
      assert.ok(
        reads.has('SPOKEFLEET_CONFIG') && reads.has('GOOGLE_CLOUD_PROJECT'),
        `scanner found ${[...reads]}`,
      );
      const environment = unwrap(root.locals.function_environment);
      const set = [...environment.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]);
      assert.deepStrictEqual([...reads].filter((v) => !set.includes(v) && !(v in notNeeded)).sort(), []);
      assert.match(environment, /SPOKEFLEET_CONFIG\s*=\s*module\.config\.json_by_function\[key\]/);
      assert.match(environment, /for key in keys\(local\.functions\)/);
      assert.equal(fn().service_config[0].environment_variables, '${local.function_environment[each.key]}');
    });

    it('deploys the directory `npm run build` writes (dist/), with the lockfile that pins the framework', () => {
      assert.match(read(join(ROOT, 'scripts', 'build.mjs')), /const outdir = `\$\{root\}dist`;/);
      assert.equal(unwrap(root.locals.bundle_dir), 'coalesce(var.bundle_dir, "${path.module}/../dist")');
      const archive = root.data.archive_file.bundle;
      assert.equal(archive.source_dir, '${local.bundle_dir}');
      for (const kept of ['index.js', 'vendor.js', 'package.json', 'package-lock.json'])
        assert.ok(!archive.excludes.includes(kept), kept);
      const precondition = unwrap(archive.lifecycle[0].precondition[0].condition);
      for (const file of ['index.js', 'vendor.js', 'package.json', 'package-lock.json']) {
        assert.ok(precondition.includes(`"${file}"`), file);
      }
    });

    it('dist/package.json pins functions-framework exactly and dist/package-lock.json locks its tree', async () => {
      const { bundleManifest, FRAMEWORK } = (await import(
        pathToFileURL(join(ROOT, 'scripts', 'bundle-manifest.mjs')).href
      )) as {
        FRAMEWORK: string;
        bundleManifest: (pkg: unknown, lock: unknown) => { packageJson: Json; packageLock: Json };
      };
      const lock = JSON.parse(read(join(ROOT, 'package-lock.json')));
      const { packageJson, packageLock } = bundleManifest(JSON.parse(read(join(ROOT, 'package.json'))), lock);
      const locked = lock.packages[`node_modules/${FRAMEWORK}`];
      assert.deepStrictEqual(packageJson.dependencies, { [FRAMEWORK]: locked.version });
      assert.match(locked.version, /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
      assert.deepStrictEqual(packageLock.packages[''].dependencies, packageJson.dependencies);
      // Every entry is the repository lockfile's (same version and integrity), and every dependency resolves.
      for (const [path, entry] of Object.entries(packageLock.packages as Record<string, Json>)) {
        if (path === '') continue;
        assert.equal(entry.version, lock.packages[path].version, path);
        assert.equal(entry.integrity, lock.packages[path].integrity, path);
        assert.equal(entry.dev, undefined, path);
      }
      for (const [path, entry] of Object.entries(packageLock.packages as Record<string, Json>)) {
        for (const dep of Object.keys(entry.dependencies ?? {})) {
          let found = false;
          for (let base = path; ; ) {
            if (packageLock.packages[base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`]) {
              found = true;
              break;
            }
            if (!base) break;
            const up = base.lastIndexOf('/node_modules/');
            base = up < 0 ? '' : base.slice(0, up);
          }
          assert.ok(found, `${path || '(root)'} → ${dep}`);
        }
      }
      assert.ok(!(`node_modules/esbuild` in packageLock.packages), 'nothing beyond the framework’s tree');
    });

    it('direct VPC egress is not a cloudfunctions2 argument; the connector is', () => {
      const serviceConfig = schema.resource.google_cloudfunctions2_function.blocks.service_config;
      assert.ok(serviceConfig.arguments.includes('vpc_connector'));
      assert.ok(!serviceConfig.arguments.some((a) => /network|direct_vpc/.test(a)));
      assert.equal(fn().service_config[0].vpc_connector, '${try(var.vpc_access.connector, null)}');
    });
  });

  describe('SPOKEFLEET_CONFIG (modules/spokefleet-config) is what shared/config.ts accepts', () => {
    /** A config using every field Terraform sets; typed, so a field shared/config.ts renamed fails to compile. */
    const everyField: ConfigInput = {
      fleetProject: 'spokefleet-demo',
      projects: ['spokefleet-demo'],
      spokes: [
        { project: 'spokefleet-demo', network: 'gcp-spoke100-us-east4' },
        { networkPattern: '^gcp-spoke' },
      ],
      aviatrix: {
        controllerUrl: 'https://controller.example.com',
        username: 'spokefleet',
        passwordSecret: 'projects/spokefleet-demo/secrets/aviatrix/versions/1',
        cacheSeconds: 300,
        advertise: { controlPlane: true, pods: true, services: false },
      },
      membership: { location: 'global', idTemplate: '{cluster}' },
      workloadIdentity: { policy: 'enable', nodePools: 'migrate-new' },
      peering: { exportCustomRoutes: true, importCustomRoutes: false },
      namespaces: ['mcs-common'],
      export: { label: 'spokefleet.io/export', value: 'true' },
      owner: 'spokefleet',
      limits: {
        forbiddenNamespaces: ['default', 'kube-system'],
        maxClustersPerService: 5,
        maxEndpointsPerService: 250,
        maxServicesPerFleet: 50,
        refuseCrossProjectDuplicates: true,
      },
      kubeAccess: 'connectGateway',
      dryRun: false,
      concurrency: 8,
      maxEventAgeSeconds: 3600,
      retryBudgetMs: 30000,
      logLevel: 'info',
      selfPrincipals: ['spokefleet-fn@spokefleet-demo.iam.gserviceaccount.com'],
      reconcileTopic: 'projects/spokefleet-demo/topics/spokefleet-reconcile',
    };

    const keysOf = (value: unknown, into = new Set<string>()): Set<string> => {
      if (Array.isArray(value)) for (const v of value) keysOf(v, into);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          into.add(k);
          keysOf(v, into);
        }
      }
      return into;
    };

    it('the every-field sample is valid (so its keys are the schema’s)', () => {
      parseConfig(everyField);
    });

    it('reconcileTopic must be a full Pub/Sub topic name', () => {
      for (const bad of [
        'spokefleet-reconcile',
        'projects/p/topics/x',
        'projects/spokefleet-demo/topics/goog-x',
        'projects/spokefleet-demo/topics/1x',
      ]) {
        assert.throws(() => parseConfig({ ...everyField, reconcileTopic: bad }), /reconcileTopic/, bad);
      }
    });

    it('the module writes exactly those keys, plus each function’s invocationBudgetSeconds (static check)', () => {
      const text = hclCode(configModule.files['main.tf']);
      // `key =` at a line start or after `{` / `,` (not `==`, `=>`): object keys, inline ones included.
      const written = new Set(
        [...text.matchAll(/(?:^|[{,])\s*([A-Za-z]\w*)\s*=(?![=>])/gm)].map((m) => m[1]),
      );
      for (const local of ['config', 'config_by_function']) written.delete(local);
      assert.ok(written.delete('invocationBudgetSeconds'));
      assert.deepStrictEqual([...written].sort(), [...keysOf(everyField)].sort());
    });

    it('every module input is passed by terraform/config.tf', () => {
      const call = root.module.config;
      assert.equal(call.source, './modules/spokefleet-config');
      const passed = Object.keys(call).filter((k) => k !== 'source');
      assert.deepStrictEqual(passed.sort(), Object.keys(configModule.variable).sort());
    });

    /** Renders module.config with the real Terraform from a copy of variables.tf + config.tf and tfvars. */
    function renderConfig(tfvars: string): { json: ConfigInput; byFunction: Record<string, ConfigInput> } {
      return withScratch('spokefleet-config-', (dir) => {
        cpSync(join(TF, 'variables.tf'), join(dir, 'variables.tf'));
        cpSync(join(TF, 'config.tf'), join(dir, 'config.tf'));
        cpSync(MODULE, join(dir, 'modules', 'spokefleet-config'), { recursive: true });
        const lines = neededLocals(root, [hclCode(read(join(TF, 'config.tf')))], {
          self_principals: '["spokefleet-fn@${var.project_id}.iam.gserviceaccount.com"]',
        });
        writeFileSync(join(dir, 'locals.tf'), `locals {\n${lines.join('\n')}\n}\n`);
        writeFileSync(
          join(dir, 'outputs.tf'),
          'output "json" {\n  value = module.config.json\n}\noutput "by_function" {\n  value = module.config.json_by_function\n}\n',
        );
        writeFileSync(join(dir, 'terraform.tfvars'), tfvars);
        terraform(dir, ['init', '-input=false']);
        terraform(dir, ['apply', '-auto-approve', '-input=false']);
        const outputs = JSON.parse(terraform(dir, ['output', '-json']));
        return {
          json: JSON.parse(outputs.json.value),
          byFunction: Object.fromEntries(
            Object.entries(outputs.by_function.value as Record<string, string>).map(([k, v]) => [
              k,
              JSON.parse(v),
            ]),
          ),
        };
      });
    }

    it('terraform renders the single-project example to a config parseConfig accepts', function () {
      needTerraform(this);
      this.timeout(60_000);
      const { json: rendered } = renderConfig(read(join(EXAMPLES, 'single-project.tfvars')));
      const config = parseConfig(rendered);
      assert.equal(config.fleetProject, 'spokefleet-demo');
      assert.deepStrictEqual(config.spokes, [
        { project: 'spokefleet-demo', network: 'gcp-spoke100-us-east4' },
        { project: 'spokefleet-demo', network: 'gcp-spoke200-us-east4' },
      ]);
      assert.deepStrictEqual(config.selfPrincipals, [
        'spokefleet-fn@spokefleet-demo.iam.gserviceaccount.com',
      ]);
      assert.equal(config.reconcileTopic, 'projects/spokefleet-demo/topics/spokefleet-reconcile');
      assert.equal(config.dryRun, true);
      assert.ok(!('aviatrix' in rendered), 'no aviatrix key when the look-up is off');
      assert.deepStrictEqual(
        Object.keys(rendered.peering ?? {}),
        ['exportCustomRoutes'],
        'unset import flag left out',
      );
    });

    it('terraform renders the Shared VPC example (every validation passes) to a config parseConfig accepts', function () {
      needTerraform(this);
      this.timeout(60_000);
      const { json } = renderConfig(read(join(EXAMPLES, 'shared-vpc.tfvars')));
      const config = parseConfig(json);
      assert.equal(config.fleetProject, 'net-host-prod');
      assert.deepStrictEqual(config.projects, ['net-host-prod', 'app-team-a-prod', 'app-team-b-prod']);
      assert.ok(config.spokes.every((s) => 'project' in s && s.project === 'net-host-prod'));
      assert.equal(config.reconcileTopic, 'projects/net-host-prod/topics/spokefleet-reconcile');
    });

    it('each function gets its own invocation budget, below its timeout', function () {
      needTerraform(this);
      this.timeout(60_000);
      const { byFunction } = renderConfig(
        `${read(join(EXAMPLES, 'single-project.tfvars'))}\nfunction_settings = { reconcile = { timeout_seconds = 120 } }\n`,
      );
      assert.deepStrictEqual(Object.keys(byFunction).sort(), ['audit', 'reconcile']);
      assert.equal(parseConfig(byFunction.audit).invocationBudgetSeconds, 480, 'default 540 s timeout');
      assert.equal(parseConfig(byFunction.reconcile).invocationBudgetSeconds, 106);
      for (const config of Object.values(byFunction)) {
        const { invocationBudgetSeconds, ...rest } = config;
        assert.ok(invocationBudgetSeconds !== undefined);
        assert.deepStrictEqual(
          Object.keys(rest).sort(),
          Object.keys(byFunction.audit)
            .filter((k) => k !== 'invocationBudgetSeconds')
            .sort(),
        );
      }
    });

    it('terraform renders every optional field, and parseConfig accepts it', function () {
      needTerraform(this);
      this.timeout(60_000);
      const tfvars = `${read(join(EXAMPLES, 'single-project.tfvars'))}
fleet_project = "spokefleet-fleet"
spokes = [{ project = "spokefleet-demo", network = "gcp-spoke100-us-east4" }, { network_pattern = "^gcp-spoke" }]
aviatrix = {
  controller_url  = "https://controller.example.com"
  username        = "spokefleet"
  password_secret = "projects/spokefleet-demo/secrets/aviatrix/versions/1"
  advertise       = { services = true }
}
peering = { export_custom_routes = true, import_custom_routes = false }
membership = { location = "region", id_template = "{project}-{cluster}" }
limits = { max_services_per_fleet = 40 }
owner = "fleet-a"
`.replace(/^spokes = \[[\s\S]*?^\]\n/m, '');
      const { json: rendered } = renderConfig(tfvars);
      const config = parseConfig(rendered);
      assert.deepStrictEqual([...keysOf(rendered)].sort(), [...keysOf(everyField)].sort());
      assert.equal(config.fleetProject, 'spokefleet-fleet');
      assert.deepStrictEqual(config.spokes[1], { networkPattern: '^gcp-spoke' });
      assert.deepStrictEqual(config.aviatrix, {
        controllerUrl: 'https://controller.example.com',
        username: 'spokefleet',
        passwordSecret: 'projects/spokefleet-demo/secrets/aviatrix/versions/1',
        cacheSeconds: 300,
        advertise: { controlPlane: true, pods: true, services: true, verifyDelayMs: 2000 },
      });
      assert.deepStrictEqual(config.peering, { exportCustomRoutes: true, importCustomRoutes: false });
      assert.deepStrictEqual(config.membership, { location: 'region', idTemplate: '{project}-{cluster}' });
      assert.equal(config.limits.maxServicesPerFleet, 40);
      assert.equal(config.limits.maxClustersPerService, 5);
      assert.equal(config.owner, 'fleet-a');
    });

    /** The single-project example without its `namespaces = [...]` line, plus `extra`. */
    const withoutNamespaces = (extra: string) =>
      `${read(join(EXAMPLES, 'single-project.tfvars')).replace(/^namespaces = .*\n/m, '')}\n${extra}\n`;

    it('namespaces_auto renders namespaces: "auto", which parseConfig reads as auto-created namespaces', function () {
      needTerraform(this);
      this.timeout(60_000);
      const { json: rendered, byFunction } = renderConfig(withoutNamespaces('namespaces_auto = true'));
      assert.equal(rendered.namespaces, 'auto');
      const config = parseConfig(rendered);
      assert.equal(config.autoNamespaces, true);
      assert.deepStrictEqual(config.namespaces, []);
      for (const [name, perFunction] of Object.entries(byFunction)) {
        assert.equal(perFunction.namespaces, 'auto', name);
      }
    });

    it('namespaces left unset renders the seed list ["mcs-common"]', function () {
      needTerraform(this);
      this.timeout(60_000);
      const { json: rendered } = renderConfig(withoutNamespaces(''));
      assert.deepStrictEqual(rendered.namespaces, ['mcs-common']);
      assert.equal(parseConfig(rendered).autoNamespaces, false);
    });

    it('owner defaults to name_prefix, the deployment’s name', function () {
      needTerraform(this);
      this.timeout(60_000);
      const tfvars = `${read(join(EXAMPLES, 'single-project.tfvars'))}\nname_prefix = "sf-prod"\n`;
      assert.equal(parseConfig(renderConfig(tfvars).json).owner, 'sf-prod');
    });
  });

  describe('scheduler', () => {
    it('publishes a fleet-wide reconcile request the reconcile function accepts, every 30 minutes by default', () => {
      const request = root.locals.scheduled_reconcile_request;
      assert.deepStrictEqual(parseReconcileRequest(Buffer.from(JSON.stringify(request))), { scope: 'fleet' });
      const job = root.resource.google_cloud_scheduler_job.fleet_reconcile;
      assert.equal(job.pubsub_target[0].topic_name, '${google_pubsub_topic.reconcile.id}');
      assert.equal(
        job.pubsub_target[0].data,
        '${base64encode(jsonencode(local.scheduled_reconcile_request))}',
      );
      assert.equal(root.variable.reconcile_schedule.default, '*/30 * * * *');
    });
  });

  describe('every argument and block exists in the provider schemas (hashicorp/google and google-beta 6.50.0)', () => {
    /** The schema of a type as the configuration uses it: google-beta's where the block says so. */
    const typeSchema = (kind: 'resource' | 'data', type: string, body: Json) =>
      (isBetaProvider(body.provider) ? schema.beta : schema)[kind][type];

    const META = new Set([
      'count',
      'for_each',
      'depends_on',
      'lifecycle',
      'provider',
      'provisioner',
      'connection',
    ]);

    function check(body: Json, block: BlockSchema, path: string, errors: string[]): void {
      for (const [key, value] of Object.entries(body)) {
        if (META.has(key)) continue;
        if (key === 'dynamic') {
          for (const [name, dynamics] of Object.entries(value as Record<string, Json[]>)) {
            const nested = block.blocks[name];
            if (!nested) errors.push(`${path}: dynamic "${name}" is not a block`);
            else
              for (const d of dynamics)
                for (const content of d.content ?? []) check(content, nested, `${path}.${name}`, errors);
          }
        } else if (block.arguments.includes(key)) {
          // an argument: its value is an expression or a literal
        } else if (block.blocks[key]) {
          for (const element of value as Json[]) check(element, block.blocks[key], `${path}.${key}`, errors);
        } else {
          errors.push(`${path}: unknown argument or block "${key}"`);
        }
      }
    }

    it('every google_* type used is in the schema file (else: npx tsx scripts/provider-schema.ts)', () => {
      for (const kind of ['resource', 'data'] as const) {
        const used = Object.entries(root[kind])
          .filter(([t]) => t.startsWith('google_'))
          .flatMap(([t, byName]) => Object.values(byName).map((body) => ({ t, body })));
        assert.deepStrictEqual(
          used.filter(({ t, body }) => !typeSchema(kind, t, body)).map(({ t }) => t),
          [],
          kind,
        );
        const others = Object.keys(root[kind]).filter((t) => !t.startsWith('google_'));
        // archive_file is hashicorp/archive, not the google provider.
        assert.deepStrictEqual(others, kind === 'data' ? ['archive_file'] : [], `${kind}: non-google types`);
      }
      assert.equal(schema.provider, 'hashicorp/google 6.50.0');
    });

    it('arguments and blocks', () => {
      const errors: string[] = [];
      for (const kind of ['resource', 'data'] as const) {
        for (const [type, byName] of Object.entries(root[kind])) {
          if (!type.startsWith('google_')) continue;
          for (const [name, body] of Object.entries(byName))
            check(body, typeSchema(kind, type, body), `${type}.${name}`, errors);
        }
      }
      assert.deepStrictEqual(errors, []);
    });

    it('scripts/provider-schema.ts reads arguments, nested and empty blocks, and getters from a cdktf binding', () => {
      // The shape @cdktf/provider-google generates (abridged).
      const binding = `
function fooPolicyToTerraform(struct) {
    if (!cdktf.canInspect(struct)) {
        return struct;
    }
    return {};
}
function fooRuleToTerraform(struct) {
    return {
        ttl: cdktf.stringToTerraform(struct.ttl),
        policy: fooPolicyToTerraform(struct.policy),
    };
}
class Foo extends cdktf.TerraformResource {
    get uri() {
        return this.getStringAttribute('uri');
    }
    synthesizeAttributes() {
        return {
            name: cdktf.stringToTerraform(this._name),
            labels: cdktf.hashMapper(cdktf.stringToTerraform)(this._labels),
            rule: cdktf.listMapper(fooRuleToTerraform, true)(this._rule.internalValue),
        };
    }
}`;
      assert.deepStrictEqual(typeSchemaFromBinding(binding), {
        arguments: ['labels', 'name'],
        blocks: { rule: { arguments: ['ttl'], blocks: { policy: { arguments: [], blocks: {} } } } },
        readable: ['uri'],
      });
    });

    it('the check catches a misspelt argument and a misplaced block', () => {
      const errors: string[] = [];
      const fnSchema = schema.resource.google_cloudfunctions2_function;
      check({ name: 'x', service_config: [{ timeout: 1 }], retry_policy: 'x' }, fnSchema, 'f', errors);
      assert.deepStrictEqual(errors, [
        'f.service_config: unknown argument or block "timeout"',
        'f: unknown argument or block "retry_policy"',
      ]);
    });

    // Limits: references through for-expression variables (`fn.uri`) are not seen, and names after the first are
    // checked against every name the type can read at any depth (the schema's `readable` list is flat).
    it('attributes referenced as google_x.name.attr exist', () => {
      const errors: string[] = [];
      const text = [...Object.values(root.files), ...Object.values(configModule.files)]
        .map(hclCode)
        .join('\n');
      const reference = /(?<![\w.])(data\.)?(google_\w+)\.(\w+)(?:\[[^\]]*\])?((?:\.\w+(?:\[[^\]]*\])?)*)/g;
      for (const [whole, data, type, , rest] of text.matchAll(reference)) {
        const found =
          (data ? schema.data : schema.resource)[type] ??
          (data ? schema.beta.data : schema.beta.resource)[type];
        if (!found) {
          errors.push(`${whole}: unknown type`);
          continue;
        }
        const known = new Set([...found.readable, ...found.arguments, ...Object.keys(found.blocks)]);
        for (const attr of rest
          .replace(/\[[^\]]*\]/g, '')
          .split('.')
          .filter(Boolean)) {
          if (!known.has(attr)) errors.push(`${whole}: ${attr}`);
        }
      }
      assert.deepStrictEqual(errors, []);
    });
  });

  it('relative paths in the configuration point at files that exist', () => {
    const paths = [...allCode(root).matchAll(/\$\{path\.module\}\/([\w./-]+)/g)].map((m) => m[1]);
    const missing = paths
      .filter((p) => !p.startsWith('.terraform/') && !p.startsWith('../dist'))
      .filter((p) => !existsSync(join(TF, p)));
    assert.deepStrictEqual(missing, [], `missing under ${relative(ROOT, TF)}/`);
  });
});
