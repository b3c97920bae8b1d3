# Inputs of the idpscim module. Every variable is typed, described and validated where a rule exists.
# Terraform >= 1.5 lets a validation see only its own variable: rules joining two variables are
# preconditions in main.tf.

# --- Naming and package ------------------------------------------------------------------------

variable "name" {
  description = "Name of the Lambda function; also names the IAM role, the log group /aws/lambda/<name>, the schedule rule, the alarms, the created secrets and (as a prefix) the state bucket."
  type        = string
  nullable    = false
  default     = "idpscim"

  validation {
    # Lowercase because it prefixes the S3 bucket name; at most 32 so "<name>-" fits bucket_prefix (37).
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", var.name))
    error_message = "name must be 1-32 characters: lowercase letters, digits and hyphens, not starting or ending with a hyphen."
  }
}

variable "package_source" {
  description = "Where the Lambda package (bootstrap.zip, the arm64 binary named bootstrap) comes from: \"release\" downloads a released one at plan time and checks its SHA-256 before anything is uploaded (needs sh, curl or wget, and sha256sum or shasum where Terraform runs); \"s3\" deploys an existing S3 object (package_s3_object); \"local\" uploads a zip built in a checkout (lambda_package_path)."
  type        = string
  nullable    = false
  default     = "release"

  validation {
    condition     = contains(["release", "s3", "local"], var.package_source)
    error_message = "package_source must be one of: release, s3, local."
  }
}

variable "package_release_version" {
  description = "Released version to deploy with package_source = \"release\", e.g. \"0.1.0\". Null = the version this copy of the module pins (release.tf, written by the release). Another version needs package_release_sha256."
  type        = string
  default     = null

  validation {
    condition     = var.package_release_version == null || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$", var.package_release_version))
    error_message = "package_release_version must be a version such as 0.1.0 or 1.2.0-rc.1 (no leading v)."
  }
}

variable "package_release_sha256" {
  description = "SHA-256 (hex) of the release's bootstrap.zip, as in its SHA256SUMS. Null = the checksum this copy of the module pins for its own version; required for any other version, or in a git checkout (which pins none)."
  type        = string
  default     = null

  validation {
    condition     = var.package_release_sha256 == null || can(regex("^[0-9a-f]{64}$", var.package_release_sha256))
    error_message = "package_release_sha256 must be 64 lowercase hexadecimal characters (a SHA-256)."
  }
}

variable "package_release_base_url" {
  description = "Where releases are downloaded from: <base>/bootstrap.zip, \"{version}\" replaced by the version. The default's owner \"idpscim/idpscim\" is a placeholder for the project's GitHub repository: point it at the repository (or mirror) the release was published to."
  type        = string
  nullable    = false
  default     = "https://github.com/idpscim/idpscim/releases/download/v{version}"

  validation {
    condition     = can(regex("^https?://[^/\\s]+(/\\S*)?$", var.package_release_base_url))
    error_message = "package_release_base_url must be an http(s) URL, e.g. https://github.com/<owner>/idpscim/releases/download/v{version}."
  }
}

variable "package_s3_object" {
  description = "With package_source = \"s3\": an existing bootstrap.zip in S3 (bucket, key, optional version_id), in the function's region, readable by whoever runs terraform apply. The module does not read it: a new package under the same key is deployed when version_id changes."
  type = object({
    bucket     = string
    key        = string
    version_id = optional(string)
  })
  default = null

  validation {
    condition     = var.package_s3_object == null || try(can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.package_s3_object.bucket)) && length(var.package_s3_object.key) > 0 && !startswith(var.package_s3_object.key, "/"), false)
    error_message = "package_s3_object must have a valid bucket name and a key that is not empty and does not start with \"/\"."
  }
}

variable "lambda_package_path" {
  description = "With package_source = \"local\": path of the zip built by the project (dist/lambda/bootstrap.zip). It is uploaded to the state bucket and deployed from S3: at about 50 MB zipped it is too large for a direct upload."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_package_path == null || can(regex("\\.zip$", var.lambda_package_path))
    error_message = "lambda_package_path must be the path of a .zip file, e.g. \"../dist/lambda/bootstrap.zip\"."
  }
}

