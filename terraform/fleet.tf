# The fleet's multi-cluster Services feature (row 5). The functions also create it when it is missing, with
# gkehub.features.create and the same managed-by label; owning it here makes it part of the reviewed configuration.
resource "google_gke_hub_feature" "mcs" {
  project  = local.fleet_project
  name     = "multiclusterservicediscovery"
  location = "global"
  labels   = merge(var.labels, { "managed-by" = "spokefleet" })

  depends_on = [google_project_service.this]
}
