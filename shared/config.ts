/**
 * The one configuration object: JSON in the SPOKEFLEET_CONFIG environment variable, validated once
 * per instance at cold start. An invalid config fails fast with every problem listed, so a bad deploy shows up
 * as one clear error instead of a trickle of odd behaviour.
 */
import { z } from 'zod';
import { networkPatternProblem } from './policy/network-pattern';
import { DNS1035_LABEL, DNS1123_LABEL, PROJECT_ID, PUBSUB_TOPIC } from './validators';

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const SECRET_VERSION = /^projects\/[^/]+\/secrets\/[^/]+\/versions\/[^/]+$/;

const projectId = z
  .string()
  .regex(PROJECT_ID, 'must be a Google Cloud project id (6–30 lowercase letters, digits, hyphens)');

/** A spoke's `networkPattern`: RE2 syntax, matched in linear time (see policy/network-pattern). */
const networkPattern = z.string().superRefine((source, ctx) => {
  const problem = networkPatternProblem(source);
  if (problem)
    ctx.addIssue({
      code: 'custom',
      message: `must be a valid regular expression in RE2 syntax (no lookaround, no backreferences): ${problem}`,
    });
});

/** Loopback only: credentials and cluster traffic never go to a non-Google host other than this machine. */
export function isLoopbackUrl(value: string): boolean {
  let host: string;
  try {
    host = new URL(value.includes('://') ? value : `http://${value}`).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The scheme is case-insensitive: `HTTPS://host` is https too. Only for a value that parses as a URL. */
function isHttpsUrl(value: string): boolean {
  return new URL(value).protocol === 'https:';
}

const loopback = z.string().refine(isLoopbackUrl, {
  message: 'endpoint overrides must point at loopback (127.0.0.0/8, localhost, [::1])',
});

const spoke = z.union(
  [
    z.strictObject({
      project: projectId.optional(),
      network: z.string().regex(DNS1035_LABEL, 'must be a VPC network name'),
    }),
    z.strictObject({ networkPattern }),
  ],
  // Without this, a spoke matching neither shape (unknown key, both keys, not an object) reads "Invalid input".
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'must be {network, project?} or {networkPattern}, with no other keys'
        : undefined,
  },
);

const schema = z
  .strictObject({
    /** Project that hosts the fleet (memberships, the MCS feature, the workload identity pool). */
    fleetProject: projectId,
    /** Projects whose clusters Spokefleet may touch. Nothing outside them is ever read or written. */
    projects: z.array(projectId).min(1, 'list at least one project'),
    /** Which VPCs are Aviatrix spokes: exact `{project?, network}` or `{networkPattern}` (an RE2 regular expression on the name, matched in linear time). */
    spokes: z.array(spoke).min(1, 'list at least one spoke'),
    aviatrix: z
      .strictObject({
        controllerUrl: z.url({ protocol: /^https?$/ }),
        username: z.string().min(1),
        /** Secret Manager version holding the controller password. */
        passwordSecret: z.string().regex(SECRET_VERSION, 'must be projects/P/secrets/S/versions/V'),
        cacheSeconds: z.int().min(0).max(86_400).default(300),
        /**
         * Opt-in: the spoke gateway of a cluster's VPC advertises the cluster's ranges to the transit, by adding
         * them to its "Customize Spoke Advertised VPC CIDRs" include list. Add-only: nothing is ever removed.
         */
        advertise: z
          .strictObject({
            /** The control plane's `privateClusterConfig.masterIpv4CidrBlock` (peering-based private clusters). */
            controlPlane: z.boolean().default(true),
            /** The pod range, `ipAllocationPolicy.clusterIpv4CidrBlock`. */
            pods: z.boolean().default(true),
            /** The Service range, `ipAllocationPolicy.servicesIpv4CidrBlock` (often shared by every cluster). */
            services: z.boolean().default(false),
            /**
             * After a write, wait this long and read the list again: a concurrent writer that read before our
             * write would have overwritten it by then, and the missing CIDRs are added again.
             */
            verifyDelayMs: z.int().min(0).max(60_000).default(2_000),
          })
          .optional(),
      })
      .optional(),
    membership: z
      .strictObject({
        /** `global` (the classic fleet location) or `region` (the cluster's region, like born-in-fleet clusters). */
        location: z.enum(['global', 'region']).default('global'),
        /** Membership id template; `{cluster}`, `{project}` and `{location}` are replaced. */
        idTemplate: z
          .string()
          .refine((t) => t.includes('{cluster}'), { message: 'must contain {cluster}' })
          .default('{cluster}'),
      })
      .prefault({}),
    /**
     * `policy` — enable: turn workload identity on when off; require: refuse clusters without it; ignore: leave as
     * is. `nodePools` — migrate: move every node pool to the GKE metadata server (its nodes are recreated);
     * migrate-new: only while onboarding a new cluster (younger than maxEventAgeSeconds), report the others;
     * report: never write, name the pools and the gcloud command. The bare policy string is accepted too.
     */
    workloadIdentity: z.preprocess(
      (value) => (typeof value === 'string' ? { policy: value } : value),
      z
        .strictObject({
          policy: z.enum(['enable', 'require', 'ignore']).default('enable'),
          nodePools: z.enum(['migrate', 'migrate-new', 'report']).default('migrate-new'),
        })
        .prefault({}),
    ),
    peering: z
      .strictObject({
        exportCustomRoutes: z.boolean().default(true),
        /** Leave unset to keep whatever the peering has. */
        importCustomRoutes: z.boolean().optional(),
      })
      .prefault({}),
    /**
     * Namespaces seeded in every onboarded cluster, or `"auto"`: none up front, and the namespace of each exported
     * Service created in every member cluster (MCS imports a Service only where its namespace exists).
     */
    namespaces: z
      .union([
        z.literal('auto'),
        z.array(z.string().regex(DNS1123_LABEL, 'must be a DNS-1123 label').max(63)),
      ])
      .default(['mcs-common']),
    export: z
      .strictObject({
        label: z.string().regex(LABEL_KEY, 'must be a Kubernetes label key').default('spokefleet.io/export'),
        value: z.string().regex(LABEL_VALUE, 'must be a Kubernetes label value').default('true'),
      })
      .prefault({}),
    /**
     * This deployment's name, on every object Spokefleet may later delete (the `spokefleet.io/owner` label): a
     * deployment only ever deletes objects carrying its own name, so two deployments sharing a fleet never delete
     * each other's. Terraform sets it to `owner`, else `name_prefix`.
     */
    owner: z
      .string()
      // Valid both as a Kubernetes label value and as a Google Cloud label value (lowercase, no dots).
      .regex(DNS1035_LABEL, 'must be 1–63 lowercase letters, digits and hyphens, starting with a letter')
      .default('spokefleet'),
    /** GKE's documented MCS limits; change only if Google's limits change for you. */
    limits: z
      .strictObject({
        forbiddenNamespaces: z.array(z.string()).default(['default', 'kube-system']),
        maxClustersPerService: z.int().min(1).default(5),
        maxEndpointsPerService: z.int().min(1).default(250),
        maxServicesPerFleet: z.int().min(1).default(50),
        /** Refuse exporting a namespace/name that another project already exports. */
        refuseCrossProjectDuplicates: z.boolean().default(true),
        /** GKE Hub's default quotas: clusters with global memberships, and with regional ones, per fleet. */
        maxGlobalMemberships: z.int().min(1).default(250),
        maxRegionalMemberships: z.int().min(1).default(50),
      })
      .prefault({}),
    /** connectGateway (no network path to the control plane needed) or endpoint (cluster IP + CA, needs VPC egress). */
    kubeAccess: z.enum(['connectGateway', 'endpoint']).default('connectGateway'),
    dryRun: z.boolean().default(false),
    /** Clusters reconciled at once by a project- or fleet-wide request run in one invocation (no reconcileTopic). */
    concurrency: z.int().min(1).max(64).default(8),
    /** The reconcile topic, `projects/P/topics/T`. When set, a project or fleet request publishes one cluster request
     * per cluster to it (fan-out) instead of reconciling every cluster in its own invocation. */
    reconcileTopic: z
      .string()
      .regex(
        PUBSUB_TOPIC,
        'must be projects/PROJECT/topics/TOPIC (a Pub/Sub topic id: a letter, then 2–254 of A-Za-z0-9-_.~+%)',
      )
      .optional(),
    fanOut: z
      .strictObject({
        /** Cluster requests published per minute, spread evenly: paces the calls the fanned-out invocations make. */
        clustersPerMinute: z.int().min(1).max(60_000).default(300),
      })
      .prefault({}),
    /** Older events are acknowledged without work; the periodic fleet reconcile covers them. */
    maxEventAgeSeconds: z.int().min(60).default(3600),
    /** Principals whose Service writes are the automation's own (loop safety). */
    selfPrincipals: z.array(z.email()).default([]),
    /** In-process retry budget per API call, before the error goes back to Pub/Sub. */
    retryBudgetMs: z.int().min(0).max(300_000).default(30_000),
    /** Each API call (one attempt) ends after min(this, the time left in the invocation): a hung connection cannot
     * hold an invocation. Long polls keep their own cap (Compute's operations wait: about two minutes). */
    callTimeoutSeconds: z.int().min(1).max(600).default(30),
    /** Work stops (and the event goes back to Pub/Sub) this long after an invocation starts: keep it below the
     * function timeout (540 s by default) with a margin for the last call and the answer. */
    invocationBudgetSeconds: z.int().min(10).max(3_600).default(480),
    /** Local runs only: the sandbox's timing scale. The invocation budget, per-call caps and the typical operation
     * durations the steps plan with are multiplied by it, so a scaled local cloud keeps real proportions. */
    timeScale: z.number().gt(0).max(1).default(1),
    logLevel: z.enum(['debug', 'info', 'warning', 'error']).default('info'),
    /** Local runs only: point each adapter at a stand-in on loopback. Never set in a deployment. */
    endpoints: z
      .strictObject({
        container: loopback.optional(),
        compute: loopback.optional(),
        gkehub: loopback.optional(),
        resourcemanager: loopback.optional(),
        /** A template: `{location}` becomes the membership's location (`global` or a region), as the real
         * gateway has one host per location. */
        connectGateway: loopback
          .refine((url) => url.includes('{location}'), { message: 'must contain {location}' })
          .optional(),
        secretmanager: loopback.optional(),
        /** A Pub/Sub emulator (or the sandbox's publish stand-in), `host:port`, for publishing cluster requests. */
        pubsub: loopback.optional(),
        /** Bearer token sent to the stand-ins instead of Application Default Credentials. */
        token: z.string().min(1).default('sandbox-token'),
      })
      .optional(),
  })
  // Cross-field rules. They also run when other fields have errors (`when`), so one ConfigError lists every
  // problem; the value may then be partly invalid, hence the defensive reads.
  .superRefine(
    (config, ctx) => {
      const raw = config as unknown as Record<string, unknown>;
      const projects = Array.isArray(raw.projects) ? (raw.projects as unknown[]) : undefined;
      if (projects && Array.isArray(raw.spokes)) {
        raw.spokes.forEach((s: unknown, i: number) => {
          const project = isObject(s) ? s.project : undefined;
          if (typeof project === 'string' && PROJECT_ID.test(project) && !projects.includes(project)) {
            ctx.addIssue({
              code: 'custom',
              path: ['spokes', i, 'project'],
              message: `project ${project} is not in projects`,
            });
          }
        });
      }
      const url = isObject(raw.aviatrix) ? raw.aviatrix.controllerUrl : undefined;
      if (typeof url === 'string' && URL.canParse(url) && !isHttpsUrl(url) && !isLoopbackUrl(url)) {
        ctx.addIssue({
          code: 'custom',
          path: ['aviatrix', 'controllerUrl'],
          message: 'must use https (http only on loopback)',
        });
      }
    },
    { when: (payload) => isObject(payload.value) },
  );

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type ParsedConfig = z.output<typeof schema>;
/** `namespaces: "auto"` is read as no seed list plus `autoNamespaces`. */
export type Config = Omit<ParsedConfig, 'namespaces'> & { namespaces: string[]; autoNamespaces?: boolean };
export type ConfigInput = z.input<typeof schema>;
export type SpokeMatcher = Config['spokes'][number];
/** The schema itself, for tools that explain a problem further (`spokefleet config validate`). */
export const configSchema = schema;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(
      `invalid SPOKEFLEET_CONFIG (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
    );
  }
}

/** Validates a config object; throws ConfigError listing every problem. */
export function parseConfig(input: unknown): Config {
  const result = schema.safeParse(input);
  if (result.success) {
    const { namespaces, ...rest } = result.data;
    return namespaces === 'auto'
      ? { ...rest, namespaces: [], autoNamespaces: true }
      : { ...rest, namespaces, autoNamespaces: false };
  }
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/** Parses the JSON text of SPOKEFLEET_CONFIG. */
export function parseConfigJson(text: string | undefined): Config {
  if (text === undefined || text.trim() === '') throw new ConfigError(['SPOKEFLEET_CONFIG is not set']);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`SPOKEFLEET_CONFIG is not JSON: ${(error as Error).message}`]);
  }
  return parseConfig(input);
}

let cached: Config | undefined;

/** The instance's config, read from the environment once (cold start) and reused by every event. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  cached ??= parseConfigJson(env.SPOKEFLEET_CONFIG);
  return cached;
}

/** Tests only: forget the cached config. */
export function resetConfigCache(): void {
  cached = undefined;
}
