# Identities and grants. Least privilege: the functions' service account holds one custom role whose permissions
# are exactly those of shared/cloud/permissions.ts, in exactly the projects each call touches; everything else is a
# predefined role on the one resource that needs it. docs/iam.md maps every grant to the code that needs it.

# --- Service accounts ---

# Runtime identity of both functions: every Google API call and every Kubernetes request is made as this account.
resource "google_service_account" "functions" {
  account_id   = "${var.name_prefix}-fn"
  display_name = "Spokefleet functions"
  description  = "Runtime identity of the Spokefleet functions (onAuditLogEvent, onReconcileRequest)."

  depends_on = [google_project_service.this]
}

# The identity of the push subscriptions: Pub/Sub signs each push request's OIDC token as this account, and Cloud
# Run lets it invoke the two functions and nothing else.
resource "google_service_account" "trigger" {
  account_id   = "${var.name_prefix}-trigger"
  display_name = "Spokefleet Pub/Sub push"
  description  = "Invokes the Spokefleet functions for the messages their push subscriptions deliver."

  depends_on = [google_project_service.this]
}

# Identity Cloud Build uses to build the functions from the uploaded bundle (not the default compute account).
resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "Spokefleet function builds"
  description  = "Builds the Spokefleet function containers."

  depends_on = [google_project_service.this]
}

# --- Google's service agents, provisioned before anything is granted to them ---
# An agent appears some time after its API is enabled, and a grant to an agent that does not exist yet fails with
# "does not exist". generateServiceIdentity (google_project_service_identity) provisions it now and returns it.

