locals {
  fleet_project = coalesce(var.fleet_project, var.project_id)

  # A step can change a cluster or its node pools only with workload identity `enable` (UpdateCluster) or node pools
  # other than `report` (UpdateNodePool); otherwise the role never holds container.clusters.update.
  writes_clusters = var.workload_identity == "enable" || var.workload_identity_node_pools != "report"

  # Every project Spokefleet's service account works in, and in which capacity: the fleet host project, and the
  # allowed cluster projects (which are also the spokes' network projects: config.ts requires a spoke's project to
  # be one of `projects`). The fleet project may be a cluster project too.
  iam_projects = {
    for p in distinct(concat([local.fleet_project], var.projects)) : p => concat(
      p == local.fleet_project ? ["fleet"] : [],
      contains(var.projects, p) ? concat(["cluster"], local.writes_clusters ? ["cluster_write"] : [], ["network"]) : [],
    )
  }

  # The permissions of Spokefleet's custom role, per project capacity. This is shared/cloud/permissions.ts
  # (capacityPermissions(capacity)) written out so reviews see IAM changes here; test/unit/terraform.test.ts fails
  # when the two differ. docs/iam.md maps every permission to the code that needs it.
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
      "container.operations.get",
      "container.operations.list",
    ]
    cluster_write = [
      "container.clusters.update",
    ]
    network = [
      "compute.globalOperations.get",
      "compute.globalOperations.list",
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
    "container.events.list",
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

  # The Cloud Logging query, generated from shared/events/methods.ts by `npm run gen:terraform`. Besides the
  # automation's own principals, the Service branch leaves out the controllers that write Services all day (the
  # MCS importer keeps its derived gke-mcs-* Services in step): each such write would cost an invocation that can
  # only be ignored.
  sink_filter = templatefile("${path.module}/generated/sink_filter.tftpl", {
    self_principals = distinct(concat(local.self_principals, var.sink_excluded_principals))
  })

  # The reconcile topic's full name, known before anything exists (the functions' config carries it for fan-out).
  reconcile_topic_name = "${var.name_prefix}-reconcile"
  reconcile_topic      = "projects/${var.project_id}/topics/${local.reconcile_topic_name}"

  # What the scheduler job publishes to the reconcile topic (a reconcile request, shared/events/request.ts).
  scheduled_reconcile_request = { scope = "fleet" }

  bundle_dir = coalesce(var.bundle_dir, "${path.module}/../dist")

  # Service agents come from google_project_service_identity (iam.tf): it makes Google provision the agent and
  # returns its identity, so no grant names an agent that does not exist yet, and nothing is read at plan time.
  pubsub_service_agent = google_project_service_identity.pubsub.member
  gkehub_service_agent = google_project_service_identity.gkehub.member
  mcsd_service_agent   = google_project_service_identity.mcsd.member

  # The fleet project's number, for principal:// identifiers: service agents are service-NUMBER@gcp-sa-….
  fleet_project_number = regex("^service-([0-9]+)@", google_project_service_identity.gkehub.email)[0]

  # The MCS importer (Kubernetes service account gke-mcs/gke-mcs-importer in every member cluster) in the fleet's
  # workload identity pool, in the principal form Google's MCS setup guide uses.
  mcs_importer_principal = "principal://iam.googleapis.com/projects/${local.fleet_project_number}/locations/global/workloadIdentityPools/${local.fleet_project}.svc.id.goog/subject/ns/gke-mcs/sa/gke-mcs-importer"
}
