# Terraform and provider versions the module is written for.

terraform {
  # 1.5: preconditions, terraform_data and `check` are all available; cross-variable
  # validation (1.9) is not, so rules that join two variables live in preconditions.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
    # data "external" runs terraform/scripts/fetch-package.sh (package_source = "release").
    external = {
      source  = "hashicorp/external"
      version = ">= 2.2"
    }
  }
}
