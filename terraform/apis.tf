# The Google APIs each project needs. Host: where Spokefleet runs (functions, Pub/Sub, the scheduler, the build).
# Fleet: the fleet host project (memberships, MCS, the Connect gateway with the APIs Google's gateway setup guide
# lists, and what MCS itself drives: Traffic Director, Cloud DNS). Cluster: every allowed cluster/network project
# (the calls of shared/cloud/permissions.ts, and MCS's per-project needs). test/unit/terraform.test.ts checks these
# lists against the permission table.
#
# Bootstrap (docs/deploy.md): enabling an API is itself a Service Usage call billed to the deployer's project, so
# serviceusage.googleapis.com must be on there before the first plan; nothing here is read at plan time.
locals {
  apis = {
    host = concat([
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "cloudresourcemanager.googleapis.com",
      "cloudscheduler.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "pubsub.googleapis.com",
      "run.googleapis.com",
      "storage.googleapis.com",
    ], var.aviatrix == null ? [] : ["secretmanager.googleapis.com"])
    fleet = [
      "cloudresourcemanager.googleapis.com",
      "compute.googleapis.com",
      "connectgateway.googleapis.com",
      "container.googleapis.com",
      "dns.googleapis.com",
      # The Connect gateway setup guide enables gkeconnect with connectgateway. It also lists anthos.googleapis.com,
      # which turns on GKE Enterprise billing for the project: not enabled here (docs/deploy.md).
      "gkeconnect.googleapis.com",
      "gkehub.googleapis.com",
      "iam.googleapis.com",
      "multiclusterservicediscovery.googleapis.com",
      "trafficdirector.googleapis.com",
    ]
    cluster = [
      "cloudresourcemanager.googleapis.com",
      "compute.googleapis.com",
      "container.googleapis.com",
      "dns.googleapis.com",
      "gkehub.googleapis.com",
      "iam.googleapis.com",
      "logging.googleapis.com",
      "multiclusterservicediscovery.googleapis.com",
      "trafficdirector.googleapis.com",
    ]
  }

  project_services = var.manage_apis ? merge(
    { for api in local.apis.host : "${var.project_id}/${api}" => { project = var.project_id, service = api } },
    { for api in local.apis.fleet : "${local.fleet_project}/${api}" => { project = local.fleet_project, service = api } },
    merge([
      for p in var.projects : { for api in local.apis.cluster : "${p}/${api}" => { project = p, service = api } }
    ]...),
  ) : {}
}

resource "google_project_service" "this" {
  for_each = local.project_services

  project = each.value.project
  service = each.value.service

  # Other workloads share these projects: never disable an API on destroy (the 7.x default, set for 6.x too).
  disable_on_destroy         = false
  disable_dependent_services = false
}
