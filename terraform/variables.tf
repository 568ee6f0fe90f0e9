# Inputs of the Spokefleet deployment. Names of the SPOKEFLEET_CONFIG fields are the snake_case forms of
# shared/config.ts's camelCase keys; config.tf maps one to the other and test/unit/terraform.test.ts renders the
# result and validates it with the code's own parser.

# --- Where Spokefleet runs ---

variable "project_id" {
  description = "Project that hosts Spokefleet itself: the functions, the Pub/Sub topics, the source bucket and the scheduler job."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits and hyphens)."
  }
}

variable "region" {
  description = "Region of the functions, their image repository, the source bucket and the Cloud Scheduler job, e.g. us-east4."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-east4."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, functions, service accounts, sinks, bucket)."
  type        = string
  default     = "spokefleet"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 lowercase letters, digits or hyphens, starting with a letter (service account ids are built from it)."
  }
}

variable "labels" {
  description = "Labels put on every labellable resource Spokefleet creates (Google's label rules: lowercase keys starting with a letter, at most 63 characters)."
  type        = map(string)
  default     = {}
  # Google Cloud label requirements (Resource Manager, "Requirements for labels"): keys 1-63 characters of
  # lowercase letters, digits, underscores and dashes, starting with a lowercase letter (international letters
  # count as letters); values 0-63 of the same characters; at most 64 labels, one of which the MCS feature adds.
  validation {
    condition     = alltrue([for k in keys(var.labels) : can(regex("^[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}$", k))])
    error_message = "labels: keys must be 1-63 lowercase letters, digits, underscores or dashes, starting with a lowercase letter."
  }
  validation {
    condition     = alltrue([for v in values(var.labels) : can(regex("^[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}$", v))])
    error_message = "labels: values must be at most 63 lowercase letters, digits, underscores or dashes."
  }
  validation {
    condition     = length(var.labels) <= 63
    error_message = "labels: at most 63 (Google allows 64 per resource, and Spokefleet adds managed-by to the MCS feature)."
  }
}

variable "manage_apis" {
  description = "Enable the Google APIs Spokefleet needs in the host, fleet and cluster projects (google_project_service). Turn off when another stack owns project services."
  type        = bool
  default     = true
}

# --- What Spokefleet manages (SPOKEFLEET_CONFIG) ---

variable "fleet_project" {
  description = "Fleet host project: memberships, the multiclusterservicediscovery feature and the workload identity pool FLEET_PROJECT.svc.id.goog. Defaults to project_id."
  type        = string
  default     = null
  validation {
    condition     = var.fleet_project == null ? true : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.fleet_project))
    error_message = "fleet_project must be a Google Cloud project id."
  }
}

