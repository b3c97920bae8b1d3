# Inputs of the complete example: existing secrets, the KMS key, where alarms go, the bucket name.

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "gws_service_account_secret_arn" {
  description = "ARN of the existing secret holding the Google service-account key JSON."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.gws_service_account_secret_arn))
    error_message = "gws_service_account_secret_arn must be a full Secrets Manager secret ARN."
  }
}

variable "gws_user_email_secret_arn" {
  description = "ARN of the existing secret holding the Google admin email."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.gws_user_email_secret_arn))
    error_message = "gws_user_email_secret_arn must be a full Secrets Manager secret ARN."
  }
}

variable "scim_endpoint_secret_arn" {
  description = "ARN of the existing secret holding the SCIM endpoint."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.scim_endpoint_secret_arn))
    error_message = "scim_endpoint_secret_arn must be a full Secrets Manager secret ARN."
  }
}

variable "scim_access_token_secret_arn" {
  description = "ARN of the existing secret holding the SCIM access token."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.scim_access_token_secret_arn))
    error_message = "scim_access_token_secret_arn must be a full Secrets Manager secret ARN."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the secrets above; the module also encrypts the state bucket with it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (not an alias)."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail). Null = no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address."
  }
}

variable "state_bucket_name" {
  description = "Name of the state bucket the module creates (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}