variable "package_object_tags" {
  description = "Tags of the uploaded package object. Not the module's tags: S3 allows at most 10 tags per object."
  type        = map(string)
  nullable    = false
  default     = {}

  validation {
    condition     = length(var.package_object_tags) <= 10 && alltrue([for k, v in var.package_object_tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256])
    error_message = "package_object_tags must have at most 10 tags (S3's limit per object), keys of 1-128 and values of at most 256 characters."
  }
}

# --- Function --------------------------------------------------------------------------------

variable "timeout" {
  description = "Function timeout in seconds. idpscim reads the invocation deadline and stops starting writes before it, saving state so the next run resumes; the maximum (900) lets a first full sync of a large directory finish in few runs."
  type        = number
  nullable    = false
  default     = 900

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900 (Lambda's maximum)."
  }
}

variable "memory_size" {
  description = "Function memory in MB (CPU grows with it); the garbage collector is sized for it (BUN_JSC_forceRAMSize) and tuned to let the heap grow little between collections. Measured peaks with 512: at most 477 MiB for 200,000 users and 10,000 groups, in every kind of run (first sync, no change, churn, full reconcile, adoption, continued runs), so 512 serves AWS's largest identity store; more memory gives more CPU, not fewer requests (project README, Performance)."
  type        = number
  nullable    = false
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function. 1 (the default) runs one sync at a time: an overlapping scheduled run is throttled and re-queued. Null = unreserved, for accounts that refuse the reservation (AWS keeps at least 100 unreserved executions per account, and new accounts often have a quota of 10); overlapping runs are then kept apart by the run lock and the state's conditional writes, and the later one stops."
  type        = number
  default     = 1

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null (unreserved) or a whole number, at least 1 (0 would stop the function from running)."
  }
}

variable "vpc_config" {
  description = "Runs the function in a VPC: its private subnets and security groups, e.g. to reach a private LDAP directory. The subnets need a route to the source (Google's APIs, or the directory on TCP 636 or 389, e.g. through a VPN or Direct Connect), to the SCIM endpoint (a NAT gateway) and to S3 and Secrets Manager (the NAT, or VPC endpoints); logs need none. The role then gets the network-interface permissions of AWSLambdaVPCAccessExecutionRole. Null = no VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null

  validation {
    condition = var.vpc_config == null || try(
      length(var.vpc_config.subnet_ids) >= 1 && length(var.vpc_config.subnet_ids) <= 16 && alltrue([for id in var.vpc_config.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))]) &&
      length(var.vpc_config.security_group_ids) >= 1 && length(var.vpc_config.security_group_ids) <= 5 && alltrue([for id in var.vpc_config.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))]),
      false,
    )
    error_message = "vpc_config must have 1-16 subnet IDs (subnet-...) and 1-5 security group IDs (sg-...)."
  }
}

variable "role_path" {
  description = "Path of the function's IAM role, e.g. \"/service/\"."
  type        = string
  nullable    = false
  default     = "/"

  validation {
    condition     = length(var.role_path) <= 512 && can(regex("^/([\\x21-\\x2E\\x30-\\x7E]+/)*$", var.role_path))
    error_message = "role_path must start and end with \"/\" (e.g. \"/\" or \"/service/\"), at most 512 printable ASCII characters."
  }
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a managed policy set as the permissions boundary of the function's role. Null = none."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::<account>:policy/<path/name>)."
  }
}

variable "log_level" {
  description = "idpscim log level (IDPSCIM_LOG_LEVEL): debug, info, warn or error. The log format is always json."
  type        = string
  nullable    = false
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of: debug, info, warn, error."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the log group /aws/lambda/<name>, in days (0 = never expire)."
  type        = number
  nullable    = false
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of CloudWatch Logs' values: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_group_kms_key_arn" {
  description = "KMS key ARN encrypting the log group. Its key policy must allow the CloudWatch Logs service principal (logs.<region>.amazonaws.com) to use it for this log group, or creating the log group fails. Null = CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.log_group_kms_key_arn))
    error_message = "log_group_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>), not an alias."
  }
}