variable "projects" {
  description = "Projects whose GKE clusters Spokefleet may read and change (config `projects`). Shared VPC host projects of the spokes belong here too: the peering is changed there."
  type        = list(string)
  validation {
    condition     = length(var.projects) > 0 && alltrue([for p in var.projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "projects must list at least one Google Cloud project id."
  }
  validation {
    condition     = length(distinct(var.projects)) == length(var.projects)
    error_message = "projects must not repeat a project."
  }
}

variable "spokes" {
  description = "The Aviatrix spoke VPCs (config `spokes`): each either { project (optional), network } for an exact VPC or { network_pattern } for a regular expression on the VPC name."
  type = list(object({
    project         = optional(string)
    network         = optional(string)
    network_pattern = optional(string)
  }))
  validation {
    condition     = length(var.spokes) > 0
    error_message = "spokes must list at least one spoke."
  }
  validation {
    condition     = alltrue([for s in var.spokes : (s.network == null) != (s.network_pattern == null)])
    error_message = "each spoke sets exactly one of network or network_pattern."
  }
  validation {
    condition     = alltrue([for s in var.spokes : s.network == null ? true : can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", s.network))])
    error_message = "spoke network must be a VPC network name."
  }
  validation {
    condition     = alltrue([for s in var.spokes : s.network_pattern == null ? true : can(regexall(s.network_pattern, ""))])
    error_message = "spoke network_pattern must be a valid RE2 regular expression (the syntax Terraform checks here and the functions match with: no lookaround, no backreferences)."
  }
  validation {
    condition     = alltrue([for s in var.spokes : s.project == null ? true : contains(var.projects, s.project)])
    error_message = "a spoke's project must be one of projects."
  }
}

variable "aviatrix" {
  description = "Optional Aviatrix Controller look-up of spoke VPCs (config `aviatrix`). password_secret is a Secret Manager version, projects/P/secrets/S/versions/V; the functions' service account gets secretAccessor on that secret and secretmanager.googleapis.com is enabled. advertise (off when null): the spoke gateway of each cluster's VPC adds the cluster's master range (control_plane), pod range (pods) and Service range (services) to its advertised-CIDR include list; add-only, see docs/deploy.md."
  type = object({
    controller_url  = string
    username        = string
    password_secret = string
    cache_seconds   = optional(number, 300)
    advertise = optional(object({
      control_plane = optional(bool, true)
      pods          = optional(bool, true)
      services      = optional(bool, false)
    }))
  })
  default = null
  validation {
    condition     = var.aviatrix == null ? true : can(regex("^https://", var.aviatrix.controller_url))
    error_message = "aviatrix.controller_url must use https."
  }
  validation {
    condition     = var.aviatrix == null ? true : can(regex("^projects/[^/]+/secrets/[^/]+/versions/[^/]+$", var.aviatrix.password_secret))
    error_message = "aviatrix.password_secret must be projects/P/secrets/S/versions/V."
  }
  validation {
    condition     = var.aviatrix == null ? true : var.aviatrix.cache_seconds >= 0 && var.aviatrix.cache_seconds <= 86400
    error_message = "aviatrix.cache_seconds must be between 0 and 86400."
  }
}

variable "membership" {
  description = "Fleet membership placement (config `membership`): location `global` or `region` (the cluster's region), and the id template ({cluster}, {project}, {location})."
  type = object({
    location    = optional(string, "global")
    id_template = optional(string, "{cluster}")
  })
  default = {}
  validation {
    condition     = contains(["global", "region"], var.membership.location)
    error_message = "membership.location must be global or region."
  }
  validation {
    condition     = strcontains(var.membership.id_template, "{cluster}")
    error_message = "membership.id_template must contain {cluster}."
  }
}

variable "workload_identity" {
  description = "Workload identity policy (config `workloadIdentity`): enable turns it on with the fleet pool, require refuses clusters without it, ignore leaves clusters as they are. Only enable needs container.clusters.update for it."
  type        = string
  default     = "enable"
  validation {
    condition     = contains(["enable", "require", "ignore"], var.workload_identity)
    error_message = "workload_identity must be enable, require or ignore."
  }
}

variable "workload_identity_node_pools" {
  description = "Node pools without the GKE metadata server (config `workloadIdentity.nodePools`): migrate updates every such pool to GKE_METADATA (its nodes are recreated), migrate-new only while onboarding a cluster younger than max_event_age_seconds (older ones are reported), report only reports them with the gcloud command. Anything but report needs container.clusters.update (UpdateNodePool)."
  type        = string
  default     = "migrate-new"
  validation {
    condition     = contains(["migrate", "migrate-new", "report"], var.workload_identity_node_pools)
    error_message = "workload_identity_node_pools must be migrate, migrate-new or report."
  }
}

variable "peering" {
  description = "Control-plane peering flags (config `peering`): export the VPC's custom routes (the Aviatrix ones) to the GKE control plane; import_custom_routes unset keeps whatever the peering has."
  type = object({
    export_custom_routes = optional(bool, true)
    import_custom_routes = optional(bool)
  })
  default = {}
}

variable "namespaces" {
  description = "Namespaces created in every managed cluster (config `namespaces`); null means [\"mcs-common\"]. Leave it unset (or []) when namespaces_auto is true."
  type        = list(string)
  default     = null
  validation {
    condition     = alltrue([for n in coalesce(var.namespaces, []) : length(n) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", n))])
    error_message = "namespaces must be DNS-1123 labels of at most 63 characters."
  }
}

variable "namespaces_auto" {
  description = "Config `namespaces: \"auto\"` instead of a seed list: no namespace seeded up front; the namespace of each exported Service is created in every member cluster (MCS imports a Service only where its namespace exists)."
  type        = bool
  default     = false
  nullable    = false
  validation {
    # A seed list next to auto would be silently ignored: refuse it rather than guess which one was meant.
    condition     = !var.namespaces_auto || length(coalesce(var.namespaces, [])) == 0
    error_message = "namespaces_auto = true replaces the namespaces list: leave namespaces unset (or [])."
  }
}

variable "export_label" {
  description = "The Service label that asks for a ServiceExport (config `export`)."
  type = object({
    label = optional(string, "spokefleet.io/export")
    value = optional(string, "true")
  })
  default = {}
  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$", var.export_label.label))
    error_message = "export_label.label must be a Kubernetes label key."
  }
  validation {
    condition     = can(regex("^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$", var.export_label.value))
    error_message = "export_label.value must be a Kubernetes label value."
  }
}

variable "owner" {
  description = "This deployment's name on every object Spokefleet may later delete (config `owner`, the `spokefleet.io/owner` label): a deployment deletes only objects carrying its own. Deployments sharing a fleet need different owners. null means name_prefix."
  type        = string
  default     = null
  validation {
    condition     = var.owner == null || can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.owner))
    error_message = "owner must be 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "limits" {
  description = "GKE's documented MCS limits enforced before an export (config `limits`); change only if Google's limits change for you."
  type = object({
    forbidden_namespaces            = optional(list(string), ["default", "kube-system"])
    max_clusters_per_service        = optional(number, 5)
    max_endpoints_per_service       = optional(number, 250)
    max_services_per_fleet          = optional(number, 50)
    refuse_cross_project_duplicates = optional(bool, true)
  })
  default = {}
  validation {
    condition = alltrue([
      for n in [var.limits.max_clusters_per_service, var.limits.max_endpoints_per_service, var.limits.max_services_per_fleet] : n >= 1 && floor(n) == n
    ])
    error_message = "limits.max_* must be whole numbers of at least 1."
  }
}

variable "kube_access" {
  description = "How the functions reach each cluster's Kubernetes API (config `kubeAccess`): connectGateway (no network path needed; IAM gkehub.gateway.* + RBAC) or endpoint (cluster endpoint + CA; needs a network path, see vpc_access)."
  type        = string
  default     = "connectGateway"
  validation {
    condition     = contains(["connectGateway", "endpoint"], var.kube_access)
    error_message = "kube_access must be connectGateway or endpoint."
  }
}

variable "kubernetes_authorization" {
  description = "How the functions' service account is authorised inside clusters: rbac (the default: apply the ClusterRole from the kubernetes_rbac_manifest output in every cluster; it names exactly the resources and verbs the code uses) or iam (opt-in: GKE IAM permissions granted project-wide by a second custom role, so new clusters need nothing installed, but it covers every namespace and every custom resource of every cluster in the project, and it is not verified against a real cluster here). See docs/iam.md."
  type        = string
  default     = "rbac"
  validation {
    condition     = contains(["rbac", "iam"], var.kubernetes_authorization)
    error_message = "kubernetes_authorization must be rbac or iam."
  }
}

variable "dry_run" {
  description = "Log every write as planned instead of making it (config `dryRun`)."
  type        = bool
  default     = false
}

variable "concurrency" {
  description = "Clusters reconciled at once by one project- or fleet-wide request (config `concurrency`)."
  type        = number
  default     = 8
  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 64 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number from 1 to 64."
  }
}

variable "max_event_age_seconds" {
  description = "Audit events older than this are acknowledged without work; the periodic fleet reconcile covers them (config `maxEventAgeSeconds`)."
  type        = number
  default     = 3600
  validation {
    condition     = var.max_event_age_seconds >= 60 && floor(var.max_event_age_seconds) == var.max_event_age_seconds
    error_message = "max_event_age_seconds must be a whole number of at least 60."
  }
}

variable "retry_budget_ms" {
  description = "In-process retry budget per API call before a transient error goes back to Pub/Sub (config `retryBudgetMs`)."
  type        = number
  default     = 30000
  validation {
    condition     = var.retry_budget_ms >= 0 && var.retry_budget_ms <= 300000 && floor(var.retry_budget_ms) == var.retry_budget_ms
    error_message = "retry_budget_ms must be a whole number from 0 to 300000."
  }
}

variable "log_level" {
  description = "Lowest severity the functions log (config `logLevel`)."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["debug", "info", "warning", "error"], var.log_level)
    error_message = "log_level must be debug, info, warning or error."
  }
}

variable "extra_self_principals" {
  description = "Principals besides the functions' own service account whose Service writes are ignored (config `selfPrincipals`) and excluded by the sink filter."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for p in var.extra_self_principals : can(regex("^[^@\"\\\\\\s]+@[^@\"\\\\\\s]+\\.[^@\"\\\\\\s]+$", p))])
    error_message = "extra_self_principals must be email addresses."
  }
}

