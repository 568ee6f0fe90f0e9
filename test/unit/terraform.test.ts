// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform interpolations (`${…}`) are the expected values here, not JavaScript templates
/**
 * terraform/ checked against the code, offline. `terraform validate` needs the google provider binary, which cannot
 * be downloaded here, so the configuration is parsed (@cdktf/hcl2json) and compared with what the code says: the
 * sink filter with shared/events/methods.ts, the custom role with shared/cloud/permissions.ts, SPOKEFLEET_CONFIG
 * with shared/config.ts, arguments and blocks with the provider's real schema (test/fixtures/terraform/). Where a
 * `terraform` binary is installed, the provider-free parts (fmt, the config mapping, the filter template) are also
 * run through it; without one those tests are skipped with a message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import {
  GENERATED_DIR,
  generatedFiles,
  PRINCIPALS_INTERPOLATION,
  SINK_FILTER_TEMPLATE,
} from '../../scripts/gen-terraform';
import { type BlockSchema, type ProviderSchema, typeSchemaFromBinding } from '../../scripts/provider-schema';
import {
  customRolePermissions,
  kubernetesIamPermissions,
  type ProjectScope,
  servicesByScope,
} from '../../shared/cloud/permissions';
import { type ConfigInput, parseConfig } from '../../shared/config';
import { AUDIT_METHODS, sinkFilter } from '../../shared/events/methods';
import { parseReconcileRequest } from '../../shared/events/request';

const ROOT = join(__dirname, '..', '..');
const TF = join(ROOT, 'terraform');
const MODULE = join(TF, 'modules', 'spokefleet-config');
const read = (path: string) => readFileSync(path, 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: hcl2json output is untyped JSON
type Json = any;

interface Module {
  files: Record<string, string>;
  variable: Record<string, Json>;
  locals: Record<string, Json>;
  resource: Record<string, Record<string, Json>>;
  data: Record<string, Record<string, Json>>;
  module: Record<string, Json>;
  output: Record<string, Json>;
  terraform: Json[];
}

async function loadModule(dir: string): Promise<Module> {
  const mod: Module = {
    files: {},
    variable: {},
    locals: {},
    resource: {},
    data: {},
    module: {},
    output: {},
    terraform: [],
  };
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    const text = read(join(dir, name));
    mod.files[name] = text;
    const json: Json = await parse(name, text);
    for (const [key, value] of Object.entries(json.variable ?? {})) mod.variable[key] = (value as Json[])[0];
    for (const block of json.locals ?? []) Object.assign(mod.locals, block);
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, byName] of Object.entries(json[kind] ?? {})) {
        for (const [resourceName, bodies] of Object.entries(byName as Record<string, Json[]>)) {
          mod[kind][type] ??= {};
          mod[kind][type][resourceName] = bodies[0];
        }
      }
    }
    for (const [key, value] of Object.entries(json.module ?? {})) mod.module[key] = (value as Json[])[0];
    for (const [key, value] of Object.entries(json.output ?? {})) mod.output[key] = (value as Json[])[0];
    mod.terraform.push(...(json.terraform ?? []));
  }
  return mod;
}

/** HCL text without comments (`#`, `//`, `/* … *\/`); good enough for finding references. */
function hclCode(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)(#|\/\/).*$/gm, '$1');
}

const allCode = (mod: Module) => Object.values(mod.files).map(hclCode).join('\n');

/** `"${expr}"` → `expr`. */
const unwrap = (value: unknown): string => {
  assert.equal(typeof value, 'string');
  const match = /^\$\{([\s\S]*)\}$/.exec(value as string);
  return match ? match[1] : (value as string);
};

// --- terraform binary (optional) ---

function terraformEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
  };
  if (env.TF_CLI_CONFIG_FILE && !existsSync(env.TF_CLI_CONFIG_FILE)) delete env.TF_CLI_CONFIG_FILE;
  return env;
}

const HAVE_TERRAFORM = spawnSync('terraform', ['version'], { env: terraformEnv() }).status === 0;

