locals {
  fleet_project = coalesce(var.fleet_project, var.project_id)

  # Every project Spokefleet's service account works in, and in which capacity: the fleet host project, and the
  # allowed cluster projects (which are also the spokes' network projects: config.ts requires a spoke's project to
  # be one of `projects`). The fleet project may be a cluster project too.
  iam_projects = {
    for p in distinct(concat([local.fleet_project], var.projects)) : p => concat(
      p == local.fleet_project ? ["fleet"] : [],
      contains(var.projects, p) ? ["cluster", "network"] : [],
    )
  }

  # The permissions of Spokefleet's custom role, per project capacity. This is shared/cloud/permissions.ts
  # (customRolePermissions(scope)) written out so reviews see IAM changes here; test/unit/terraform.test.ts fails
  # when the two differ.
  custom_role_permissions = {
    fleet = [
      "gkehub.features.create",
      "gkehub.features.get",
      "gkehub.memberships.create",
      "gkehub.memberships.delete",
      "gkehub.memberships.get",
      "gkehub.memberships.list",
      "gkehub.memberships.update",
      "gkehub.operations.get",
      "resourcemanager.projects.get",
    ]
    cluster = [
      "container.clusters.get",
      "container.clusters.list",
      "container.clusters.update",
      "container.operations.get",
    ]
    network = [
      "compute.globalOperations.get",
      "compute.networks.get",
      "compute.networks.updatePeering",
      "compute.subnetworks.get",
    ]
  }

  # GKE IAM equivalents of the Kubernetes ClusterRole (permissions.ts kubernetesIamPermissions()), granted in the
  # cluster projects when kubernetes_authorization = "iam".
  kubernetes_iam_permissions = [
    "container.endpointSlices.list",
    "container.events.create",
    "container.events.get",
    "container.namespaces.create",
    "container.namespaces.get",
    "container.services.get",
    "container.services.list",
    "container.thirdPartyObjects.create",
    "container.thirdPartyObjects.delete",
    "container.thirdPartyObjects.get",
    "container.thirdPartyObjects.list",
  ]

  # Custom role ids allow letters, digits, underscores and dots only.
  role_id = "${replace(var.name_prefix, "-", "_")}_reconciler"

  # The automation's own identities: their Service writes are ignored by the code and dropped by the sink filter.
  self_principals = distinct(concat([google_service_account.functions.email], var.extra_self_principals))

  # The Cloud Logging query, generated from shared/events/methods.ts by `npm run gen:terraform`.
  sink_filter = templatefile("${path.module}/generated/sink_filter.tftpl", { self_principals = local.self_principals })

  # What the scheduler job publishes to the reconcile topic (a reconcile request, shared/events/request.ts).
  scheduled_reconcile_request = { scope = "fleet" }

  bundle_dir = coalesce(var.bundle_dir, "${path.module}/../dist")

  pubsub_service_agent = "service-${data.google_project.host.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  gkehub_service_agent = "service-${data.google_project.fleet.number}@gcp-sa-gkehub.iam.gserviceaccount.com"
  mcsd_service_agent   = "service-${data.google_project.fleet.number}@gcp-sa-mcsd.iam.gserviceaccount.com"
}

data "google_project" "host" {
  project_id = var.project_id
}

data "google_project" "fleet" {
  project_id = local.fleet_project
}
