# idpscim as a scheduled AWS Lambda: the function and its package, the state bucket, the secrets,
# the schedule, the log group and the alarms. The IAM role is in iam.tf.

locals {
  # Env var through which the tool finds each secret (GetSecretValue takes an ARN as well as a name).
  secret_env = {
    gws_service_account = "IDPSCIM_GWS_SERVICE_ACCOUNT_FILE_SECRET_NAME"
    gws_user_email      = "IDPSCIM_GWS_USER_EMAIL_SECRET_NAME"
    scim_endpoint       = "IDPSCIM_AWS_SCIM_ENDPOINT_SECRET_NAME"
    scim_access_token   = "IDPSCIM_AWS_SCIM_ACCESS_TOKEN_SECRET_NAME"
  }

  existing_secret_arns = {
    gws_service_account = var.gws_service_account_secret_arn
    gws_user_email      = var.gws_user_email_secret_arn
    scim_endpoint       = var.scim_endpoint_secret_arn
    scim_access_token   = var.scim_access_token_secret_arn
  }

  # Sensitive, so kept apart from the ARNs: for_each may only see non-sensitive values, and which
  # secrets to create is decided by the (non-sensitive) ARN being absent. The preconditions on the
  # function make sure a value is then given.
  secret_values = {
    gws_service_account = var.gws_service_account_json
    gws_user_email      = var.gws_user_email
    scim_endpoint       = var.scim_endpoint
    scim_access_token   = var.scim_access_token
  }

  created_secrets = toset([for k, arn in local.existing_secret_arns : k if arn == null])

  secret_arns = merge(
    { for k, arn in local.existing_secret_arns : k => arn if arn != null },
    { for k in local.created_secrets : k => aws_secretsmanager_secret.this[k].arn },
  )

  # The package shares the state bucket, under its own prefix (state_key may not use it).
  package_key = "lambda/bootstrap.zip"

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

  environment = merge(
    var.settings,
    {
      IDPSCIM_LOG_FORMAT          = "json"
      IDPSCIM_LOG_LEVEL           = var.log_level
      IDPSCIM_USE_SECRETS_MANAGER = "true"
      IDPSCIM_AWS_S3_BUCKET_NAME  = aws_s3_bucket.state.id
      IDPSCIM_AWS_S3_BUCKET_KEY   = var.state_key
      POWERTOOLS_SERVICE_NAME     = local.metrics_service
    },
    { for k, env in local.secret_env : env => local.secret_arns[k] },
    # Unset when empty (the tool's default: all groups).
    { for v in [join(",", var.groups_filter)] : "IDPSCIM_GWS_GROUPS_FILTER" => v if v != "" },
  )
}

# --- State bucket (also holds the package) ----------------------------------------------------

resource "aws_s3_bucket" "state" {
  bucket        = var.state_bucket_name
  bucket_prefix = var.state_bucket_name == null ? "${var.name}-" : null
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versions let an operator roll the state back after a bad run; the tool's conditional writes
# (If-Match on the ETag) work the same on a versioned bucket.
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

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
  bucket = aws_s3_bucket.state.id

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
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
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
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  # Putting the policy while the public access block is being written fails with
  # OperationAborted (409): https://github.com/hashicorp/terraform-provider-aws/issues/7628
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- Package ------------------------------------------------------------------------------------

# ~50 MB zipped: above Lambda's direct-upload limit (52428800 bytes), so the function is deployed
# from S3 (docs/lambda-runtime.md §9).
resource "aws_s3_object" "package" {
  bucket = aws_s3_bucket.state.id
  key    = local.package_key
  source = var.lambda_package_path
  # Not `etag`: with SSE-KMS the ETag is not the MD5, which would show a change on every plan.
  source_hash = filemd5(var.lambda_package_path)
  tags        = var.tags

  # Uploaded once versioning and encryption apply, so version_id is set and the object encrypted.
  depends_on = [
    aws_s3_bucket_versioning.state,
    aws_s3_bucket_server_side_encryption_configuration.state,
  ]
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
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  description   = "idpscim: syncs Google Workspace to IAM Identity Center (SCIM) on a schedule"
  role          = aws_iam_role.this.arn

  runtime       = "provided.al2023"
  architectures = ["arm64"]
  # A custom runtime starts the executable named bootstrap; the handler string is not used.
  handler = "bootstrap"

  s3_bucket         = aws_s3_object.package.bucket
  s3_key            = aws_s3_object.package.key
  s3_object_version = aws_s3_object.package.version_id
  source_code_hash  = filebase64sha256(var.lambda_package_path)

  timeout     = var.timeout
  memory_size = var.memory_size
  # At most one sync at a time: an overlapping scheduled run is throttled and re-queued
  # (docs/lambda-runtime.md §8), and the state's conditional writes catch anything else.
  reserved_concurrent_executions = 1

  environment {
    variables = local.environment
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.gws_service_account_json == null) != (var.gws_service_account_secret_arn == null)
      error_message = "Give exactly one of gws_service_account_json (the module creates the secret) and gws_service_account_secret_arn (an existing secret)."
    }
    precondition {
      condition     = (var.gws_user_email == null) != (var.gws_user_email_secret_arn == null)
      error_message = "Give exactly one of gws_user_email (the module creates the secret) and gws_user_email_secret_arn (an existing secret)."
    }
    precondition {
      condition     = (var.scim_endpoint == null) != (var.scim_endpoint_secret_arn == null)
      error_message = "Give exactly one of scim_endpoint (the module creates the secret) and scim_endpoint_secret_arn (an existing secret)."
    }
    precondition {
      condition     = (var.scim_access_token == null) != (var.scim_access_token_secret_arn == null)
      error_message = "Give exactly one of scim_access_token (the module creates the secret) and scim_access_token_secret_arn (an existing secret)."
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
  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} sync run failed (Lambda Errors > 0): configuration, Google or AWS unreachable, refused for safety, records AWS rejected (see the FailedRecords alarm), or timed out. See /aws/lambda/${var.name}."
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
