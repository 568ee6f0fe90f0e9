# The fleet's multi-cluster Services feature. One feature serves the whole fleet, and it often exists before
# Spokefleet does (turned on with gcloud, by another stack, or by Spokefleet's own functions, which create it with
# gkehub.features.create when they onboard a cluster and it is missing). var.mcs_feature decides who owns it:
#
#   unmanaged (default)  Terraform neither creates nor deletes it: the functions turn it on with the first cluster
#                        they onboard, and `terraform destroy` leaves MCS running for the fleet.
#   create               Terraform creates it (the apply fails if it already exists: use adopt) and owns it.
#   adopt                the import block below takes over the existing feature, then Terraform owns it.
#
# Owned (create/adopt) means `terraform destroy` disables MCS for every cluster of the fleet: choose that only if
# this stack is the fleet's one owner of MCS.

resource "google_gke_hub_feature" "mcs" {
  for_each = var.mcs_feature == "unmanaged" ? toset([]) : toset(["global"])

  project  = local.fleet_project
  name     = "multiclusterservicediscovery"
  location = each.key
  labels   = merge(var.labels, { "managed-by" = "spokefleet" })

  depends_on = [google_project_service.this]
}

import {
  for_each = var.mcs_feature == "adopt" ? toset(["global"]) : toset([])

  to = google_gke_hub_feature.mcs[each.key]
  id = "projects/${local.fleet_project}/locations/${each.key}/features/multiclusterservicediscovery"
}