variable "settings" {
  description = "Other idpscim settings as IDPSCIM_* environment variables (see the configuration table in the project README), e.g. { IDPSCIM_SYNC_MAX_DELETES = \"10\" }. The variables this module sets itself, and secret values, are refused."
  type        = map(string)
  nullable    = false
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.settings) : can(regex("^IDPSCIM_[A-Z0-9_]+$", k))])
    error_message = "settings keys must be idpscim environment variables (IDPSCIM_TABLE_KEY, uppercase)."
  }

  validation {
    # Set by the module (state, secrets, logging), or secret values that belong in Secrets Manager:
    # the values themselves, the files holding them (the function has none) and the names of other
    # secrets (the role may read only the module's).
    condition = length(setintersection(keys(var.settings), [
      "IDPSCIM_USE_SECRETS_MANAGER", "IDPSCIM_LOG_FORMAT", "IDPSCIM_LOG_LEVEL", "IDPSCIM_SOURCE_TYPE", "IDPSCIM_GWS_GROUPS_FILTER",
      "IDPSCIM_AWS_S3_BUCKET_NAME", "IDPSCIM_AWS_S3_BUCKET_KEY", "IDPSCIM_STATE_FILE",
      "IDPSCIM_GWS_SERVICE_ACCOUNT_FILE_SECRET_NAME", "IDPSCIM_GWS_USER_EMAIL_SECRET_NAME",
      "IDPSCIM_AWS_SCIM_ENDPOINT_SECRET_NAME", "IDPSCIM_AWS_SCIM_ACCESS_TOKEN_SECRET_NAME",
      "IDPSCIM_GWS_SERVICE_ACCOUNT_FILE", "IDPSCIM_GWS_USER_EMAIL", "IDPSCIM_AWS_SCIM_ENDPOINT", "IDPSCIM_AWS_SCIM_ACCESS_TOKEN",
      "IDPSCIM_GWS_AUTH", "IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG", "IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG_SECRET_NAME", "IDPSCIM_GWS_SERVICE_ACCOUNT_EMAIL",
      "IDPSCIM_AWS_SCIM_ACCESS_TOKEN_FILE",
      "IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT",
      "IDPSCIM_CONFIG_FILE",
    ])) == 0
    error_message = "settings must not set the state, secret, source, logging or config-file variables: use this module's variables (state_key, the secret variables, scim_token_expires_at, source_type, log_level, groups_filter) instead."
  }

  validation {
    # Every [ldap] setting is an attribute of var.ldap (typed and validated there), but the bind
    # password, which is a secret, and ca_file: the function has no file to name (ldap.ca_pem instead).
    condition     = alltrue([for k in keys(var.settings) : !startswith(k, "IDPSCIM_LDAP_")])
    error_message = "settings must not set IDPSCIM_LDAP_* variables: give the [ldap] settings in the ldap variable (the CA's PEM text as ldap.ca_pem, since the function has no file for ca_file) and the bind password in ldap_bind_password or ldap_bind_password_secret_arn."
  }
}

# --- Source: Google Workspace or an LDAP directory -------------------------------------------------

variable "source_type" {
  description = "Where users and groups come from (IDPSCIM_SOURCE_TYPE): \"google\" (Google Workspace: the gws_* secrets and groups_filter) or \"ldap\" (an LDAP directory or Active Directory: ldap, and ldap_bind_password or ldap_bind_password_secret_arn; a private directory also needs vpc_config). Only the chosen source's secrets are created and readable by the role."
  type        = string
  nullable    = false
  default     = "google"

  validation {
    condition     = contains(["google", "ldap"], var.source_type)
    error_message = "source_type must be one of: google, ldap."
  }
}

