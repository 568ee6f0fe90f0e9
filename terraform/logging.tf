# The audit log sink: CreateCluster/DeleteCluster (last entries) and k8s.io Service writes → the audit topic.
# The filter is generated from shared/events/methods.ts (npm run gen:terraform → generated/sink_filter.tftpl), with
# the automation's own principals excluded from the Service branch.
#
# Both kinds of entries are Admin Activity audit logs (cloudaudit.googleapis.com/activity): always written, free,
# and not affected by Data Access audit settings. GKE writes the k8s.io entries for create/update/patch/delete of
# Services in every cluster; nothing needs turning on.
#
# log_sink.scope = project: one sink per allowed project. folder/organization: one aggregated sink with
# include_children; the functions still refuse clusters outside `projects`.

resource "google_logging_project_sink" "audit" {
  for_each = var.log_sink.scope == "project" ? toset(var.projects) : toset([])

  project     = each.value
  name        = "${var.name_prefix}-audit"
  description = "Spokefleet: GKE cluster and Service audit entries to the ${var.name_prefix} functions"
  destination = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter      = local.sink_filter

  depends_on = [google_project_service.this]
}

resource "google_logging_folder_sink" "audit" {
  count = var.log_sink.scope == "folder" ? 1 : 0

  folder           = trimprefix(var.log_sink.parent, "folders/")
  name             = "${var.name_prefix}-audit"
  description      = "Spokefleet: GKE cluster and Service audit entries to the ${var.name_prefix} functions"
  destination      = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter           = local.sink_filter
  include_children = true
}

resource "google_logging_organization_sink" "audit" {
  count = var.log_sink.scope == "organization" ? 1 : 0

  org_id           = trimprefix(var.log_sink.parent, "organizations/")
  name             = "${var.name_prefix}-audit"
  description      = "Spokefleet: GKE cluster and Service audit entries to the ${var.name_prefix} functions"
  destination      = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter           = local.sink_filter
  include_children = true
}

locals {
  # Keyed by sink so that adding a project never re-creates another project's grant.
  sink_writer_identities = merge(
    { for p, sink in google_logging_project_sink.audit : "project/${p}" => sink.writer_identity },
    { for sink in google_logging_folder_sink.audit : "folder" => sink.writer_identity },
    { for sink in google_logging_organization_sink.audit : "organization" => sink.writer_identity },
  )
}

# Each sink writes as its own writer identity: it may publish to the audit topic and nothing else.
resource "google_pubsub_topic_iam_member" "sink_publisher" {
  for_each = local.sink_writer_identities

  topic  = google_pubsub_topic.audit.name
  role   = "roles/pubsub.publisher"
  member = each.value
}
