#!/bin/sh
# Terraform steps of cloudbuild.yaml (runs in hashicorp/terraform, which has sh but no bash).
#
#   scripts/ci-terraform.sh fmt     terraform fmt -check over terraform/ (modules and example tfvars included)
#   scripts/ci-terraform.sh init    GCS backend from STATE_BUCKET (+ STATE_PREFIX, default "spokefleet"); providers
#                                   from the committed .terraform.lock.hcl, never changed by CI (-lockfile=readonly).
#                                   Without a committed lock file only a plan build may go on (init writes one to
#                                   the build's workspace); a deploy build stops: commit the lock file first.
#   scripts/ci-terraform.sh plan    plan with the reviewed variables TFVARS_FILE (a .tfvars file in the repository)
#                                   into terraform/tfplan; plan builds take no state lock (read-only account)
#   scripts/ci-terraform.sh apply   apply terraform/tfplan, only for a push to main (BRANCH_NAME=main, no PR_NUMBER)
#
# Environment: STATE_BUCKET, STATE_PREFIX, TFVARS_FILE, BRANCH_NAME, PR_NUMBER (Cloud Build sets these from
# substitutions; see cloudbuild.yaml). TF_DIR overrides the Terraform directory for tests.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TF_DIR=${TF_DIR:-"$ROOT/terraform"}
export TF_IN_AUTOMATION=1
export TF_INPUT=0

need() {
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "ci-terraform: $1 is not set" >&2
    exit 2
  fi
}

# A deploy build: a push to main. Pull-request builds (PR_NUMBER set) never deploy, whatever their branch is called.
deploys() {
  [ "${BRANCH_NAME:-}" = "main" ] && [ -z "${PR_NUMBER:-}" ]
}

cd "$TF_DIR"
case "${1:-}" in
  fmt)
    sh "$ROOT/scripts/terraform-fmt.sh"
    ;;
  init)
    need STATE_BUCKET
    lockfile=
    if [ -f .terraform.lock.hcl ]; then
      lockfile=-lockfile=readonly
    elif deploys; then
      echo "ci-terraform: terraform/.terraform.lock.hcl is not committed: a deploy needs the reviewed provider" >&2
      echo "  versions. Create it with 'terraform providers lock -platform=linux_amd64' and commit it." >&2
      exit 2
    else
      echo "ci-terraform: no committed .terraform.lock.hcl: init writes one for this plan only (commit it)"
    fi
    # shellcheck disable=SC2086 # $lockfile is one flag or nothing
    terraform init -input=false $lockfile \
      -backend-config="bucket=$STATE_BUCKET" \
      -backend-config="prefix=${STATE_PREFIX:-spokefleet}"
    ;;
  plan)
    need TFVARS_FILE
    case "$TFVARS_FILE" in
      /* | *..* | *[!A-Za-z0-9._/-]*)
        echo "ci-terraform: TFVARS_FILE must be a path inside the repository: $TFVARS_FILE" >&2
        exit 2
        ;;
      *.tfvars) ;;
      *)
        echo "ci-terraform: TFVARS_FILE must be a .tfvars file: $TFVARS_FILE" >&2
        exit 2
        ;;
    esac
    if [ ! -f "$ROOT/$TFVARS_FILE" ]; then
      echo "ci-terraform: $TFVARS_FILE does not exist: commit the deployment's variables (see terraform/examples/)" >&2
      exit 2
    fi
    lock=
    if ! deploys; then
      lock=-lock=false
    fi
    # shellcheck disable=SC2086 # $lock is one flag or nothing
    terraform plan -input=false $lock -lock-timeout=5m -var-file="$ROOT/$TFVARS_FILE" -out=tfplan
    ;;
  apply)
    if ! deploys; then
      echo "ci-terraform: not a push to main (branch '${BRANCH_NAME:-}', PR '${PR_NUMBER:-}'): plan only, nothing applied"
      exit 0
    fi
    if [ ! -f tfplan ]; then
      echo "ci-terraform: no terraform/tfplan: run the plan step first" >&2
      exit 2
    fi
    terraform apply -input=false -lock-timeout=5m tfplan
    ;;
  *)
    echo "usage: $0 fmt|init|plan|apply" >&2
    exit 2
    ;;
esac