variable "groups_filter" {
  description = "With source_type = \"google\": Google group queries (IDPSCIM_GWS_GROUPS_FILTER); groups matching any are synced, an empty list syncs all groups. Example: [\"name:AWS*\", \"email:aws-*\"]. With \"ldap\", ldap.group_base_dn and ldap.group_filter choose the groups."
  type        = list(string)
  nullable    = false
  default     = []

  validation {
    # The env var is a comma-separated list, so one query cannot hold a comma.
    condition     = alltrue([for q in var.groups_filter : length(trimspace(q)) > 0 && !can(regex(",", q))])
    error_message = "groups_filter entries must be non-empty and must not contain a comma (the list is passed comma-separated)."
  }
}

variable "ldap" {
  description = "With source_type = \"ldap\": the tool's [ldap] settings (project README, \"LDAP / Active Directory\"), each passed as its IDPSCIM_LDAP_* variable; an attribute left null keeps the tool's default. url, bind_dn, base_dn and preset are required. ca_pem is the PEM text of the CA that signed the directory's certificate (the function has no file to name in ldap.ca_file); Lambda's environment holds 4 KB in all, so give the root CA alone. The bind password is ldap_bind_password or ldap_bind_password_secret_arn, never here. Null with source_type = \"google\"."
  type = object({
    url              = string
    bind_dn          = string
    base_dn          = string
    preset           = string
    start_tls        = optional(bool)
    allow_insecure   = optional(bool)
    ca_pem           = optional(string)
    user_base_dn     = optional(string)
    group_base_dn    = optional(string)
    user_filter      = optional(string)
    group_filter     = optional(string)
    suspended_filter = optional(string)
    page_size        = optional(number)
    timeout          = optional(string)
    nested           = optional(string)
    user_attributes  = optional(list(string))
    group_attributes = optional(list(string))
    rekey_users_from = optional(string)
  })
  default = null

  validation {
    condition     = var.ldap == null || try(can(regex("^ldaps?://(\\[[0-9A-Fa-f:.]+\\]|[^/\\s:@\\[\\]]+)(:[0-9]{1,5})?/?$", var.ldap.url)), false)
    error_message = "ldap.url must be ldaps://host:636 (TLS) or ldap://host:389 with start_tls, with no path, query or credentials."
  }

  validation {
    # The tool refuses it too (loopback aside, which a Lambda never reaches): refused at plan instead of at every run.
    condition     = var.ldap == null || try(!startswith(lower(var.ldap.url), "ldap://") || coalesce(var.ldap.start_tls, false) || coalesce(var.ldap.allow_insecure, false), false)
    error_message = "ldap.url is plain ldap://, which would send the bind password and every entry in clear text: use ldaps://host:636, or set ldap.start_tls = true, or (on a network you trust) ldap.allow_insecure = true."
  }

  validation {
    condition     = var.ldap == null || try(contains(["active-directory", "openldap", "custom"], var.ldap.preset), false)
    error_message = "ldap.preset must be one of: active-directory, openldap, custom."
  }

  validation {
    condition     = var.ldap == null || try(var.ldap.nested == null || contains(["client", "server"], var.ldap.nested), false)
    error_message = "ldap.nested must be null (the tool's default, client) or one of: client, server."
  }

  validation {
    condition     = var.ldap == null || try(var.ldap.ca_pem == null || can(regex("-----BEGIN CERTIFICATE-----[\\s\\S]*-----END CERTIFICATE-----", var.ldap.ca_pem)), false)
    error_message = "ldap.ca_pem must be PEM text holding a whole certificate (-----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----), e.g. file(\"corp-ca.pem\"), not a path."
  }

  validation {
    condition     = var.ldap == null || try(var.ldap.page_size == null || (var.ldap.page_size >= 1 && var.ldap.page_size <= 100000 && floor(var.ldap.page_size) == var.ldap.page_size), false)
    error_message = "ldap.page_size must be a whole number of entries from 1 to 100000 (at most the server's size limit; Active Directory's MaxPageSize is 1000)."
  }

  validation {
    condition     = var.ldap == null || try(var.ldap.timeout == null || can(regex("^([0-9]+(ms|s|m|h|d|w))+$", var.ldap.timeout)), false)
    error_message = "ldap.timeout must be a duration such as \"30s\" or \"1m30s\"."
  }

  validation {
    # The tool reads a list setting comma-separated from its environment variable.
    condition     = var.ldap == null || try(alltrue([for entry in concat(coalesce(var.ldap.user_attributes, []), coalesce(var.ldap.group_attributes, [])) : can(regex("^[A-Za-z]+=[^,\\s]+$", entry))]), false)
    error_message = "ldap.user_attributes and ldap.group_attributes entries must be \"target=ldapAttribute\" (e.g. \"userName=uid\"), without commas or spaces."
  }
}

