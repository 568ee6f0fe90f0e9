output "functions" {
  description = "The deployed functions: name, entry point, Cloud Run service URI and Eventarc trigger."
  value = {
    for key, fn in google_cloudfunctions2_function.this : key => {
      name        = fn.name
      entry_point = local.functions[key].entry_point
      uri         = fn.service_config[0].uri
      trigger     = fn.event_trigger[0].trigger
    }
  }
}

output "service_accounts" {
  description = "Service account emails: the functions' runtime identity (bind the Kubernetes RBAC to it), the Eventarc trigger identity and the build identity."
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
  description = "Pull subscription holding dead-lettered events."
  value       = google_pubsub_subscription.dead_letter.id
}

output "dead_letter_args" {
  description = "Arguments of scripts/dead-letter.sh, which attaches the dead-letter topic to the Eventarc subscriptions."
  value = join(" ", concat(
    [
      "--project", var.project_id,
      "--region", var.region,
      "--dead-letter-topic", google_pubsub_topic.dead_letter.id,
      "--max-delivery-attempts", tostring(var.dead_letter.max_delivery_attempts),
      "--pubsub-service-agent", local.pubsub_service_agent,
    ],
    flatten([for fn in google_cloudfunctions2_function.this : ["--function", fn.name]]),
  ))
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
  description = "The SPOKEFLEET_CONFIG the functions run with (JSON)."
  value       = module.config.json
}

output "kubernetes_rbac_manifest" {
  description = "ClusterRole and ClusterRoleBinding for the functions' service account; apply in every cluster when kubernetes_authorization = rbac: terraform output -raw kubernetes_rbac_manifest | kubectl apply -f -"
  value       = templatefile("${path.module}/rbac/spokefleet-rbac.yaml.tftpl", { service_account_email = google_service_account.functions.email })
}

output "reconcile_command" {
  description = "Publishes a fleet-wide reconcile request by hand."
  value       = "gcloud pubsub topics publish ${google_pubsub_topic.reconcile.id} --message='${jsonencode(local.scheduled_reconcile_request)}'"
}
