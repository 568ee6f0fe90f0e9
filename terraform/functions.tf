# The two Cloud Run functions (gen2), built by Cloud Functions from the bundle `npm run build` writes to dist/
# (index.js + package.json, which pins @google-cloud/functions-framework: the framework stays external to the
# bundle, DESIGN §7). The zip's MD5 is in the object name, so a changed bundle is a new object and a redeploy; an
# unchanged one is no change at all (the archive provider zeroes file times; output_file_mode fixes the modes).

data "archive_file" "bundle" {
  type             = "zip"
  source_dir       = local.bundle_dir
  output_path      = "${path.module}/.terraform/spokefleet-bundle.zip"
  output_file_mode = "0644"
  # esbuild's metafile is for bundle analysis, not for the runtime.
  excludes = ["meta.json", "cli.js", "cli.js.map", "cli.js.LEGAL.txt"]

  lifecycle {
    precondition {
      condition     = fileexists("${local.bundle_dir}/index.js") && fileexists("${local.bundle_dir}/package.json")
      error_message = "The functions bundle is missing: run `npm ci && npm run build` (it writes dist/index.js and dist/package.json)."
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

  # Every environment variable the code reads (process.env.* in functions/ and shared/).
  function_environment = {
    # The one validated config object (shared/config.ts loadConfig).
    SPOKEFLEET_CONFIG = module.config.json
    # shared/log.ts names the log's project; Cloud Run functions on Node.js 22 do not set it themselves.
    GOOGLE_CLOUD_PROJECT = var.project_id
    # Stack traces point into the TypeScript sources through dist/index.js.map.
    NODE_OPTIONS = "--enable-source-maps"
  }
}

resource "google_cloudfunctions2_function" "this" {
  for_each = local.functions

  name        = "${var.name_prefix}-${each.key}"
  location    = var.region
  description = each.value.description
  labels      = var.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id
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
    # Eventarc's Pub/Sub push from this project counts as internal traffic; nothing else may call the functions.
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_environment
    # endpoint access to private control planes needs a path into the VPC: a Serverless VPC Access connector.
    vpc_connector                 = try(var.vpc_access.connector, null)
    vpc_connector_egress_settings = try(var.vpc_access.egress_settings, null)
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = each.value.topic
    service_account_email = google_service_account.trigger.email
    # Transient failures (DESIGN §3) are rethrown so the function answers 500; Pub/Sub then redelivers with
    # exponential backoff (10 s to 600 s) until the message reaches the dead-letter topic (scripts/dead-letter.sh).
    retry_policy = "RETRY_POLICY_RETRY"
  }

  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.trigger_event_receiver,
    google_project_service.this,
  ]
}