# --- Schedule and invocation ---------------------------------------------------------------------

variable "schedule_expression" {
  description = "EventBridge schedule of the sync: rate(...) or cron(...) with six fields, in UTC."
  type        = string
  nullable    = false
  default     = "rate(15 minutes)"

  validation {
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\(\\S+( \\S+){5}\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(1 minute|hour|day), rate(N minutes|hours|days) with N > 1, or cron(min hour day-of-month month day-of-week year)."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries Lambda makes after a failed scheduled run (0-2). The default 0 leaves the retry to the next scheduled run: a sync is idempotent and the next run resumes from the saved state."
  type        = number
  nullable    = false
  default     = 0

  validation {
    condition     = contains([0, 1, 2], var.maximum_retry_attempts)
    error_message = "maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "How long a scheduled event may wait (throttled behind a running sync, or between retries) before Lambda drops it; 60-21600. Null = half the rate() interval (at least 60), or 600 for cron(). Kept below the schedule interval so a late run is dropped rather than stacked."
  type        = number
  default     = null

  validation {
    condition     = var.maximum_event_age_in_seconds == null || try(var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600 && floor(var.maximum_event_age_in_seconds) == var.maximum_event_age_in_seconds, false)
    error_message = "maximum_event_age_in_seconds must be null or a whole number from 60 to 21600."
  }
}

variable "on_failure_destination_arn" {
  description = "Where Lambda records a scheduled run that failed after its retries or expired: an SQS queue, SNS topic, Lambda function or EventBridge bus ARN. The role may send to it (sqs:SendMessage, sns:Publish, lambda:InvokeFunction or events:PutEvents); an encrypted queue or topic also needs its key to allow the role. Null = none (the Errors alarm still fires)."
  type        = string
  default     = null

  validation {
    condition     = var.on_failure_destination_arn == null || can(regex("^arn:aws[a-z-]*:(sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?|sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?|lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?|events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9/._-]{1,256})$", var.on_failure_destination_arn))
    error_message = "on_failure_destination_arn must be the ARN of an SQS queue, SNS topic, Lambda function or EventBridge event bus."
  }
}

# --- State bucket ------------------------------------------------------------------------------

variable "state_bucket_name" {
  description = "Name of the S3 bucket the module creates for the state (and the Lambda package). Null = a generated name starting with \"<name>-\". Not with existing_state_bucket_name."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "existing_state_bucket_name" {
  description = "Name of an existing S3 bucket to hold the state (and the uploaded package, under lambda/<name>/), used as is: the module then creates no bucket and sets none of its versioning, encryption, public-access block, policy or lifecycle. Give kms_key_arn if it is encrypted with a customer key. Null = the module creates the bucket."
  type        = string
  default     = null

  validation {
    condition     = var.existing_state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.existing_state_bucket_name))
    error_message = "existing_state_bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "state_key" {
  description = "Object key of the state in the bucket (IDPSCIM_AWS_S3_BUCKET_KEY). The role may read and write this key only."
  type        = string
  nullable    = false
  default     = "data/state.json"

  validation {
    condition     = can(regex("^[^/*?].*[^/]$", var.state_key)) && !startswith(var.state_key, "lambda/") && !can(regex("[*?]", var.state_key))
    error_message = "state_key must be an object key that does not start or end with \"/\", holds no \"*\" or \"?\" (they would widen the IAM grant) and is not under lambda/ (the package's prefix)."
  }
}

variable "state_noncurrent_version_expiration_days" {
  description = "Days after which old versions of the state (and of the package) are deleted. Versions let you roll the state back after a bad run."
  type        = number
  nullable    = false
  default     = 30

  validation {
    condition     = var.state_noncurrent_version_expiration_days >= 1 && floor(var.state_noncurrent_version_expiration_days) == var.state_noncurrent_version_expiration_days
    error_message = "state_noncurrent_version_expiration_days must be a whole number of days, at least 1."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key ARN: encrypts the state bucket the module creates (aws:kms) and the secrets it creates, and the role may decrypt with it (through S3 and Secrets Manager only). Give it too when existing secrets are encrypted with it. Null = AES256 for the bucket and the AWS-managed key for secrets."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); an alias ARN cannot be used in IAM policies."
  }
}

# --- Secrets: per secret, a value (the module creates the secret) or an existing secret's ARN --------

variable "gws_auth" {
  description = "With source_type = \"google\": how the function authenticates to Google (IDPSCIM_GWS_AUTH). \"key\": a service-account key, gws_service_account_json or gws_service_account_secret_arn. \"workload-identity\": keyless, Google trusts the function's role (output role_arn) through Workload Identity Federation; give gws_workload_identity_config and gws_service_account_email, and no key secret is created or readable (README: Keyless Google authentication)."
  type        = string
  nullable    = false
  default     = "key"

  validation {
    condition     = contains(["key", "workload-identity"], var.gws_auth)
    error_message = "gws_auth must be one of: key, workload-identity."
  }
}

variable "gws_workload_identity_config" {
  description = "With gws_auth = \"workload-identity\": the credential configuration JSON that gcloud iam workload-identity-pools create-cred-config --aws writes (it names the pool's AWS provider and Google STS, and holds no secret), e.g. file(\"wif.json\"); passed as IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG."
  type        = string
  default     = null

  validation {
    condition     = var.gws_workload_identity_config == null || try(jsondecode(var.gws_workload_identity_config).type == "external_account" && jsondecode(var.gws_workload_identity_config).subject_token_type == "urn:ietf:params:aws:token-type:aws4_request", false)
    error_message = "gws_workload_identity_config must be the JSON of an AWS credential configuration (type external_account, subject_token_type urn:ietf:params:aws:token-type:aws4_request): gcloud iam workload-identity-pools create-cred-config ... --aws."
  }
}

variable "gws_service_account_email" {
  description = "With gws_auth = \"workload-identity\": the service account whose domain-wide delegation is used; the function's role holds roles/iam.serviceAccountTokenCreator on it (IDPSCIM_GWS_SERVICE_ACCOUNT_EMAIL)."
  type        = string
  default     = null

  validation {
    condition     = var.gws_service_account_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.gws_service_account_email))
    error_message = "gws_service_account_email must be an email address (NAME@PROJECT.iam.gserviceaccount.com)."
  }
}

variable "gws_service_account_json" {
  description = "With source_type = \"google\" and gws_auth = \"key\": the Google service-account key (the JSON file's content). Give this or gws_service_account_secret_arn."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.gws_service_account_json == null || can(jsondecode(var.gws_service_account_json).client_email) && can(jsondecode(var.gws_service_account_json).private_key)
    error_message = "gws_service_account_json must be a service-account key in JSON, with client_email and private_key."
  }
}

