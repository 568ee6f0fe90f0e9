# Deployment shape 2, Shared VPC: the spoke VPCs live in a Shared VPC host project, the GKE clusters in service
# projects attached to it. The host project is also the fleet host and runs Spokefleet (the layout of Google's
# "Shared VPC host project as fleet host project" MCS scenario). Copy to terraform/deploy.tfvars, change the
# project ids, commit it.

project_id    = "net-host-prod"
region        = "us-east4"
fleet_project = "net-host-prod"

# Every project Spokefleet reads or changes: the service projects (their clusters) and the host project (its
# networks: the control-plane peering is changed there, and the MCS importer reads them).
projects = ["net-host-prod", "app-team-a-prod", "app-team-b-prod"]

# The spokes are networks of the host project: name it, since a cluster in a service project reports the
# host project's network.
spokes = [
  { project = "net-host-prod", network = "gcp-spoke100-us-east4" },
  { project = "net-host-prod", network = "gcp-spoke200-us-east4" },
]

namespaces = ["mcs-common"]

workload_identity            = "enable"
workload_identity_node_pools = "migrate-new"
kube_access                  = "connectGateway"
kubernetes_authorization     = "rbac"

# Clusters of the service projects join the host project's fleet: its GKE Hub and MCS service agents get their
# roles in each service project.
grant_cross_project_service_agents = true

# Another team may already run MCS in this fleet: take the existing feature over instead of failing on it.
mcs_feature = "adopt"

# One aggregated sink on the folder that holds the service projects, instead of one sink per project.
log_sink = {
  scope  = "folder"
  parent = "folders/123456789012"
}

dry_run = true

labels = {
  app = "spokefleet"
}
