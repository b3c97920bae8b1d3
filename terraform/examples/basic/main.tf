# Smallest deployment: a released package (the version this copy of the module pins, downloaded
# and checked against its SHA-256 during plan), the four secrets created from the values given
# here, a sync every 15 minutes. Nothing to build: a machine with Terraform, sh, curl (or wget)
# and sha256sum (or shasum) is enough. Run it from the release's module archive, whose release.tf
# pins the package (a git checkout pins none and the plan says so):
#   tar -xzf idpscim-terraform-<version>.tar.gz && cd examples/basic
#   export TF_VAR_gws_service_account_json="$(cat credentials.json)" TF_VAR_gws_user_email=admin@example.com \
#     TF_VAR_scim_endpoint=https://scim.us-east-1.amazonaws.com/xxxx/scim/v2/ TF_VAR_scim_access_token=...
#   terraform init && terraform apply

provider "aws" {
  region = var.region
}

module "idpscim" {
  source = "../.."

  # The default; shown because it is the point of this example.
  package_source = "release"

  gws_service_account_json = var.gws_service_account_json
  gws_user_email           = var.gws_user_email
  scim_endpoint            = var.scim_endpoint
  scim_access_token        = var.scim_access_token
}