variable "gws_service_account_secret_arn" {
  description = "With source_type = \"google\" and gws_auth = \"key\": ARN of an existing Secrets Manager secret holding the service-account key JSON. Give this or gws_service_account_json."
  type        = string
  default     = null

  validation {
    condition     = var.gws_service_account_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.gws_service_account_secret_arn))
    error_message = "gws_service_account_secret_arn must be a full secret ARN, ending in the 6-character suffix AWS adds (…:secret:<name>-AbCdEf)."
  }
}

variable "gws_user_email" {
  description = "With source_type = \"google\": the Google Workspace admin the service account impersonates. Give this or gws_user_email_secret_arn."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.gws_user_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.gws_user_email))
    error_message = "gws_user_email must be an email address."
  }
}

variable "gws_user_email_secret_arn" {
  description = "With source_type = \"google\": ARN of an existing Secrets Manager secret holding the admin email. Give this or gws_user_email."
  type        = string
  default     = null

  validation {
    condition     = var.gws_user_email_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.gws_user_email_secret_arn))
    error_message = "gws_user_email_secret_arn must be a full secret ARN, ending in the 6-character suffix AWS adds (…:secret:<name>-AbCdEf)."
  }
}

variable "scim_endpoint" {
  description = "SCIM endpoint of IAM Identity Center (https://scim.<region>.amazonaws.com/<tenant>/scim/v2/). Give this or scim_endpoint_secret_arn."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.scim_endpoint == null || can(regex("^https://[^/\\s]+/\\S*$", var.scim_endpoint))
    error_message = "scim_endpoint must be an https URL."
  }
}

