# Inputs of the LDAP example: the region, the directory's URL and CA, the private network, and the
# three secret values (pass them as TF_VAR_*).

variable "region" {
  description = "AWS region to deploy to: one whose VPC reaches the directory."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "ldap_url" {
  description = "The directory server (ldap.url): a name the server's certificate holds, resolvable from the subnets."
  type        = string
  default     = "ldaps://dc1.corp.example.com:636"

  validation {
    condition     = can(regex("^ldaps://[^/\\s:@]+(:[0-9]{1,5})?$", var.ldap_url))
    error_message = "ldap_url must be ldaps://host or ldaps://host:636."
  }
}

variable "ldap_ca_file" {
  description = "Path of the PEM file of the internal root CA that signed the domain controllers' certificates; its text becomes ldap.ca_pem. Null = the certificates are signed by a publicly trusted CA."
  type        = string
  default     = "corp-root-ca.pem"

  validation {
    condition     = var.ldap_ca_file == null || can(regex("\\.(pem|crt|cer)$", var.ldap_ca_file))
    error_message = "ldap_ca_file must be the path of a PEM file (.pem, .crt or .cer), or null."
  }
}

variable "subnet_ids" {
  description = "Private subnets to run the function in, in two or more Availability Zones, with routes to the directory and to a NAT gateway."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must be one or more subnet IDs (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the function: egress TCP 636 to the domain controllers and TCP 443 to the NAT and the VPC endpoints; no ingress."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "security_group_ids must be one or more security group IDs (sg-...)."
  }
}

variable "ldap_bind_password" {
  description = "Password of the bind account (ldap.bind_dn)."
  type        = string
  sensitive   = true
}

variable "scim_endpoint" {
  description = "SCIM endpoint of IAM Identity Center."
  type        = string
  sensitive   = true
}

variable "scim_access_token" {
  description = "SCIM access token of IAM Identity Center."
  type        = string
  sensitive   = true
}