# --- Plumbing ---

variable "log_sink" {
  description = "Where the audit log sink lives: scope project (one sink in each of projects), folder or organization (one aggregated sink with include_children; parent is the folder or organization id)."
  type = object({
    scope  = optional(string, "project")
    parent = optional(string)
  })
  default = {}
  validation {
    condition     = contains(["project", "folder", "organization"], var.log_sink.scope)
    error_message = "log_sink.scope must be project, folder or organization."
  }
  validation {
    condition     = var.log_sink.scope == "project" ? true : can(regex("^(folders/|organizations/)?[0-9]+$", var.log_sink.parent))
    error_message = "log_sink.parent must be the numeric folder or organization id when scope is folder or organization."
  }
}

variable "function_settings" {
  description = "Runtime and delivery settings of the two functions: memory (e.g. 512Mi), cpu, timeout_seconds (also the push subscription's ack deadline), max/min instances, concurrent requests per instance, and the push subscription's retry backoff and delivery attempts before a message is dead-lettered. The reconcile function receives the fan-out of project- and fleet-wide requests (one invocation per cluster): max_instances x request_concurrency clusters are reconciled at once, a cluster that waits for its operations (onboarding) holds its slot for whole invocations, so keep that product above the number of clusters onboarded at once; a saturated function's 429 answers are failed delivery attempts, hence more attempts."
  type = object({
    audit = optional(object({
      memory                = optional(string, "512Mi")
      cpu                   = optional(string, "1")
      timeout_seconds       = optional(number, 540)
      max_instances         = optional(number, 10)
      min_instances         = optional(number, 0)
      request_concurrency   = optional(number, 8)
      max_delivery_attempts = optional(number, 10)
      minimum_backoff       = optional(string, "10s")
      maximum_backoff       = optional(string, "60s")
    }), {})
    reconcile = optional(object({
      memory                = optional(string, "1Gi")
      cpu                   = optional(string, "1")
      timeout_seconds       = optional(number, 540)
      max_instances         = optional(number, 20)
      min_instances         = optional(number, 0)
      request_concurrency   = optional(number, 4)
      max_delivery_attempts = optional(number, 20)
      minimum_backoff       = optional(string, "10s")
      maximum_backoff       = optional(string, "60s")
    }), {})
  })
  default = {}
  # Pub/Sub: the ack deadline (for push, the request timeout) is at most 600 s. The lower bound is Spokefleet's:
  # the invocation budget (8/9 of the timeout) must be at least the 10 s shared/config.ts accepts.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      f.timeout_seconds >= 12 && f.timeout_seconds <= 600 && floor(f.timeout_seconds) == f.timeout_seconds
    ])
    error_message = "function_settings: timeout_seconds must be a whole number from 12 to 600 (Pub/Sub's longest push request timeout)."
  }
  # Cloud Run CPU limits: 0.08 to 1 vCPU in steps of 0.001, or 1, 2, 4, 6 or 8.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      can(regex("^(0\\.[0-9]{1,3}|[12468])$", f.cpu)) && tonumber(f.cpu) >= 0.08
    ])
    error_message = "function_settings: cpu must be 0.08 to 1 (at most three decimals) or 1, 2, 4, 6 or 8 (Cloud Run CPU limits)."
  }
  # Cloud Run: with less than 1 vCPU, maximum concurrency must be 1.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      f.request_concurrency == 1 || !can(tonumber(f.cpu)) || tonumber(f.cpu) >= 1
    ])
    error_message = "function_settings: request_concurrency above 1 needs cpu of at least 1 (Cloud Run allows only concurrency 1 below 1 vCPU)."
  }
  # Cloud Run memory per vCPU: up to 512 MiB below 0.5 vCPU, 1 GiB below 1, 4 GiB at 1, 8 GiB at 2, 2-16 GiB at 4,
  # 4-24 GiB at 6, 4-32 GiB at 8; at least 128 MiB.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      can(regex("^[0-9]+(Mi|Gi)$", f.memory)) && can(tonumber(f.cpu)) ? (
        (tonumber(regex("^[0-9]+", f.memory)) * (endswith(f.memory, "Gi") ? 1024 : 1)) >= max(128, lookup({ "4" = 2048, "6" = 4096, "8" = 4096 }, f.cpu, 128))
        && (tonumber(regex("^[0-9]+", f.memory)) * (endswith(f.memory, "Gi") ? 1024 : 1)) <= (
          tonumber(f.cpu) < 0.5 ? 512 : tonumber(f.cpu) < 1 ? 1024 : lookup({ "1" = 4096, "2" = 8192, "4" = 16384, "6" = 24576, "8" = 32768 }, f.cpu, 0)
        )
      ) : false
    ])
    error_message = "function_settings: memory (like 512Mi or 2Gi) must fit the cpu: at most 512Mi below 0.5 vCPU, 1Gi below 1, 4Gi at 1, 8Gi at 2, 2-16Gi at 4, 4-24Gi at 6, 4-32Gi at 8 (Cloud Run), and at least 128Mi."
  }
  # Cloud Run: at most 1000 concurrent requests per instance.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      f.max_instances >= 1 && f.min_instances >= 0 && f.min_instances <= f.max_instances
      && f.request_concurrency >= 1 && f.request_concurrency <= 1000
    ])
    error_message = "function_settings: 0 <= min_instances <= max_instances, max_instances >= 1, request_concurrency 1-1000."
  }
  # Pub/Sub DeadLetterPolicy: max_delivery_attempts between 5 and 100.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      f.max_delivery_attempts >= 5 && f.max_delivery_attempts <= 100 && floor(f.max_delivery_attempts) == f.max_delivery_attempts
    ])
    error_message = "function_settings: max_delivery_attempts must be a whole number from 5 to 100 (Pub/Sub's range)."
  }
  # Pub/Sub RetryPolicy: minimum and maximum backoff between 0 and 600 seconds.
  validation {
    condition = alltrue([
      for f in [var.function_settings.audit, var.function_settings.reconcile] :
      can(regex("^[0-9]+s$", f.minimum_backoff)) && can(regex("^[0-9]+s$", f.maximum_backoff))
      ? tonumber(trimsuffix(f.maximum_backoff, "s")) <= 600 && tonumber(trimsuffix(f.minimum_backoff, "s")) <= tonumber(trimsuffix(f.maximum_backoff, "s"))
      : false
    ])
    error_message = "function_settings: minimum_backoff <= maximum_backoff, both whole seconds like 10s, at most 600s (Pub/Sub's retry policy range)."
  }
}

