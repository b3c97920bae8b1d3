# idpscim as a scheduled AWS Lambda: the function and its package, the state bucket, the secrets of
# its source (Google Workspace or LDAP), the schedule, the log group and the alarms. The IAM role
# is in iam.tf, the released package's pin in release.tf.

locals {
  source_name = { google = "Google Workspace", ldap = "an LDAP directory" }[var.source_type]

  # Env var through which the tool finds each secret (GetSecretValue takes an ARN as well as a name).
  secret_env = {
    gws_service_account = "IDPSCIM_GWS_SERVICE_ACCOUNT_FILE_SECRET_NAME"
    gws_user_email      = "IDPSCIM_GWS_USER_EMAIL_SECRET_NAME"
    scim_endpoint       = "IDPSCIM_AWS_SCIM_ENDPOINT_SECRET_NAME"
    scim_access_token   = "IDPSCIM_AWS_SCIM_ACCESS_TOKEN_SECRET_NAME"
    ldap_bind_password  = "IDPSCIM_LDAP_BIND_PASSWORD_SECRET_NAME"
  }

  # The secrets the function reads: the SCIM pair and its source's own. Only these are created,
  # passed to the function and readable by its role.
  secrets_by_source = {
    google = ["scim_endpoint", "scim_access_token", "gws_service_account", "gws_user_email"]
    ldap   = ["scim_endpoint", "scim_access_token", "ldap_bind_password"]
  }

  given_secret_arns = {
    gws_service_account = var.gws_service_account_secret_arn
    gws_user_email      = var.gws_user_email_secret_arn
    scim_endpoint       = var.scim_endpoint_secret_arn
    scim_access_token   = var.scim_access_token_secret_arn
    ldap_bind_password  = var.ldap_bind_password_secret_arn
  }

  # Keyless (gws_auth = "workload-identity") reads no key: its secret is neither created nor readable.
  keyless              = var.source_type == "google" && var.gws_auth == "workload-identity"
  secrets_read         = [for k in local.secrets_by_source[var.source_type] : k if !(local.keyless && k == "gws_service_account")]
  existing_secret_arns = { for k in local.secrets_read : k => local.given_secret_arns[k] }

  # Sensitive, so kept apart from the ARNs: for_each may only see non-sensitive values, and which
  # secrets to create is decided by the (non-sensitive) ARN being absent. The preconditions on the
  # function make sure a value is then given.
  secret_values = {
    gws_service_account = var.gws_service_account_json
    gws_user_email      = var.gws_user_email
    scim_endpoint       = var.scim_endpoint
    scim_access_token   = var.scim_access_token
    ldap_bind_password  = var.ldap_bind_password
  }

  created_secrets = toset([for k, arn in local.existing_secret_arns : k if arn == null])

  secret_arns = merge(
    { for k, arn in local.existing_secret_arns : k => arn if arn != null },
    { for k in local.created_secrets : k => aws_secretsmanager_secret.this[k].arn },
  )

  # --- State bucket: created here, or an existing one (existing_state_bucket_name).
  create_state_bucket = var.existing_state_bucket_name == null
  state_bucket_id     = local.create_state_bucket ? aws_s3_bucket.state[0].id : var.existing_state_bucket_name
  state_bucket_arn    = local.create_state_bucket ? aws_s3_bucket.state[0].arn : "arn:${data.aws_partition.current.partition}:s3:::${var.existing_state_bucket_name}"

  # --- Package: a released bootstrap.zip (downloaded and verified at plan time), an existing S3
  # object, or a local file. The first and last are uploaded to the state bucket, under their own
  # prefix (state_key may not use it) and the function's name (two deployments may share a bucket).
  package_key = "lambda/${var.name}/bootstrap.zip"

  release_version = coalesce(var.package_release_version, local.release.version)
  # The pin covers the module's own version; another version needs its checksum given.
  release_sha256 = var.package_release_sha256 != null ? var.package_release_sha256 : (local.release_version == local.release.version ? local.release.sha256 : null)
  release_url    = "${trimsuffix(replace(var.package_release_base_url, "{version}", local.release_version), "/")}/bootstrap.zip"
  # Kept beside the root's providers, named by version and checksum: a later plan finds it there
  # and downloads nothing (fetch-package.sh checks its SHA-256 again).
  release_file = "${path.root}/.terraform/idpscim/bootstrap-${local.release_version}-${substr(coalesce(local.release_sha256, "unpinned"), 0, 12)}.zip"

  # The file to upload: the verified download, or the local zip; null for an existing S3 object.
  package_file = var.package_source == "release" ? data.external.package[0].result.path : var.package_source == "local" ? var.lambda_package_path : null

  package_bucket         = var.package_source == "s3" ? var.package_s3_object.bucket : aws_s3_object.package[0].bucket
  package_key_deployed   = var.package_source == "s3" ? var.package_s3_object.key : aws_s3_object.package[0].key
  package_object_version = var.package_source == "s3" ? var.package_s3_object.version_id : aws_s3_object.package[0].version_id
  # An existing S3 object is not read by Terraform: a new package there is deployed when its
  # version_id (or key) changes.
  package_code_hash = var.package_source == "s3" ? null : filebase64sha256(local.package_file)

  # Lambda's on-failure destinations and the action the role needs on each.
  on_failure_actions = { sqs = "sqs:SendMessage", sns = "sns:Publish", lambda = "lambda:InvokeFunction", events = "events:PutEvents" }

  # rate(N unit) -> seconds; null for cron(), whose interval is not computed.
  rate_parts       = regexall("^rate\\(([0-9]+) (minute|minutes|hour|hours|day|days)\\)$", var.schedule_expression)
  unit_seconds     = { minute = 60, minutes = 60, hour = 3600, hours = 3600, day = 86400, days = 86400 }
  schedule_seconds = try(tonumber(local.rate_parts[0][0]) * local.unit_seconds[local.rate_parts[0][1]], null)

  # docs/lambda-runtime.md §8: an event older than the interval would only run back to back
  # with the next scheduled one. Default: half the interval, or 600 s for cron() (1200 / 2).
  maximum_event_age_in_seconds = coalesce(
    var.maximum_event_age_in_seconds,
    min(21600, max(60, floor(coalesce(local.schedule_seconds, 1200) / 2))),
  )

  # idpscim's EMF metrics: namespace "idpscim", one dimension Service, whose value (like the
  # `service` key of its JSON logs) is POWERTOOLS_SERVICE_NAME, Powertools' variable. Setting it
  # to the function name keeps two deployments in one account apart in metrics and alarms.
  metrics_namespace = "idpscim"
  metrics_service   = var.name

  # The [ldap] settings (var.ldap) as the tool's variables; null ones (and all, without var.ldap)
  # are left out, so the tool's defaults apply. Lists are read comma-separated.
  ldap_settings = {
    IDPSCIM_LDAP_URL              = try(var.ldap.url, null)
    IDPSCIM_LDAP_BIND_DN          = try(var.ldap.bind_dn, null)
    IDPSCIM_LDAP_BASE_DN          = try(var.ldap.base_dn, null)
    IDPSCIM_LDAP_PRESET           = try(var.ldap.preset, null)
    IDPSCIM_LDAP_START_TLS        = try(tostring(var.ldap.start_tls), null)
    IDPSCIM_LDAP_ALLOW_INSECURE   = try(tostring(var.ldap.allow_insecure), null)
    IDPSCIM_LDAP_CA_PEM           = try(var.ldap.ca_pem, null)
    IDPSCIM_LDAP_USER_BASE_DN     = try(var.ldap.user_base_dn, null)
    IDPSCIM_LDAP_GROUP_BASE_DN    = try(var.ldap.group_base_dn, null)
    IDPSCIM_LDAP_USER_FILTER      = try(var.ldap.user_filter, null)
    IDPSCIM_LDAP_GROUP_FILTER     = try(var.ldap.group_filter, null)
    IDPSCIM_LDAP_SUSPENDED_FILTER = try(var.ldap.suspended_filter, null)
    IDPSCIM_LDAP_PAGE_SIZE        = try(tostring(var.ldap.page_size), null)
    IDPSCIM_LDAP_TIMEOUT          = try(var.ldap.timeout, null)
    IDPSCIM_LDAP_NESTED           = try(var.ldap.nested, null)
    IDPSCIM_LDAP_USER_ATTRIBUTES  = try(join(",", var.ldap.user_attributes), null)
    IDPSCIM_LDAP_GROUP_ATTRIBUTES = try(join(",", var.ldap.group_attributes), null)
    IDPSCIM_LDAP_REKEY_USERS_FROM = try(var.ldap.rekey_users_from, null)
  }

  environment = merge(
    var.settings,
    {
      IDPSCIM_LOG_FORMAT          = "json"
      IDPSCIM_LOG_LEVEL           = var.log_level
      IDPSCIM_USE_SECRETS_MANAGER = "true"
      IDPSCIM_SOURCE_TYPE         = var.source_type
      IDPSCIM_AWS_S3_BUCKET_NAME  = local.state_bucket_id
      IDPSCIM_AWS_S3_BUCKET_KEY   = var.state_key
      POWERTOOLS_SERVICE_NAME     = local.metrics_service
      # The RAM JavaScriptCore sizes its garbage collector for, in bytes. Without it the runtime
      # assumes the host's memory and lets garbage grow past the function's: measured at 200,000
      # users, 1.5 GB peak for a run with nothing to do where 0.65 GB is enough (README: Performance).
      BUN_JSC_forceRAMSize = tostring(var.memory_size * 1048576)
      # And how far the heap may grow before the next collection: by default twice what the last
      # one left, which at 200,000 users took a run from about 340 MiB to 490-650 at peak; with
      # these, at most 477 (scripts/gc-environment.ts, whose values these must stay).
      BUN_JSC_smallHeapRAMFraction   = "0.25"
      BUN_JSC_mediumHeapRAMFraction  = "0.5"
      BUN_JSC_smallHeapGrowthFactor  = "1.3"
      BUN_JSC_mediumHeapGrowthFactor = "1.2"
      BUN_JSC_largeHeapGrowthFactor  = "1.1"
    },
    # The source's secrets only (local.secret_arns holds no other).
    { for k, arn in local.secret_arns : local.secret_env[k] => arn },
    # Unset when empty (the tool's default: all groups).
    { for v in [join(",", var.groups_filter)] : "IDPSCIM_GWS_GROUPS_FILTER" => v if v != "" },
    # Unset when null: no expiry check, no ScimTokenDaysLeft metric.
    var.scim_token_expires_at == null ? {} : { IDPSCIM_AWS_SCIM_TOKEN_EXPIRES_AT = var.scim_token_expires_at },
    { for name, value in local.ldap_settings : name => value if value != null },
    # Keyless: the credential configuration (no secret) and the service account, as plain variables.
    local.keyless ? {
      IDPSCIM_GWS_AUTH                     = var.gws_auth
      IDPSCIM_GWS_WORKLOAD_IDENTITY_CONFIG = jsonencode(jsondecode(var.gws_workload_identity_config))
      IDPSCIM_GWS_SERVICE_ACCOUNT_EMAIL    = var.gws_service_account_email
    } : {},
  )
}

