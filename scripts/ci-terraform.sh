#!/bin/sh
# Terraform steps of cloudbuild.yaml (runs in hashicorp/terraform, which has sh but no bash).
#
#   scripts/ci-terraform.sh fmt     terraform fmt -check over terraform/ (and the tfvars example)
#   scripts/ci-terraform.sh init    GCS backend from STATE_BUCKET (+ STATE_PREFIX, default "spokefleet")
#   scripts/ci-terraform.sh plan    plan against PROJECT/REGION into terraform/tfplan
#   scripts/ci-terraform.sh apply   apply terraform/tfplan, only when BRANCH_NAME is "main"; then writes
#                                   .dead-letter-args for scripts/dead-letter.sh
#
# Environment: PROJECT, REGION, STATE_BUCKET, STATE_PREFIX, BRANCH_NAME (Cloud Build sets these from
# substitutions; see cloudbuild.yaml). terraform.tfvars in terraform/ is used when present. TF_DIR and
# DEAD_LETTER_ARGS_FILE override the directories for tests.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TF_DIR=${TF_DIR:-"$ROOT/terraform"}
DEAD_LETTER_ARGS_FILE=${DEAD_LETTER_ARGS_FILE:-"$ROOT/.dead-letter-args"}
export TF_IN_AUTOMATION=1
export TF_INPUT=0

need() {
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "ci-terraform: $1 is not set" >&2
    exit 2
  fi
}

cd "$TF_DIR"
case "${1:-}" in
  fmt)
    sh "$ROOT/scripts/terraform-fmt.sh"
    ;;
  init)
    need STATE_BUCKET
    terraform init -input=false \
      -backend-config="bucket=$STATE_BUCKET" \
      -backend-config="prefix=${STATE_PREFIX:-spokefleet}"
    ;;
  plan)
    need PROJECT
    need REGION
    terraform plan -input=false -lock-timeout=5m \
      -var="project_id=$PROJECT" -var="region=$REGION" \
      -out=tfplan
    ;;
  apply)
    if [ "${BRANCH_NAME:-}" != "main" ]; then
      echo "ci-terraform: branch '${BRANCH_NAME:-}' is not main: plan only, nothing applied"
      exit 0
    fi
    if [ ! -f tfplan ]; then
      echo "ci-terraform: no terraform/tfplan: run the plan step first" >&2
      exit 2
    fi
    terraform apply -input=false -lock-timeout=5m tfplan
    terraform output -raw dead_letter_args >"$DEAD_LETTER_ARGS_FILE"
    ;;
  *)
    echo "usage: $0 fmt|init|plan|apply" >&2
    exit 2
    ;;
esac
