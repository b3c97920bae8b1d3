# Inputs of the basic example: the region and the four secret values (pass them as TF_VAR_*).

variable "region" {
  description = "AWS region to deploy to (any region; IAM Identity Center's own region is in the SCIM endpoint)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "gws_service_account_json" {
  description = "Content of the Google service-account key file (JSON)."
  type        = string
  sensitive   = true
}

variable "gws_user_email" {
  description = "Google Workspace admin the service account impersonates."
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
