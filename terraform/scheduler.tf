# Periodic drift repair: a fleet-wide reconcile request on the reconcile topic. The audit events cover changes as
# they happen; this catches what they cannot (events older than max_event_age_seconds, edits made while the
# functions were down, the Aviatrix controller's spoke list changing).
resource "google_cloud_scheduler_job" "fleet_reconcile" {
  count = var.reconcile_schedule == null ? 0 : 1

  name        = "${var.name_prefix}-fleet-reconcile"
  region      = var.region
  description = "Spokefleet: reconcile every cluster of the fleet"
  schedule    = var.reconcile_schedule
  time_zone   = var.reconcile_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.reconcile.id
    data       = base64encode(jsonencode(local.scheduled_reconcile_request))
    attributes = { origin = "cloud-scheduler" }
  }

  depends_on = [google_project_service.this]
}
