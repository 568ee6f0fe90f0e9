#!/bin/sh
# terraform fmt over terraform/: -check by default (CI), --write to fix. The tfvars example is checked through a
# temporary .tfvars copy, since terraform fmt only accepts .tf, .tfvars and .tftest.hcl files.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v terraform >/dev/null 2>&1; then
  echo "terraform-fmt: terraform is not installed" >&2
  exit 127
fi

if [ "${1:-}" = "--write" ]; then
  terraform fmt -recursive "$ROOT/terraform"
  exit 0
fi

terraform fmt -check -diff -recursive "$ROOT/terraform"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$ROOT/terraform/terraform.tfvars.example" "$tmp/example.tfvars"
if ! terraform fmt -check -diff "$tmp/example.tfvars"; then
  echo "terraform-fmt: terraform/terraform.tfvars.example is not formatted" >&2
  exit 3
fi
