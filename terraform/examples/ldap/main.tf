# Active Directory (or another LDAP directory) on a private network: the function runs in private
# subnets that reach the domain controllers on 636 (through a VPN, Direct Connect or a Transit
# Gateway), S3 and Secrets Manager, and the SCIM endpoint through a NAT gateway (see "The network"
# in the module's README). The bind password, the SCIM endpoint and the token are created as
# secrets from sensitive variables; the internal root CA is read from a PEM file. Run it from the
# release's module archive, as examples/basic, with the secrets as TF_VAR_*:
#   export TF_VAR_ldap_bind_password=... TF_VAR_scim_endpoint=https://scim.eu-west-1.amazonaws.com/xxxx/scim/v2/ TF_VAR_scim_access_token=...
#   terraform init && terraform apply -var 'subnet_ids=["subnet-0a1b2c3d","subnet-0e5f6a7b"]' -var 'security_group_ids=["sg-0123abcd"]'

provider "aws" {
  region = var.region
}

module "idpscim" {
  source = "../.."

  source_type = "ldap"
  ldap = {
    url    = var.ldap_url
    ca_pem = var.ldap_ca_file == null ? null : file(var.ldap_ca_file)
    # A read-only account; see "Read permissions" in the project README's LDAP section.
    bind_dn       = "CN=svc-idpscim,OU=Service Accounts,DC=corp,DC=example,DC=com"
    base_dn       = "DC=corp,DC=example,DC=com"
    user_base_dn  = "OU=Staff,DC=corp,DC=example,DC=com"
    group_base_dn = "OU=AWS,OU=Groups,DC=corp,DC=example,DC=com"
    group_filter  = "(cn=AWS-*)"
    preset        = "active-directory"
  }

  ldap_bind_password = var.ldap_bind_password
  scim_endpoint      = var.scim_endpoint
  scim_access_token  = var.scim_access_token

  vpc_config = {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  settings = {
    IDPSCIM_SYNC_MAX_DELETES = "10"
  }
}
