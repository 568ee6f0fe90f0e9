terraform {
  # 1.9: validation conditions may refer to other variables (spokes → projects); import blocks with for_each (1.7).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source = "hashicorp/google"
      # One major: every argument and attribute is checked offline against the 6.50.0 schema
      # (test/fixtures/terraform/provider-schema.json). Moving to 7.x means refreshing that schema first.
      version = "~> 6.50"
    }
    google-beta = {
      source = "hashicorp/google-beta"
      # google_project_service_identity exists only in google-beta; same release line as google.
      version = "~> 6.50"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
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

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = var.labels
}
