# Deployment shape 1, a single project: its VPCs gcp-spoke100-us-east4 and gcp-spoke200-us-east4 are Aviatrix
# spokes, its clusters are onboarded, and Spokefleet runs in the same project, which is also the fleet host (the
# local cloud's seed topology). Copy to terraform/deploy.tfvars, change the project id, commit it (the pipeline
# plans with it). Every other variable has a default; see terraform/README.md.

project_id = "spokefleet-demo"
region     = "us-east4"

# fleet_project = "spokefleet-demo"   # default: project_id

projects = ["spokefleet-demo"]

spokes = [
  { project = "spokefleet-demo", network = "gcp-spoke100-us-east4" },
  { project = "spokefleet-demo", network = "gcp-spoke200-us-east4" },
  # Or every spoke the Aviatrix naming convention produces in this region:
  # { network_pattern = "^gcp-spoke[0-9]+-us-east4$" },
]

namespaces = ["mcs-common"]

export_label = {
  label = "spokefleet.io/export"
  value = "true"
}

workload_identity = "enable"
kube_access       = "connectGateway"

# rbac (the default): apply `terraform output -raw kubernetes_rbac_manifest` in every cluster; it grants exactly the
# resources and verbs Spokefleet uses. iam is opt-in (project-wide, and unverified against a real cluster; see
# docs/iam.md).
kubernetes_authorization = "rbac"

# Node pools without the GKE metadata server: only those created after onboarding are migrated.
workload_identity_node_pools = "migrate-new"

# The fleet's MCS feature: the functions turn it on with the first onboarded cluster; destroy leaves it on.
mcs_feature = "unmanaged"

# Start in dry run, read the logs, then set false.
dry_run = true

log_sink = {
  scope = "project"
}

reconcile_schedule = "*/30 * * * *"

labels = {
  app = "spokefleet"
}

# Optional Aviatrix Controller look-up of spokes (the password lives in Secret Manager):
# aviatrix = {
#   controller_url  = "https://controller.example.com"
#   username        = "spokefleet"
#   password_secret = "projects/spokefleet-demo/secrets/aviatrix-password/versions/latest"
#   # Opt-in: each cluster's spoke gateway adds the cluster's master and pod ranges to its advertised CIDRs
#   # (add-only; read "The Aviatrix side" in docs/deploy.md first):
#   # advertise = { control_plane = true, pods = true, services = false }
# }

# Private control planes with kube_access = "endpoint" need a path into the VPC:
# vpc_access = {
#   connector = "projects/spokefleet-demo/locations/us-east4/connectors/spokefleet"
# }