# --- State bucket (also holds the package) ----------------------------------------------------
# Created and hardened here unless existing_state_bucket_name names one the caller manages.

resource "aws_s3_bucket" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket        = var.state_bucket_name
  bucket_prefix = var.state_bucket_name == null ? "${var.name}-" : null
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket = aws_s3_bucket.state[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.state[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versions let an operator roll the state back after a bad run; the tool's conditional writes
# (If-Match on the ETag) work the same on a versioned bucket.
resource "aws_s3_bucket_versioning" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket = aws_s3_bucket.state[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket = aws_s3_bucket.state[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # Fewer KMS requests (and less KMS cost) per object write.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket = aws_s3_bucket.state[0].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.state_noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # A lifecycle rule on an unversioned bucket would not see noncurrent versions yet.
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  count = local.create_state_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state[0].arn,
      "${aws_s3_bucket.state[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  count = local.create_state_bucket ? 1 : 0

  bucket = aws_s3_bucket.state[0].id
  policy = data.aws_iam_policy_document.state_bucket[0].json

  # Putting the policy while the public access block is being written fails with
  # OperationAborted (409): https://github.com/hashicorp/terraform-provider-aws/issues/7628
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- Package ------------------------------------------------------------------------------------

# package_source = "release": fetch-package.sh downloads the release's bootstrap.zip and checks its
# SHA-256 against the pin (release.tf) or package_release_sha256. A data source, not a provisioner:
# it runs during plan, so the file exists (and is verified) before the plan is shown, and a bad
# download fails the plan before anything is uploaded. Needs sh, curl or wget, sha256sum or shasum.
data "external" "package" {
  count = var.package_source == "release" ? 1 : 0

  program = ["sh", "${path.module}/scripts/fetch-package.sh", local.release_url, coalesce(local.release_sha256, "none"), local.release_file]

  lifecycle {
    precondition {
      condition     = local.release_sha256 != null
      error_message = "package_source = \"release\" needs a checksum: this copy of the module pins none (release.tf has sha256 = null, as in a git checkout), or package_release_version is not the pinned version. Use the module archive of a release (idpscim-terraform-<version>.tar.gz), or set package_release_sha256 to bootstrap.zip's line in that release's SHA256SUMS, or use package_source = \"s3\" or \"local\"."
    }
  }
}

# ~50 MB zipped: above Lambda's direct-upload limit (52428800 bytes), so the function is deployed
# from S3 (docs/lambda-runtime.md §9). An existing S3 object (package_source = "s3") is used as is.
resource "aws_s3_object" "package" {
  count = var.package_source == "s3" ? 0 : 1

  bucket = local.state_bucket_id
  key    = local.package_key
  source = local.package_file
  # Not `etag`: with SSE-KMS the ETag is not the MD5, which would show a change on every plan.
  source_hash = filemd5(local.package_file)
  # S3 takes at most 10 tags per object: not the module's tags, which may be more.
  tags = var.package_object_tags

  # Uploaded once versioning and encryption apply, so version_id is set and the object encrypted.
  depends_on = [
    aws_s3_bucket_versioning.state,
    aws_s3_bucket_server_side_encryption_configuration.state,
  ]

  lifecycle {
    precondition {
      condition     = var.package_source != "local" || var.lambda_package_path != null
      error_message = "package_source = \"local\" needs lambda_package_path (the project's dist/lambda/bootstrap.zip)."
    }
  }
}

# --- Secrets ------------------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "this" {
  for_each = local.created_secrets

  # A prefix, not a name: a deleted secret keeps its name for its recovery window (7-30 days),
  # which would block destroying and re-creating the module.
  name_prefix = "${var.name}/${replace(each.key, "_", "-")}-"
  description = "idpscim: ${each.key} (read by the ${var.name} Lambda through ${local.secret_env[each.key]})"
  kms_key_id  = var.kms_key_arn
  tags        = var.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = local.created_secrets

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = local.secret_values[each.key]
}

# --- Function -----------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  description   = "idpscim: syncs ${local.source_name} to IAM Identity Center (SCIM) on a schedule"
  role          = aws_iam_role.this.arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  # A custom runtime starts the executable named bootstrap; the handler string is not used.
  handler = "bootstrap"

  s3_bucket         = local.package_bucket
  s3_key            = local.package_key_deployed
  s3_object_version = local.package_object_version
  source_code_hash  = local.package_code_hash

  timeout     = var.timeout
  memory_size = var.memory_size
  # 1 (the default): at most one sync at a time, an overlapping scheduled run is throttled and
  # re-queued (docs/lambda-runtime.md §8). Null leaves the function unreserved, for accounts
  # whose unreserved pool may not drop under 100; the run lock and conditional writes then keep
  # overlapping runs apart.
  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = local.environment
  }

  dynamic "vpc_config" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = var.tags

  lifecycle {
    # Each secret of the source: exactly one of a value and an ARN; another source's: neither, so
    # nothing is created or granted that the function does not read.
    precondition {
      condition     = var.source_type == "google" && !local.keyless ? (var.gws_service_account_json == null) != (var.gws_service_account_secret_arn == null) : var.gws_service_account_json == null && var.gws_service_account_secret_arn == null
      error_message = "With source_type = \"google\" and gws_auth = \"key\", give exactly one of gws_service_account_json (the module creates the secret) and gws_service_account_secret_arn (an existing secret); with gws_auth = \"workload-identity\" or source_type = \"ldap\", neither (no Google key is read)."
    }
    precondition {
      condition     = local.keyless ? var.gws_workload_identity_config != null && var.gws_service_account_email != null : var.gws_workload_identity_config == null && var.gws_service_account_email == null
      error_message = "With source_type = \"google\" and gws_auth = \"workload-identity\", give gws_workload_identity_config and gws_service_account_email; otherwise neither."
    }
    precondition {
      condition     = var.source_type == "google" ? (var.gws_user_email == null) != (var.gws_user_email_secret_arn == null) : var.gws_user_email == null && var.gws_user_email_secret_arn == null
      error_message = "With source_type = \"google\", give exactly one of gws_user_email (the module creates the secret) and gws_user_email_secret_arn (an existing secret); with source_type = \"ldap\", neither."
    }
    precondition {
      condition     = var.source_type == "ldap" ? (var.ldap_bind_password == null) != (var.ldap_bind_password_secret_arn == null) : var.ldap_bind_password == null && var.ldap_bind_password_secret_arn == null
      error_message = "With source_type = \"ldap\", give exactly one of ldap_bind_password (the module creates the secret) and ldap_bind_password_secret_arn (an existing secret); with source_type = \"google\", neither."
    }
    precondition {
      condition     = (var.source_type == "ldap") == (var.ldap != null)
      error_message = "ldap (url, bind_dn, base_dn, preset, …) is given exactly when source_type = \"ldap\"."
    }
    precondition {
      condition     = var.source_type == "google" || length(var.groups_filter) == 0
      error_message = "groups_filter is a Google Workspace query: with source_type = \"ldap\", choose the groups with ldap.group_base_dn and ldap.group_filter."
    }
    precondition {
      condition     = (var.scim_endpoint == null) != (var.scim_endpoint_secret_arn == null)
      error_message = "Give exactly one of scim_endpoint (the module creates the secret) and scim_endpoint_secret_arn (an existing secret)."
    }
    precondition {
      condition     = (var.scim_access_token == null) != (var.scim_access_token_secret_arn == null)
      error_message = "Give exactly one of scim_access_token (the module creates the secret) and scim_access_token_secret_arn (an existing secret)."
    }
    precondition {
      condition     = var.state_bucket_name == null || var.existing_state_bucket_name == null
      error_message = "Give at most one of state_bucket_name (the bucket the module creates) and existing_state_bucket_name (a bucket it uses as is)."
    }
    precondition {
      condition     = (var.package_source == "s3") == (var.package_s3_object != null)
      error_message = "package_s3_object (bucket, key, optional version_id) is given exactly when package_source = \"s3\"."
    }
  }

  # The role's permissions and the log group exist before the first invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# EventBridge invokes asynchronously: these are the retry and event-age rules of those invocations.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = local.maximum_event_age_in_seconds

  # A run that failed after its retries, or whose event expired, is recorded there.
  dynamic "destination_config" {
    for_each = var.on_failure_destination_arn == null ? [] : [var.on_failure_destination_arn]

    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }

  # The role's permission to send to the destination exists first.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      # rate(1 minute) allows nothing below the interval: Lambda's minimum event age is 60 s.
      condition     = local.maximum_event_age_in_seconds < coalesce(local.schedule_seconds, 21601) || local.maximum_event_age_in_seconds == 60
      error_message = "maximum_event_age_in_seconds must be below the schedule's rate() interval, so that a delayed run is dropped instead of running back to back with the next one."
    }
  }
}

