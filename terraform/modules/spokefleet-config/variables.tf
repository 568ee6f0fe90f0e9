# Inputs are validated (and defaulted) by the root module's variables.tf; this module only maps them.

variable "fleet_project" {
  description = "Fleet host project (config fleetProject)."
  type        = string
}

variable "projects" {
  description = "Allowed cluster projects (config projects)."
  type        = list(string)
}

variable "spokes" {
  description = "Spoke matchers (config spokes)."
  type = list(object({
    project         = optional(string)
    network         = optional(string)
    network_pattern = optional(string)
  }))
}

variable "aviatrix" {
  description = "Aviatrix Controller look-up, or null (config aviatrix)."
  type = object({
    controller_url  = string
    username        = string
    password_secret = string
    cache_seconds   = number
    advertise = object({
      control_plane = bool
      pods          = bool
      services      = bool
    })
  })
}

variable "membership" {
  description = "Membership location and id template (config membership)."
  type = object({
    location    = string
    id_template = string
  })
}

variable "workload_identity" {
  description = "Workload identity policy (config workloadIdentity.policy)."
  type        = string
}

variable "workload_identity_node_pools" {
  description = "Node pools without the GKE metadata server (config workloadIdentity.nodePools)."
  type        = string
  default     = "migrate-new"
}

variable "peering" {
  description = "Peering flags (config peering); import_custom_routes may be null."
  type = object({
    export_custom_routes = bool
    import_custom_routes = optional(bool)
  })
}

variable "namespaces" {
  description = "Seed namespaces (config namespaces)."
  type        = list(string)
}

variable "namespaces_auto" {
  description = "Render config namespaces as \"auto\" instead of the seed list."
  type        = bool
}

variable "export_label" {
  description = "Export label key and value (config export)."
  type = object({
    label = string
    value = string
  })
}

variable "owner" {
  description = "This deployment's name on managed objects (config owner)."
  type        = string
}

variable "limits" {
  description = "MCS limits (config limits)."
  type = object({
    forbidden_namespaces            = list(string)
    max_clusters_per_service        = number
    max_endpoints_per_service       = number
    max_services_per_fleet          = number
    refuse_cross_project_duplicates = bool
  })
}

variable "kube_access" {
  description = "connectGateway or endpoint (config kubeAccess)."
  type        = string
}

variable "dry_run" {
  description = "Dry run (config dryRun)."
  type        = bool
}

variable "concurrency" {
  description = "Clusters at once (config concurrency)."
  type        = number
}

variable "max_event_age_seconds" {
  description = "Maximum event age (config maxEventAgeSeconds)."
  type        = number
}

variable "retry_budget_ms" {
  description = "In-process retry budget (config retryBudgetMs)."
  type        = number
}

variable "log_level" {
  description = "Log level (config logLevel)."
  type        = string
}

variable "self_principals" {
  description = "The automation's own principals (config selfPrincipals)."
  type        = list(string)
}

variable "reconcile_topic" {
  description = "Full name of the reconcile topic, projects/P/topics/T (config reconcileTopic): where fan-out publishes."
  type        = string
}

variable "function_timeouts" {
  description = "Timeout in seconds of each function, by name; each function's config gets an invocation budget below it."
  type        = map(number)
}
