#!/bin/sh
# terraform fmt over terraform/ (modules and the example .tfvars included): -check by default (CI), --write to fix.
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
