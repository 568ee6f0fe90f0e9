# The two Cloud Run functions (gen2), built by Cloud Functions from the bundle `npm run build` writes to dist/
# (index.js, vendor.js, package.json pinning @google-cloud/functions-framework exactly, and package-lock.json, so
# the build installs exactly the framework the tests ran: it stays external to the bundle because its function
# registry is module state). The zip's MD5 is in the object name, so a changed bundle is a new object and a
# redeploy; an unchanged one is no change at all (the archive provider zeroes file times; output_file_mode fixes
# the modes).
#
# No event_trigger: each function is reached by its own push subscription (pubsub.tf). Cloud Functions then
# deploys it as an HTTP function; the bundle registers both entry points with cloudEvent(), and functions-framework
# serves a declaratively registered function with the signature it was registered with, whatever the platform's
# default (its loader returns the registered signature type).

data "archive_file" "bundle" {
  type             = "zip"
  source_dir       = local.bundle_dir
  output_path      = "${path.module}/.terraform/spokefleet-bundle.zip"
  output_file_mode = "0644"
  # esbuild's metafile is for bundle analysis, not for the runtime.
  excludes = ["meta.json", "cli.js", "cli.js.map", "cli.js.LEGAL.txt"]

  lifecycle {
    precondition {
      condition     = alltrue([for f in ["index.js", "vendor.js", "package.json", "package-lock.json"] : fileexists("${local.bundle_dir}/${f}")])
      error_message = "The functions bundle is missing: run `npm ci && npm run build` (it writes dist/index.js, vendor.js, package.json and package-lock.json)."
    }
  }
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-${var.name_prefix}-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  depends_on = [google_project_service.this]
}

# The function images, in a repository of their own: the build account may write here and nowhere else.
resource "google_artifact_registry_repository" "functions" {
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  format        = "DOCKER"
  description   = "Spokefleet function images (built by Cloud Functions from the bundle)."
  labels        = var.labels

  depends_on = [google_project_service.this]
}

resource "google_storage_bucket_object" "bundle" {
  name   = "functions/spokefleet-${data.archive_file.bundle.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.bundle.output_path
}

locals {
  # Entry points registered by functions/index.ts (cloudEvent('onAuditLogEvent', …), cloudEvent('onReconcileRequest', …)).
  functions = {
    audit = {
      entry_point = "onAuditLogEvent"
      description = "Spokefleet: reconcile clusters and Service exports from GKE audit log entries"
      topic       = google_pubsub_topic.audit.id
      settings    = var.function_settings.audit
    }
    reconcile = {
      entry_point = "onReconcileRequest"
      description = "Spokefleet: reconcile a cluster, a project or the whole fleet on request"
      topic       = google_pubsub_topic.reconcile.id
      settings    = var.function_settings.reconcile
    }
  }

  # Every environment variable the code reads (process.env.* in functions/ and shared/), per function.
  function_environment = {
    for key in keys(local.functions) : key => {
      # The one validated config object (shared/config.ts loadConfig), with this function's invocation budget.
      SPOKEFLEET_CONFIG = module.config.json_by_function[key]
      # shared/log.ts names the log's project; Cloud Run functions on Node.js 22 do not set it themselves.
      GOOGLE_CLOUD_PROJECT = var.project_id
      # Stack traces point into the TypeScript sources through dist/index.js.map.
      NODE_OPTIONS = "--enable-source-maps"
    }
  }
}

resource "google_cloudfunctions2_function" "this" {
  for_each = local.functions

  name        = "${var.name_prefix}-${each.key}"
  location    = var.region
  description = each.value.description
  labels      = var.labels

  build_config {
    runtime           = "nodejs22"
    entry_point       = each.value.entry_point
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.bundle.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.functions.email
    available_memory                 = each.value.settings.memory
    available_cpu                    = each.value.settings.cpu
    timeout_seconds                  = each.value.settings.timeout_seconds
    max_instance_count               = each.value.settings.max_instances
    min_instance_count               = each.value.settings.min_instances
    max_instance_request_concurrency = each.value.settings.request_concurrency
    # Cloud Run counts Pub/Sub push from the same project to the run.app URL as internal traffic (its ingress
    # documentation lists Pub/Sub); nothing from outside may call the functions.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_environment[each.key]
    # endpoint access to private control planes needs a path into the VPC: a Serverless VPC Access connector.
    vpc_connector                 = try(var.vpc_access.connector, null)
    vpc_connector_egress_settings = try(var.vpc_access.egress_settings, null)
  }

  depends_on = [
    google_project_iam_member.build_log_writer,
    google_storage_bucket_iam_member.build_source_reader,
    google_artifact_registry_repository_iam_member.build_image_writer,
    google_project_service.this,
  ]
}
