#!/bin/sh
# Attaches the dead-letter topic to the Pub/Sub subscriptions Eventarc created for the functions' triggers, and
# lets the Pub/Sub service agent pull from them (it must, to forward a message). Terraform cannot: the
# subscription belongs to the trigger and google_cloudfunctions2_function has no dead-letter argument (see
# terraform/pubsub.tf). Idempotent; rerun after any redeploy that recreates a trigger.
#
#   scripts/dead-letter.sh --project P --region R --dead-letter-topic projects/P/topics/T \
#       --max-delivery-attempts 10 --pubsub-service-agent service-N@gcp-sa-pubsub.iam.gserviceaccount.com \
#       --function NAME [--function NAME …]
#   scripts/dead-letter.sh --args-file .dead-letter-args    # what `terraform output -raw dead_letter_args` wrote
#
# Needs gcloud with pubsub.subscriptions.update/setIamPolicy, eventarc.triggers.get, cloudfunctions.functions.get.
set -eu

if [ "${1:-}" = "--args-file" ]; then
  file=${2:?--args-file needs a file}
  if [ ! -s "$file" ]; then
    echo "dead-letter: $file is missing or empty (nothing was applied): nothing to do"
    exit 0
  fi
  # shellcheck disable=SC2046 # the file holds whitespace-separated arguments without spaces inside them
  set -- $(cat "$file")
fi

project=
region=
topic=
attempts=
agent=
functions=
while [ $# -gt 0 ]; do
  case "$1" in
    --project) project=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    --dead-letter-topic) topic=$2; shift 2 ;;
    --max-delivery-attempts) attempts=$2; shift 2 ;;
    --pubsub-service-agent) agent=$2; shift 2 ;;
    --function) functions="$functions $2"; shift 2 ;;
    *) echo "dead-letter: unknown argument $1" >&2; exit 2 ;;
  esac
done
missing() {
  echo "dead-letter: $1 is required" >&2
  exit 2
}
[ -n "$project" ] || missing --project
[ -n "$region" ] || missing --region
[ -n "$topic" ] || missing --dead-letter-topic
[ -n "$attempts" ] || missing --max-delivery-attempts
[ -n "$agent" ] || missing --pubsub-service-agent
[ -n "$functions" ] || missing --function

for fn in $functions; do
  trigger=$(gcloud functions describe "$fn" --project="$project" --region="$region" \
    --format='value(eventTrigger.trigger)')
  if [ -z "$trigger" ]; then
    echo "dead-letter: function $fn has no Eventarc trigger" >&2
    exit 1
  fi
  subscription=$(gcloud eventarc triggers describe "$trigger" --format='value(transport.pubsub.subscription)')
  if [ -z "$subscription" ]; then
    echo "dead-letter: trigger $trigger has no Pub/Sub subscription" >&2
    exit 1
  fi
  echo "dead-letter: $fn: $subscription -> $topic after $attempts attempts"
  gcloud pubsub subscriptions update "$subscription" \
    --dead-letter-topic="$topic" \
    --max-delivery-attempts="$attempts" \
    --min-retry-delay=10s --max-retry-delay=600s \
    --quiet
  gcloud pubsub subscriptions add-iam-policy-binding "$subscription" \
    --member="serviceAccount:$agent" \
    --role=roles/pubsub.subscriber \
    --quiet >/dev/null
done
