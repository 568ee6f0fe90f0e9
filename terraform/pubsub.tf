# Topics: audit (fed by the log sink), reconcile (CLI, scheduler, people, and the fan-out of project- and fleet-wide
# requests), and the dead-letter topic with a subscription that keeps whatever Pub/Sub gave up on (a topic without
# a subscription drops messages).
#
# Delivery: one push subscription per function, owned here — the direct Pub/Sub trigger Cloud Run's documentation
# recommends. It pushes the plain Pub/Sub push body to the function's URL with an OIDC token of the trigger account;
# functions-framework turns that body into the same messagePublished CloudEvent the functions are registered for
# (test/e2e/push-subscription.test.ts proves it with the framework serving the built bundle). Because Terraform owns
# the subscription, its dead-letter and retry policies are in the plan: drift shows, and nothing runs after apply.

resource "google_pubsub_topic" "audit" {
  name   = "${var.name_prefix}-audit"
  labels = var.labels

  # Keep audit entries on the topic for a while, so after an outage an operator can replay them with
  # `gcloud pubsub subscriptions seek SUBSCRIPTION --time=…` (the handlers are idempotent).
  message_retention_duration = var.audit_topic_retention

  depends_on = [google_project_service.this]
}

resource "google_pubsub_topic" "reconcile" {
  # The topic the functions' config names (local.reconcile_topic), so fan-out publishes here.
  name   = local.reconcile_topic_name
  labels = var.labels

  depends_on = [google_project_service.this]
}

resource "google_pubsub_topic" "dead_letter" {
  name   = "${var.name_prefix}-dead-letter"
  labels = var.labels

  depends_on = [google_project_service.this]
}

resource "google_pubsub_subscription" "dead_letter" {
  name   = "${var.name_prefix}-dead-letter"
  topic  = google_pubsub_topic.dead_letter.id
  labels = var.labels

  # Pulled by people (`gcloud pubsub subscriptions pull`) when investigating; never expires while idle.
  message_retention_duration = var.dead_letter.message_retention
  retain_acked_messages      = false
  ack_deadline_seconds       = 60
  expiration_policy {
    ttl = ""
  }
}

# One push subscription per function.
resource "google_pubsub_subscription" "push" {
  for_each = local.functions

  name   = "${var.name_prefix}-${each.key}-push"
  topic  = each.value.topic
  labels = var.labels

  # For push delivery the ack deadline is also the request timeout (Pub/Sub's Subscription.ack_deadline_seconds):
  # Pub/Sub waits as long as the function may run, so a long reconcile is not redelivered while it still works.
  ack_deadline_seconds       = each.value.settings.timeout_seconds
  message_retention_duration = var.delivery_retention
  retain_acked_messages      = false
  expiration_policy {
    ttl = ""
  }

  push_config {
    # functions-framework takes the CloudEvent source (the topic) from the path: /projects/P/topics/T.
    push_endpoint = "${google_cloudfunctions2_function.this[each.key].service_config[0].uri}/${each.value.topic}"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      # Cloud Run checks the token's audience against the service URL; the path above is not part of it.
      audience = google_cloudfunctions2_function.this[each.key].service_config[0].uri
    }
  }

  # A transient failure answers 500 (functions/ack.ts); Pub/Sub redelivers with exponential backoff.
  retry_policy {
    minimum_backoff = each.value.settings.minimum_backoff
    maximum_backoff = each.value.settings.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = each.value.settings.max_delivery_attempts
  }

  # The first push must already be accepted: the trigger account may invoke, and Pub/Sub may sign as it.
  depends_on = [
    google_cloud_run_v2_service_iam_member.trigger_invoker,
    google_service_account_iam_member.pubsub_token_creator,
  ]
}

# Dead-lettering: the Pub/Sub service agent publishes what it gives up on to the dead-letter topic, and must be able
# to acknowledge it on the subscription it came from.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = google_pubsub_subscription.push

  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
