# Every knob: the package from an existing S3 object (e.g. a mirror of the release), an existing
# state bucket, secrets that already exist (e.g. managed by another team), a customer KMS key, an
# encrypted log group, a VPC, a permissions boundary and role path, no reserved concurrency, failed
# runs sent to an SQS queue, alarm notifications by e-mail, a working-hours cron schedule, a filter
# on groups and extra settings.

provider "aws" {
  region = var.region
}

resource "aws_sns_topic" "alarms" {
  name = "idpscim-alarms"
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Failed runs (after their retries, or expired) are recorded here, for a look at what failed.
resource "aws_sqs_queue" "failures" {
  name                      = "idpscim-prod-failures"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

module "idpscim" {
  source = "../.."

  name = "idpscim-prod"

  # A copy of a release's bootstrap.zip in a bucket of this account (check it against the
  # release's SHA256SUMS when copying it); a new version_id deploys a new package.
  package_source = "s3"
  package_s3_object = {
    bucket     = var.package_bucket_name
    key        = var.package_key
    version_id = var.package_version_id
  }

  # Existing secrets; kms_key_arn must be the key that encrypts them (if not AWS-managed).
  gws_service_account_secret_arn = var.gws_service_account_secret_arn
  gws_user_email_secret_arn      = var.gws_user_email_secret_arn
  scim_endpoint_secret_arn       = var.scim_endpoint_secret_arn
  scim_access_token_secret_arn   = var.scim_access_token_secret_arn
  kms_key_arn                    = var.kms_key_arn

  # Every 30 minutes, 06:00-20:59 UTC, Monday to Friday. One retry; an event that waited 15 minutes
  # (half the interval) is dropped.
  schedule_expression          = "cron(0/30 6-20 ? * MON-FRI *)"
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 900

  timeout               = 900
  memory_size           = 1024
  log_level             = "info"
  log_retention_in_days = 90

  # A bucket managed elsewhere (versioning, encryption and policy are its owner's); the module adds
  # its state under state_key and nothing else. Its lifecycle is the owner's too.
  existing_state_bucket_name = var.existing_state_bucket_name
  state_key                  = "idpscim/state.json"

  # This account keeps its unreserved pool for other functions: no reservation, overlapping runs
  # are kept apart by the run lock.
  reserved_concurrent_executions = null

  vpc_config = length(var.subnet_ids) == 0 ? null : {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  role_path                     = "/idpscim/"
  role_permissions_boundary_arn = var.permissions_boundary_arn
  log_group_kms_key_arn         = var.log_group_kms_key_arn
  on_failure_destination_arn    = aws_sqs_queue.failures.arn
  package_object_tags           = { Service = "idpscim" }

  groups_filter = ["name:AWS*", "email:aws-*"]
  settings = {
    IDPSCIM_SYNC_MAX_DELETES     = "10"
    IDPSCIM_SYNC_RECONCILE_EVERY = "12h"
  }

  create_alarms       = true
  alarm_sns_topic_arn = aws_sns_topic.alarms.arn

  tags = {
    Environment = "prod"
    Service     = "idpscim"
  }
}
