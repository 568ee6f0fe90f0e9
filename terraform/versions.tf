terraform {
  # 1.9: validation conditions may refer to other variables (spokes → projects).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Checked offline against the 6.50.0 schema (test/fixtures/terraform/provider-schema.json); nothing used here
      # is deprecated in 6.x, so 7.x (which removed the deprecated fields) works too.
      version = ">= 6.50, < 8"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3"
    }
  }

  # Partial configuration: `terraform init -backend-config=bucket=STATE_BUCKET -backend-config=prefix=spokefleet`
  # (scripts/ci-terraform.sh does this in Cloud Build). For a throw-away local plan use `terraform init -backend=false`.
  backend "gcs" {}
}

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = var.labels
}
