# Topics: audit (fed by the log sink), reconcile (CLI, scheduler, people), and the dead-letter topic with a
# subscription that keeps whatever Pub/Sub gave up on (a topic without a subscription drops messages).
#
# Dead-lettering and Eventarc: each function's event_trigger makes Eventarc create its own push subscription
# (eventarc-REGION-TRIGGER-sub-NNN) on the topic. google_cloudfunctions2_function has no argument for that
# subscription's dead-letter policy (hashicorp/terraform-provider-google#25069) and its name is not known until the
# trigger exists, so Terraform cannot own it. Terraform therefore creates the dead-letter topic, its subscription and
# the service agent's publisher grant; scripts/dead-letter.sh (run by cloudbuild.yaml after apply, or by hand with
# the dead_letter_args output) sets --dead-letter-topic on each Eventarc subscription and grants the Pub/Sub service
# agent subscriber on it, as Eventarc's "Retry events" guide describes. It is idempotent; rerun it whenever a
# trigger is recreated.

resource "google_pubsub_topic" "audit" {
  name   = "${var.name_prefix}-audit"
  labels = var.labels

  # Keep a day of audit entries on the topic, so after an outage or a recreated trigger an operator can replay them
  # with `gcloud pubsub subscriptions seek SUBSCRIPTION --time=…` (the handlers are idempotent).
  message_retention_duration = "86400s"

  depends_on = [google_project_service.this]
}

resource "google_pubsub_topic" "reconcile" {
  name   = "${var.name_prefix}-reconcile"
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

# The Pub/Sub service agent forwards undeliverable messages: it must publish to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${local.pubsub_service_agent}"
}
