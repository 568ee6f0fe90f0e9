# SPOKEFLEET_CONFIG: the typed variables mapped to the JSON shared/config.ts validates at cold start. The mapping
# lives in a provider-free module so test/unit/terraform.test.ts can render it offline with the real Terraform and
# feed the result to the code's parseConfig. Keep this file to this one block: the test copies it.
module "config" {
  source = "./modules/spokefleet-config"

  fleet_project                = local.fleet_project
  projects                     = var.projects
  spokes                       = var.spokes
  aviatrix                     = var.aviatrix
  membership                   = var.membership
  workload_identity            = var.workload_identity
  workload_identity_node_pools = var.workload_identity_node_pools
  peering                      = var.peering
  namespaces                   = coalesce(var.namespaces, ["mcs-common"])
  namespaces_auto              = var.namespaces_auto
  export_label                 = var.export_label
  owner                        = coalesce(var.owner, var.name_prefix)
  limits                       = var.limits
  kube_access                  = var.kube_access
  dry_run                      = var.dry_run
  concurrency                  = var.concurrency
  max_event_age_seconds        = var.max_event_age_seconds
  retry_budget_ms              = var.retry_budget_ms
  log_level                    = var.log_level
  self_principals              = local.self_principals
  reconcile_topic              = local.reconcile_topic
  function_timeouts            = { for name, f in var.function_settings : name => f.timeout_seconds }
}