resource "google_project_service_identity" "pubsub" {
  provider = google-beta
  project  = var.project_id
  service  = "pubsub.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_project_service_identity" "gkehub" {
  provider = google-beta
  project  = local.fleet_project
  service  = "gkehub.googleapis.com"

  depends_on = [google_project_service.this]
}

resource "google_project_service_identity" "mcsd" {
  provider = google-beta
  project  = local.fleet_project
  service  = "multiclusterservicediscovery.googleapis.com"

  depends_on = [google_project_service.this]
}

# --- The custom role, per project, holding exactly the table's permissions for that project's capacities ---

resource "google_project_iam_custom_role" "reconciler" {
  for_each = local.iam_projects

  project     = each.key
  role_id     = local.role_id
  title       = "Spokefleet reconciler"
  description = "Exactly the API calls Spokefleet makes here (${join(", ", each.value)}); see shared/cloud/permissions.ts."
  permissions = sort(distinct(flatten([for capacity in each.value : local.custom_role_permissions[capacity]])))
}

resource "google_project_iam_member" "reconciler" {
  for_each = local.iam_projects

  project = each.key
  role    = google_project_iam_custom_role.reconciler[each.key].name
  member  = google_service_account.functions.member
}

# --- Fan-out: the reconcile function publishes one cluster request per cluster to the reconcile topic ---

resource "google_pubsub_topic_iam_member" "functions_reconcile_publisher" {
  topic  = google_pubsub_topic.reconcile.name
  role   = "roles/pubsub.publisher"
  member = google_service_account.functions.member
}

# --- Kubernetes access ---

# Connect gateway: gkehub.gateway.get/post/delete on the fleet project's memberships (the role also has patch/put).
resource "google_project_iam_member" "connect_gateway" {
  count = var.kube_access == "connectGateway" ? 1 : 0

  project = local.fleet_project
  role    = "roles/gkehub.gatewayEditor"
  member  = google_service_account.functions.member
}

# kubernetes_authorization = "iam" (opt-in): GKE's IAM equivalents of the ClusterRole, project-wide, so a cluster
# created tomorrow needs nothing installed. The default, "rbac", grants nothing here: apply the
# kubernetes_rbac_manifest output in every cluster instead (docs/iam.md explains the trade-off).
resource "google_project_iam_custom_role" "kubernetes" {
  for_each = var.kubernetes_authorization == "iam" ? toset(var.projects) : toset([])

  project     = each.key
  role_id     = "${local.role_id}_kubernetes"
  title       = "Spokefleet Kubernetes objects"
  description = "Namespaces, Services, ServiceExports, EndpointSlices and Events Spokefleet reads and writes in GKE clusters."
  permissions = local.kubernetes_iam_permissions
}

resource "google_project_iam_member" "kubernetes" {
  for_each = google_project_iam_custom_role.kubernetes

  project = each.key
  role    = each.value.name
  member  = google_service_account.functions.member
}

# --- MCS and cross-project fleet service agents ---

# The MCS importer (Kubernetes service account gke-mcs/gke-mcs-importer, through the fleet's workload identity pool)
# reads the networks of every cluster and network project. The pool FLEET.svc.id.goog only exists once the fleet
# project has a workload-identity cluster or membership; the principal:// form is the one Google's MCS guide uses,
# and the grant is ordered after everything Terraform can make exist first (the fleet's APIs, its GKE Hub service
# agent and the MCS feature). docs/deploy.md says what is and is not proven about a fleet with no cluster yet.
resource "google_project_iam_member" "mcs_importer_network_viewer" {
  for_each = var.mcs_importer_grant ? local.iam_projects : {}

  project = each.key
  role    = "roles/compute.networkViewer"
  member  = local.mcs_importer_principal

  depends_on = [
    google_project_service.this,
    google_project_service_identity.gkehub,
    google_gke_hub_feature.mcs,
  ]
}

locals {
  other_cluster_projects = var.grant_cross_project_service_agents ? toset([for p in var.projects : p if p != local.fleet_project]) : toset([])
  cross_project_agent_roles = merge([
    for p in local.other_cluster_projects : {
      "${p}/gkehub.serviceAgent"                       = { project = p, role = "roles/gkehub.serviceAgent", member = local.gkehub_service_agent }
      "${p}/gkehub.crossProjectServiceAgent"           = { project = p, role = "roles/gkehub.crossProjectServiceAgent", member = local.gkehub_service_agent }
      "${p}/multiclusterservicediscovery.serviceAgent" = { project = p, role = "roles/multiclusterservicediscovery.serviceAgent", member = local.mcsd_service_agent }
    }
  ]...)
}

# Registering a cluster of another project to the fleet, and running MCS there, needs the fleet project's
# service agents in that project. Their members come from google_project_service_identity, so the agents exist.
resource "google_project_iam_member" "cross_project_service_agents" {
  for_each = local.cross_project_agent_roles

  project = each.value.project
  role    = each.value.role
  member  = each.value.member
}

# --- Pub/Sub push identity ---

# Invoke exactly the two functions' Cloud Run services (a gen2 function's service has the function's name).
resource "google_cloud_run_v2_service_iam_member" "trigger_invoker" {
  for_each = google_cloudfunctions2_function.this

  project  = var.project_id
  location = var.region
  name     = each.value.name
  role     = "roles/run.invoker"
  member   = google_service_account.trigger.member
}

# Pub/Sub mints the push requests' OIDC tokens as the trigger account (needed in projects created before
# April 2021, harmless after).
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# --- Build identity: what a Cloud Functions build needs, each on the one resource it is needed on ---

# Build logs (the build runs as this account with its logs in Cloud Logging).
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# The uploaded bundle.
resource "google_storage_bucket_iam_member" "build_source_reader" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

# The function images (and the build cache), in Spokefleet's own repository.
resource "google_artifact_registry_repository_iam_member" "build_image_writer" {
  project    = google_artifact_registry_repository.functions.project
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# --- Aviatrix controller password ---

resource "google_secret_manager_secret_iam_member" "aviatrix_password" {
  count = var.aviatrix == null ? 0 : 1

  project   = split("/", var.aviatrix.password_secret)[1]
  secret_id = split("/", var.aviatrix.password_secret)[3]
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions.member
}