function terraform(cwd: string, args: string[]): string {
  const result = spawnSync('terraform', [...args, '-no-color'], {
    cwd,
    env: terraformEnv(),
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `terraform ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function needTerraform(ctx: Mocha.Context): void {
  if (!HAVE_TERRAFORM) {
    console.warn(`      (skipped: terraform is not installed; "${ctx.test?.title}" needs it)`);
    ctx.skip();
  }
}

// ---

let root: Module;
let configModule: Module;
let schema: ProviderSchema;

describe('terraform/', () => {
  before(async () => {
    root = await loadModule(TF);
    configModule = await loadModule(MODULE);
    schema = JSON.parse(read(join(ROOT, 'test', 'fixtures', 'terraform', 'provider-schema.json')));
  });

  describe('format', () => {
    it('terraform fmt -check -recursive terraform/ passes', function () {
      needTerraform(this);
      terraform(ROOT, ['fmt', '-check', '-recursive', 'terraform/']);
    });

    it('terraform.tfvars.example is formatted (checked through a .tfvars copy)', function () {
      needTerraform(this);
      const dir = mkdtempSync(join(tmpdir(), 'tfvars-'));
      try {
        cpSync(join(TF, 'terraform.tfvars.example'), join(dir, 'example.tfvars'));
        terraform(dir, ['fmt', '-check', 'example.tfvars']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
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

    it('the tfvars example sets only declared variables and every required one', async () => {
      const example: Json = await parse('terraform.tfvars', read(join(TF, 'terraform.tfvars.example')));
      const declared = Object.keys(root.variable);
      assert.deepStrictEqual(
        Object.keys(example).filter((k) => !declared.includes(k)),
        [],
      );
      const required = Object.entries(root.variable)
        .filter(([, body]) => !('default' in body))
        .map(([name]) => name);
      assert.deepStrictEqual(
        required.filter((k) => !(k in example)),
        [],
      );
    });

    it('the tfvars example is the seed topology', async () => {
      const example: Json = await parse('terraform.tfvars', read(join(TF, 'terraform.tfvars.example')));
      assert.deepStrictEqual(
        example.spokes.map((s: { network: string }) => s.network),
        ['gcp-spoke100-us-east4', 'gcp-spoke200-us-east4'],
      );
      assert.deepStrictEqual(example.namespaces, ['mcs-common']);
    });

    it('pins the google provider to >= 6.50, < 8 and requires Terraform >= 1.9', () => {
      const block = root.terraform.find((t) => t.required_providers);
      const providers = block.required_providers[0];
      assert.equal(providers.google.source, 'hashicorp/google');
      assert.equal(providers.google.version, '>= 6.50, < 8');
      assert.equal(block.required_version, '>= 1.9');
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

    it('rendered with the self principals it equals sinkFilter({ excludePrincipals })', () => {
      const principals = ['spokefleet-fn@p.iam.gserviceaccount.com', 'ops@example.com'];
      assert.equal(render(template(), principals), sinkFilter({ excludePrincipals: principals }));
    });

    it('terraform itself renders the template to sinkFilter({ excludePrincipals })', function () {
      needTerraform(this);
      const dir = mkdtempSync(join(tmpdir(), 'sinkfilter-'));
      try {
        cpSync(join(GENERATED_DIR, SINK_FILTER_TEMPLATE), join(dir, SINK_FILTER_TEMPLATE));
        const principals = ['spokefleet-fn@p.iam.gserviceaccount.com', 'ops@example.com'];
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
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('every sink uses that template with the functions’ service account excluded', () => {
      assert.equal(
        unwrap(root.locals.sink_filter),
        'templatefile("${path.module}/generated/sink_filter.tftpl", { self_principals = local.self_principals })',
      );
      assert.match(unwrap(root.locals.self_principals), /google_service_account\.functions\.email/);
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
    for (const scope of ['fleet', 'cluster', 'network'] as ProjectScope[]) {
      it(`custom role permissions for ${scope} projects`, () => {
        assert.deepStrictEqual(root.locals.custom_role_permissions[scope], customRolePermissions(scope));
      });
    }

    it('the custom role is built from those lists, in each fleet/cluster/network project, and bound to the functions SA', () => {
      const role = root.resource.google_project_iam_custom_role.reconciler;
      assert.equal(role.for_each, '${local.iam_projects}');
      assert.match(unwrap(role.permissions), /local\.custom_role_permissions\[capacity\]/);
      const binding = root.resource.google_project_iam_member.reconciler;
      assert.equal(binding.role, '${google_project_iam_custom_role.reconciler[each.key].name}');
      assert.equal(binding.member, '${google_service_account.functions.member}');
      assert.match(unwrap(root.locals.iam_projects), /"fleet"/);
      assert.match(unwrap(root.locals.iam_projects), /"cluster", "network"/);
    });

    it('the Connect gateway role is bound in the fleet project in connectGateway mode', () => {
      const binding = root.resource.google_project_iam_member.connect_gateway;
      assert.equal(binding.role, 'roles/gkehub.gatewayEditor');
      assert.equal(binding.project, '${local.fleet_project}');
      assert.match(binding.count, /var\.kube_access == "connectGateway"/);
    });

    it('kubernetes_authorization = "iam" grants exactly the GKE IAM equivalents of the ClusterRole', () => {
      assert.deepStrictEqual(root.locals.kubernetes_iam_permissions, kubernetesIamPermissions());
      assert.equal(
        root.resource.google_project_iam_custom_role.kubernetes.permissions,
        '${local.kubernetes_iam_permissions}',
      );
    });

    it('the MCS importer gets compute.networkViewer in every project', () => {
      const grant = root.resource.google_project_iam_member.mcs_importer_network_viewer;
      assert.equal(grant.role, 'roles/compute.networkViewer');
      assert.equal(
        grant.member,
        'serviceAccount:${local.fleet_project}.svc.id.goog[gke-mcs/gke-mcs-importer]',
      );
      assert.equal(grant.for_each, '${local.iam_projects}');
    });

    it('the trigger identity may invoke the functions and receive events', () => {
      const invoker = root.resource.google_cloud_run_v2_service_iam_member.trigger_invoker;
      assert.equal(invoker.role, 'roles/run.invoker');
      assert.equal(invoker.for_each, '${google_cloudfunctions2_function.this}');
      assert.equal(invoker.member, '${google_service_account.trigger.member}');
      assert.equal(
        root.resource.google_project_iam_member.trigger_event_receiver.role,
        'roles/eventarc.eventReceiver',
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
        'connectgateway',
        'cloudfunctions',
        'run',
        'eventarc',
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
      assert.ok(fleet.includes('connectgateway.googleapis.com'));
    });

    it('never disables an API on destroy', () => {
      assert.equal(root.resource.google_project_service.this.disable_on_destroy, false);
    });
  });

  describe('Pub/Sub and dead-lettering', () => {
    it('has the audit, reconcile and dead-letter topics', () => {
      assert.deepStrictEqual(Object.keys(root.resource.google_pubsub_topic).sort(), [
        'audit',
        'dead_letter',
        'reconcile',
      ]);
    });

    it('the dead-letter topic has a subscription that never expires', () => {
      const subs = Object.values(root.resource.google_pubsub_subscription) as Json[];
      const dlq = subs.filter((s) => s.topic === '${google_pubsub_topic.dead_letter.id}');
      assert.equal(dlq.length, 1);
      assert.deepStrictEqual(dlq[0].expiration_policy, [{ ttl: '' }]);
    });

    it('the Pub/Sub service agent may publish to the dead-letter topic', () => {
      const grant = root.resource.google_pubsub_topic_iam_member.dead_letter_publisher;
      assert.equal(grant.topic, '${google_pubsub_topic.dead_letter.name}');
      assert.equal(grant.role, 'roles/pubsub.publisher');
      assert.equal(grant.member, 'serviceAccount:${local.pubsub_service_agent}');
      assert.equal(
        unwrap(root.locals.pubsub_service_agent),
        'service-${data.google_project.host.number}@gcp-sa-pubsub.iam.gserviceaccount.com',
      );
    });

    it('hands scripts/dead-letter.sh every function and the dead-letter topic', () => {
      const args = unwrap(root.output.dead_letter_args.value);
      for (const flag of [
        '--project',
        '--region',
        '--dead-letter-topic',
        '--max-delivery-attempts',
        '--pubsub-service-agent',
        '--function',
      ]) {
        assert.ok(args.includes(`"${flag}"`), flag);
      }
      assert.match(args, /google_pubsub_topic\.dead_letter\.id/);
      assert.match(args, /for fn in google_cloudfunctions2_function\.this/);
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

    it('both triggers are Pub/Sub messagePublished with retries on', () => {
      const trigger = fn().event_trigger[0];
      assert.equal(trigger.event_type, 'google.cloud.pubsub.topic.v1.messagePublished');
      assert.equal(trigger.retry_policy, 'RETRY_POLICY_RETRY');
      assert.equal(trigger.pubsub_topic, '${each.value.topic}');
      assert.equal(trigger.service_account_email, '${google_service_account.trigger.email}');
      const topics = Object.values(root.locals.functions as Record<string, { topic: string }>)
        .map((f) => f.topic)
        .sort();
      assert.deepStrictEqual(topics, [
        '${google_pubsub_topic.audit.id}',
        '${google_pubsub_topic.reconcile.id}',
      ]);
    });

    it('event functions time out within 540 s by default', () => {
      const settings = root.variable.function_settings.type as string;
      for (const match of settings.matchAll(/timeout_seconds\s*=\s*optional\(number, (\d+)\)/g)) {
        assert.ok(Number(match[1]) <= 540, match[0]);
      }
      assert.match(settings, /timeout_seconds/);
      assert.equal(fn().service_config[0].timeout_seconds, '${each.value.settings.timeout_seconds}');
    });

    it('sets every environment variable the code reads', () => {
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
      const set = Object.keys(root.locals.function_environment);
      assert.deepStrictEqual([...reads].filter((v) => !set.includes(v) && !(v in notNeeded)).sort(), []);
      assert.equal(root.locals.function_environment.SPOKEFLEET_CONFIG, '${module.config.json}');
      assert.equal(fn().service_config[0].environment_variables, '${local.function_environment}');
    });

    it('deploys the directory `npm run build` writes (dist/), with index.js and package.json', () => {
      assert.match(read(join(ROOT, 'scripts', 'build.mjs')), /const outdir = `\$\{root\}dist`;/);
      assert.equal(unwrap(root.locals.bundle_dir), 'coalesce(var.bundle_dir, "${path.module}/../dist")');
      const archive = root.data.archive_file.bundle;
      assert.equal(archive.source_dir, '${local.bundle_dir}');
      for (const kept of ['index.js', 'package.json']) assert.ok(!archive.excludes.includes(kept), kept);
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
      workloadIdentity: 'enable',
      peering: { exportCustomRoutes: true, importCustomRoutes: false },
      namespaces: ['mcs-common'],
      export: { label: 'spokefleet.io/export', value: 'true' },
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

    it('the module writes exactly those keys (static check of main.tf)', () => {
      const text = hclCode(configModule.files['main.tf']);
      // `key =` at a line start or after `{` / `,` (not `==`, `=>`): object keys, inline ones included.
      const written = new Set(
        [...text.matchAll(/(?:^|[{,])\s*([A-Za-z]\w*)\s*=(?![=>])/gm)].map((m) => m[1]),
      );
      written.delete('config'); // the local's own name
      assert.deepStrictEqual([...written].sort(), [...keysOf(everyField)].sort());
    });

    it('every module input is passed by terraform/config.tf', () => {
      const call = root.module.config;
      assert.equal(call.source, './modules/spokefleet-config');
      const passed = Object.keys(call).filter((k) => k !== 'source');
      assert.deepStrictEqual(passed.sort(), Object.keys(configModule.variable).sort());
    });

    /** Renders module.config.json with the real Terraform from a copy of variables.tf + config.tf and tfvars. */
    function renderConfig(tfvars: string): unknown {
      const dir = mkdtempSync(join(tmpdir(), 'spokefleet-config-'));
      try {
        cpSync(join(TF, 'variables.tf'), join(dir, 'variables.tf'));
        cpSync(join(TF, 'config.tf'), join(dir, 'config.tf'));
        cpSync(MODULE, join(dir, 'modules', 'spokefleet-config'), { recursive: true });
        // Locals config.tf needs: copied from locals.tf unless they need a provider (those are stubbed).
        const stubs: Record<string, string> = {
          self_principals: '["spokefleet-fn@${var.project_id}.iam.gserviceaccount.com"]',
        };
        const needed = [
          ...new Set([...hclCode(read(join(TF, 'config.tf'))).matchAll(/\blocal\.(\w+)/g)].map((m) => m[1])),
        ];
        const lines = needed.map((name) => {
          if (name in stubs) return `  ${name} = ${stubs[name]}`;
          const expression = unwrap(root.locals[name]);
          assert.doesNotMatch(expression, /\b(google_\w+\.|data\.|module\.)/, `local.${name} needs a stub`);
          return `  ${name} = ${expression}`;
        });
        writeFileSync(join(dir, 'locals.tf'), `locals {\n${lines.join('\n')}\n}\n`);
        writeFileSync(join(dir, 'outputs.tf'), 'output "json" {\n  value = module.config.json\n}\n');
        writeFileSync(join(dir, 'terraform.tfvars'), tfvars);
        terraform(dir, ['init', '-input=false']);
        terraform(dir, ['apply', '-auto-approve', '-input=false']);
        return JSON.parse(terraform(dir, ['output', '-raw', 'json']));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('terraform renders the tfvars example to a config parseConfig accepts', function () {
      needTerraform(this);
      this.timeout(60_000);
      const rendered = renderConfig(read(join(TF, 'terraform.tfvars.example'))) as ConfigInput;
      const config = parseConfig(rendered);
      assert.equal(config.fleetProject, 'spokefleet-demo');
      assert.deepStrictEqual(config.spokes, [
        { project: 'spokefleet-demo', network: 'gcp-spoke100-us-east4' },
        { project: 'spokefleet-demo', network: 'gcp-spoke200-us-east4' },
      ]);
      assert.deepStrictEqual(config.selfPrincipals, [
        'spokefleet-fn@spokefleet-demo.iam.gserviceaccount.com',
      ]);
      assert.equal(config.dryRun, true);
      assert.ok(!('aviatrix' in rendered), 'no aviatrix key when the look-up is off');
      assert.deepStrictEqual(
        Object.keys(rendered.peering ?? {}),
        ['exportCustomRoutes'],
        'unset import flag left out',
      );
    });

    it('terraform renders every optional field, and parseConfig accepts it', function () {
      needTerraform(this);
      this.timeout(60_000);
      const tfvars = `${read(join(TF, 'terraform.tfvars.example'))}
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
`.replace(/^spokes = \[[\s\S]*?^\]\n/m, '');
      const rendered = renderConfig(tfvars) as ConfigInput;
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

  describe('fleet', () => {
    it('enables multiclusterservicediscovery in the fleet project, location global', () => {
      const feature = root.resource.google_gke_hub_feature.mcs;
      assert.equal(feature.name, 'multiclusterservicediscovery');
      assert.equal(feature.location, 'global');
      assert.equal(feature.project, '${local.fleet_project}');
    });
  });

  describe('every argument and block exists in the provider schema (hashicorp/google 6.50.0)', () => {
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
        const used = Object.keys(root[kind]).filter((t) => t.startsWith('google_'));
        assert.deepStrictEqual(
          used.filter((t) => !schema[kind][t]),
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
            check(body, schema[kind][type], `${type}.${name}`, errors);
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
        const typeSchema = (data ? schema.data : schema.resource)[type];
        if (!typeSchema) {
          errors.push(`${whole}: unknown type`);
          continue;
        }
        const known = new Set([
          ...typeSchema.readable,
          ...typeSchema.arguments,
          ...Object.keys(typeSchema.blocks),
        ]);
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