variable "scim_endpoint_secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding the SCIM endpoint. Give this or scim_endpoint."
  type        = string
  default     = null

  validation {
    condition     = var.scim_endpoint_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.scim_endpoint_secret_arn))
    error_message = "scim_endpoint_secret_arn must be a full secret ARN, ending in the 6-character suffix AWS adds (…:secret:<name>-AbCdEf)."
  }
}

variable "scim_access_token" {
  description = "SCIM access token of IAM Identity Center. Give this or scim_access_token_secret_arn."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.scim_access_token == null || can(regex("^\\S+$", var.scim_access_token))
    error_message = "scim_access_token must be a non-empty token without spaces."
  }
}

variable "scim_access_token_secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding the SCIM access token. Give this or scim_access_token."
  type        = string
  default     = null

  validation {
    condition     = var.scim_access_token_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.scim_access_token_secret_arn))
    error_message = "scim_access_token_secret_arn must be a full secret ARN, ending in the 6-character suffix AWS adds (…:secret:<name>-AbCdEf)."
  }
}

variable "ldap_bind_password" {
  description = "With source_type = \"ldap\": the password of ldap.bind_dn (IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME names the secret created from it). Give this or ldap_bind_password_secret_arn."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.ldap_bind_password == null || try(length(var.ldap_bind_password) > 0, false)
    error_message = "ldap_bind_password must not be empty."
  }
}

variable "ldap_bind_password_secret_arn" {
  description = "With source_type = \"ldap\": ARN of an existing Secrets Manager secret holding the password of ldap.bind_dn (as a plain string). Give this or ldap_bind_password."
  type        = string
  default     = null

  validation {
    condition     = var.ldap_bind_password_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.ldap_bind_password_secret_arn))
    error_message = "ldap_bind_password_secret_arn must be a full secret ARN, ending in the 6-character suffix AWS adds (…:secret:<name>-AbCdEf)."
  }
}

# --- Alarms and tags -----------------------------------------------------------------------------

variable "scim_token_expires_at" {
  description = "When the SCIM access token expires (one year after it was generated; the IAM Identity Center console shows the date), e.g. \"2027-06-30\" or \"2027-06-30T09:00:00Z\": passed as IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT, so each run warns from 30 days before, logs an error from 7 days before and emits the ScimTokenDaysLeft metric, on which the <name>-scim-token-expiry alarm fires at 7 days. Update it with each new token. Null = no expiry check and no alarm."
  type        = string
  default     = null

  validation {
    condition     = var.scim_token_expires_at == null || can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2}))?$", var.scim_token_expires_at))
    error_message = "scim_token_expires_at must be a date like \"2027-06-30\" or a time with its offset like \"2027-06-30T09:00:00Z\"."
  }
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when a run fails (Lambda Errors), records fail (the FailedRecords metric) or the SCIM token has 7 days or fewer left (ScimTokenDaysLeft). Null = the alarms exist without notifications."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.alarm_sns_topic_arn))
    error_message = "alarm_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)."
  }
}

variable "create_alarms" {
  description = "Whether to create the CloudWatch alarms: <name>-errors on Lambda Errors, <name>-failed-records on the FailedRecords metric, and with scim_token_expires_at <name>-scim-token-expiry on the ScimTokenDaysLeft metric."
  type        = bool
  nullable    = false
  default     = true
}

variable "tags" {
  description = "Tags added to every resource that takes tags, except the package object (see package_object_tags)."
  type        = map(string)
  nullable    = false
  default     = {}
}