variable "vpc_access" {
  description = "Optional Serverless VPC Access connector for the functions' egress, needed when kube_access = endpoint and the control planes are private (projects/P/locations/R/connectors/NAME). Cloud Functions' service_config has no Direct VPC egress; see docs/deploy.md."
  type = object({
    connector       = string
    egress_settings = optional(string, "PRIVATE_RANGES_ONLY")
  })
  default = null
  validation {
    condition     = var.vpc_access == null ? true : can(regex("^projects/[^/]+/locations/[^/]+/connectors/[^/]+$", var.vpc_access.connector))
    error_message = "vpc_access.connector must be projects/P/locations/R/connectors/NAME."
  }
  validation {
    condition     = var.vpc_access == null ? true : contains(["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"], var.vpc_access.egress_settings)
    error_message = "vpc_access.egress_settings must be PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  }
}

variable "dead_letter" {
  description = "The dead-letter subscription: how long it keeps a message that exhausted its delivery attempts (function_settings.*.max_delivery_attempts)."
  type = object({
    message_retention = optional(string, "604800s")
  })
  default = {}
  # Pub/Sub: a subscription's message_retention_duration is 10 minutes to 31 days.
  validation {
    condition     = can(regex("^[0-9]+s$", var.dead_letter.message_retention)) ? tonumber(trimsuffix(var.dead_letter.message_retention, "s")) >= 600 && tonumber(trimsuffix(var.dead_letter.message_retention, "s")) <= 2678400 : false
    error_message = "dead_letter.message_retention must be whole seconds from 600s (10 minutes) to 2678400s (31 days), Pub/Sub's range."
  }
}

variable "delivery_retention" {
  description = "How long the functions' push subscriptions keep a message that is not acknowledged yet (it is retried meanwhile, then dead-lettered)."
  type        = string
  default     = "604800s"
  # Pub/Sub: a subscription's message_retention_duration is 10 minutes to 31 days.
  validation {
    condition     = can(regex("^[0-9]+s$", var.delivery_retention)) ? tonumber(trimsuffix(var.delivery_retention, "s")) >= 600 && tonumber(trimsuffix(var.delivery_retention, "s")) <= 2678400 : false
    error_message = "delivery_retention must be whole seconds from 600s (10 minutes) to 2678400s (31 days), Pub/Sub's range."
  }
}

variable "audit_topic_retention" {
  description = "How long the audit topic keeps published entries, so they can be replayed with a seek after an outage."
  type        = string
  default     = "86400s"
  # Pub/Sub: a topic's message_retention_duration is 10 minutes to 31 days.
  validation {
    condition     = can(regex("^[0-9]+s$", var.audit_topic_retention)) ? tonumber(trimsuffix(var.audit_topic_retention, "s")) >= 600 && tonumber(trimsuffix(var.audit_topic_retention, "s")) <= 2678400 : false
    error_message = "audit_topic_retention must be whole seconds from 600s (10 minutes) to 2678400s (31 days), Pub/Sub's range."
  }
}

variable "reconcile_schedule" {
  description = "Cron schedule of the periodic fleet-wide reconcile (drift repair); null disables the job."
  type        = string
  default     = "*/30 * * * *"
  validation {
    condition     = var.reconcile_schedule == null ? true : length(split(" ", trimspace(var.reconcile_schedule))) == 5
    error_message = "reconcile_schedule must be a five-field cron expression."
  }
}

variable "reconcile_time_zone" {
  description = "Time zone of reconcile_schedule: a tz database name such as Etc/UTC or Europe/Paris."
  type        = string
  default     = "Etc/UTC"
  # Cloud Scheduler: the time zone must be a name from the tz database. Checked here by shape (Area/Location,
  # Area/Location/Sub, or a single name like UTC or CET); a well-formed name that is not in the database is still
  # refused by Cloud Scheduler at apply.
  validation {
    condition     = can(regex("^[A-Z][A-Za-z0-9_+-]*(/[A-Z][A-Za-z0-9_+-]*){0,2}$", var.reconcile_time_zone))
    error_message = "reconcile_time_zone must be a tz database name such as Etc/UTC or America/New_York (not an offset like +02:00)."
  }
}

variable "grant_cross_project_service_agents" {
  description = "Grant the fleet project's GKE Hub and MCS service agents their roles in every other project of projects, as cross-project fleet registration and MCS require."
  type        = bool
  default     = true
}

variable "mcs_feature" {
  description = "Who owns the fleet's multiclusterservicediscovery feature: unmanaged (Terraform leaves it alone; the functions turn it on with the first cluster they onboard, and terraform destroy keeps it), create (Terraform creates and owns it), adopt (an import block takes over the existing one). Owned means terraform destroy turns MCS off for the whole fleet."
  type        = string
  default     = "unmanaged"
  validation {
    condition     = contains(["unmanaged", "create", "adopt"], var.mcs_feature)
    error_message = "mcs_feature must be unmanaged, create or adopt."
  }
}

variable "mcs_importer_grant" {
  description = "Grant the MCS importer (gke-mcs/gke-mcs-importer in the fleet's workload identity pool) roles/compute.networkViewer in the fleet and cluster projects, as MCS requires. Turn off if another stack grants it."
  type        = bool
  default     = true
}

variable "sink_excluded_principals" {
  description = "Kubernetes principals whose Service writes the audit sink drops (besides the functions' own account): controllers that write Services all the time and whose writes Spokefleet would only ignore. Default: the MCS importer, which keeps its derived gke-mcs-* Services in step."
  type        = list(string)
  default     = ["system:serviceaccount:gke-mcs:gke-mcs-importer"]
  validation {
    # The Logging query quotes them; shared/events/methods.ts refuses quotes, backslashes and control characters.
    condition     = alltrue([for p in var.sink_excluded_principals : can(regex("^[^\"\\\\\\x00-\\x1f\\x7f]+$", p))])
    error_message = "sink_excluded_principals must not contain quotes, backslashes or control characters."
  }
}

variable "bundle_dir" {
  description = "Directory holding the built functions bundle (npm run build writes dist/index.js, vendor.js, package.json and package-lock.json). Defaults to the repository's dist/."
  type        = string
  default     = null
}
