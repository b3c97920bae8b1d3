# Inputs of the complete example: the package object, existing secrets and bucket, the KMS keys,
# the VPC, the permissions boundary, where alarms go.

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
  description = "Customer-managed KMS key that encrypts the secrets above (and the existing state bucket, if it uses one); the role may decrypt with it through Secrets Manager and S3."
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

variable "existing_state_bucket_name" {
  description = "Name of the existing bucket that holds the state (managed elsewhere)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.existing_state_bucket_name))
    error_message = "existing_state_bucket_name must be a valid S3 bucket name."
  }
}

variable "package_bucket_name" {
  description = "Bucket holding a copy of the release's bootstrap.zip (in the deployment's region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.package_bucket_name))
    error_message = "package_bucket_name must be a valid S3 bucket name."
  }
}

variable "package_key" {
  description = "Key of bootstrap.zip in package_bucket_name."
  type        = string
  default     = "idpscim/0.1.0/bootstrap.zip"

  validation {
    condition     = can(regex("^[^/].*\\.zip$", var.package_key))
    error_message = "package_key must be an object key ending in .zip, not starting with \"/\"."
  }
}

variable "package_version_id" {
  description = "S3 version of the package object (the bucket is versioned); a new one deploys a new package. Null = the latest, deployed when the key changes."
  type        = string
  default     = null

  validation {
    condition     = var.package_version_id == null || can(regex("^\\S{1,1024}$", var.package_version_id))
    error_message = "package_version_id must be an S3 version ID, without spaces."
  }
}

variable "subnet_ids" {
  description = "Private subnets to run the function in (with a route to a NAT gateway); empty = no VPC."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must be subnet IDs (subnet-...)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the function in the VPC (egress to HTTPS); used with subnet_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "security_group_ids must be security group IDs (sg-...)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary your organisation requires on new roles. Null = none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "log_group_kms_key_arn" {
  description = "KMS key for the log group; its key policy must allow logs.<region>.amazonaws.com. Null = CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.log_group_kms_key_arn))
    error_message = "log_group_kms_key_arn must be a KMS key ARN (not an alias)."
  }
}
