# Every knob: secrets that already exist (e.g. managed by another team), a customer KMS key,
# alarm notifications by e-mail, a working-hours cron schedule, a filter on groups and extra settings.

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

module "idpscim" {
  source = "../.."

  name                = "idpscim-prod"
  lambda_package_path = "${path.module}/../../../dist/lambda/bootstrap.zip"

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

  state_bucket_name                        = var.state_bucket_name
  state_key                                = "idpscim/state.json"
  state_noncurrent_version_expiration_days = 90

  groups_filter = ["name:AWS*", "email:aws-*"]
  settings = {
    IDPSCIM_SYNC_MAX_DELETES     = "10"
    IDPSCIM_SYNC_RECONCILE_EVERY = "12h"
  }

  alarm_sns_topic_arn = aws_sns_topic.alarms.arn

  tags = {
    Environment = "prod"
    Service     = "idpscim"
  }
}
