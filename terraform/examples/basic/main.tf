# Smallest deployment: the module creates the four secrets from the values given here and syncs
# every 15 minutes. Build the package first (dist/lambda/bootstrap.zip), then:
#   export TF_VAR_gws_service_account_json="$(cat credentials.json)" TF_VAR_gws_user_email=admin@example.com \
#     TF_VAR_scim_endpoint=https://scim.us-east-1.amazonaws.com/xxxx/scim/v2/ TF_VAR_scim_access_token=...
#   terraform init && terraform apply

provider "aws" {
  region = var.region
}

module "idpscim" {
  source = "../.."

  lambda_package_path = "${path.module}/../../../dist/lambda/bootstrap.zip"

  gws_service_account_json = var.gws_service_account_json
  gws_user_email           = var.gws_user_email
  scim_endpoint            = var.scim_endpoint
  scim_access_token        = var.scim_access_token
}