# --- Schedule -----------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = var.name
  description         = "Runs the idpscim sync (${var.schedule_expression})"
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = aws_lambda_function.this.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

# --- Alarms -------------------------------------------------------------------------------------

# "ignore" keeps the last state between runs: an alarm stays in ALARM until a run succeeds,
# instead of flipping back to OK in the minutes with no run (one notification per incident).

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} sync run failed (Lambda Errors > 0): configuration, the directory or AWS unreachable, refused for safety, records AWS rejected (see the FailedRecords alarm), or timed out. See /aws/lambda/${var.name}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failed_records" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-failed-records"
  alarm_description   = "The ${var.name} sync finished but AWS rejected some users, groups or memberships (EMF metric FailedRecords > 0); they are retried on every run. See /aws/lambda/${var.name}."
  namespace           = local.metrics_namespace
  metric_name         = "FailedRecords"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  tags                = var.tags
}

# Each run emits ScimTokenDaysLeft when the expiry is known: the alarm fires 7 days before, while
# the token still works (after it, every run fails with 401 and the errors alarm fires instead).
resource "aws_cloudwatch_metric_alarm" "scim_token_expiry" {
  count = var.create_alarms && var.scim_token_expires_at != null ? 1 : 0

  alarm_name          = "${var.name}-scim-token-expiry"
  alarm_description   = "The SCIM access token of ${var.name} expires in 7 days or fewer, or has expired (EMF metric ScimTokenDaysLeft <= 7): generate a new one in the IAM Identity Center console (Settings > Automatic provisioning > Generate token), put it in the scim_access_token secret and set scim_token_expires_at to its expiry."
  namespace           = local.metrics_namespace
  metric_name         = "ScimTokenDaysLeft"
  dimensions          = { Service = local.metrics_service }
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "LessThanOrEqualToThreshold"
  threshold           = 7
  treat_missing_data  = "ignore"
  alarm_actions       = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  ok_actions          = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  tags                = var.tags
}

# --- Addresses of module versions before count (state moves, nothing is re-created) ---------------

moved {
  from = aws_s3_bucket.state
  to   = aws_s3_bucket.state[0]
}

moved {
  from = aws_s3_bucket_ownership_controls.state
  to   = aws_s3_bucket_ownership_controls.state[0]
}

moved {
  from = aws_s3_bucket_public_access_block.state
  to   = aws_s3_bucket_public_access_block.state[0]
}

moved {
  from = aws_s3_bucket_versioning.state
  to   = aws_s3_bucket_versioning.state[0]
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.state
  to   = aws_s3_bucket_server_side_encryption_configuration.state[0]
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.state
  to   = aws_s3_bucket_lifecycle_configuration.state[0]
}

moved {
  from = aws_s3_bucket_policy.state
  to   = aws_s3_bucket_policy.state[0]
}

moved {
  from = aws_s3_object.package
  to   = aws_s3_object.package[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = aws_cloudwatch_metric_alarm.errors[0]
}

moved {
  from = aws_cloudwatch_metric_alarm.failed_records
  to   = aws_cloudwatch_metric_alarm.failed_records[0]
}
