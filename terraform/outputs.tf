output "functions" {
  description = "The deployed functions: name, entry point, Cloud Run service URI and the push subscription that delivers to it."
  value = {
    for key, fn in google_cloudfunctions2_function.this : key => {
      name         = fn.name
      entry_point  = local.functions[key].entry_point
      uri          = fn.service_config[0].uri
      subscription = google_pubsub_subscription.push[key].id
    }
  }
}

output "service_accounts" {
  description = "Service account emails: the functions' runtime identity (bind the Kubernetes RBAC to it), the push subscriptions' identity and the build identity."
  value = {
    functions = google_service_account.functions.email
    trigger   = google_service_account.trigger.email
    build     = google_service_account.build.email
  }
}

output "topics" {
  description = "Pub/Sub topics: audit (log sink), reconcile (publish reconcile requests here), dead_letter."
  value = {
    audit       = google_pubsub_topic.audit.id
    reconcile   = google_pubsub_topic.reconcile.id
    dead_letter = google_pubsub_topic.dead_letter.id
  }
}

output "dead_letter_subscription" {
  description = "Pull subscription holding dead-lettered events: gcloud pubsub subscriptions pull SUBSCRIPTION --limit=10"
  value       = google_pubsub_subscription.dead_letter.id
}

output "sink_filter" {
  description = "The Cloud Logging query of the audit sink(s)."
  value       = local.sink_filter
}

output "sink_writer_identities" {
  description = "Writer identities of the audit sinks (each may publish to the audit topic)."
  value       = local.sink_writer_identities
}

output "custom_roles" {
  description = "Spokefleet's custom role in each project."
  value       = { for project, role in google_project_iam_custom_role.reconciler : project => role.name }
}

output "spokefleet_config" {
  description = "The SPOKEFLEET_CONFIG each function runs with (JSON, by function: they differ only in invocationBudgetSeconds)."
  value       = module.config.json_by_function
}

output "kubernetes_rbac_manifest" {
  description = "ClusterRole and ClusterRoleBinding for the functions' service account; apply in every cluster when kubernetes_authorization = rbac: terraform output -raw kubernetes_rbac_manifest | kubectl apply -f -"
  value       = templatefile("${path.module}/rbac/spokefleet-rbac.yaml.tftpl", { service_account_email = google_service_account.functions.email })
}

output "reconcile_command" {
  description = "Publishes a fleet-wide reconcile request by hand."
  value       = "gcloud pubsub topics publish ${google_pubsub_topic.reconcile.id} --message='${jsonencode(local.scheduled_reconcile_request)}'"
}

output "service_agents" {
  description = "Google's service agents Spokefleet grants roles to, as provisioned by google_project_service_identity: Pub/Sub (push tokens, dead letters), and the fleet project's GKE Hub and MCS agents."
  value = {
    pubsub = local.pubsub_service_agent
    gkehub = local.gkehub_service_agent
    mcsd   = local.mcsd_service_agent
  }
}

output "mcs_importer_principal" {
  description = "The MCS importer's principal (gke-mcs/gke-mcs-importer in the fleet's workload identity pool), granted roles/compute.networkViewer when mcs_importer_grant is on."
  value       = local.mcs_importer_principal
}
