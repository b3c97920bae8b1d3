# Outputs of the idpscim module; each is null-safe (try) so a partial apply or destroy never breaks them.

output "function_name" {
  description = "Name of the Lambda function (for `aws lambda invoke --function-name ...` to run a sync now)."
  value       = try(aws_lambda_function.this.function_name, null)
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = try(aws_lambda_function.this.arn, null)
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = try(aws_iam_role.this.arn, null)
}

output "state_bucket_name" {
  description = "Name of the S3 bucket holding the state (and the uploaded Lambda package under lambda/<name>/), created or existing."
  value       = try(local.state_bucket_id, null)
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = try(local.state_bucket_arn, null)
}

output "state_object_uri" {
  description = "S3 URI of the state object (s3://bucket/key), e.g. to inspect it or roll a version back."
  value       = try("s3://${local.state_bucket_id}/${var.state_key}", null)
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that runs the sync."
  value       = try(aws_cloudwatch_event_rule.schedule.arn, null)
}

output "secret_arns" {
  description = "ARNs of the secrets the function reads, created or given: scim_endpoint and scim_access_token, and its source's: gws_service_account and gws_user_email (google), or ldap_bind_password (ldap)."
  value       = try(local.secret_arns, null)
}

output "alarm_arns" {
  description = "ARNs of the alarms: errors (Lambda Errors), failed_records (the FailedRecords EMF metric) and scim_token_expiry (ScimTokenDaysLeft; null without scim_token_expires_at); null with create_alarms = false."
  value = try({
    errors            = aws_cloudwatch_metric_alarm.errors[0].arn
    failed_records    = aws_cloudwatch_metric_alarm.failed_records[0].arn
    scim_token_expiry = try(aws_cloudwatch_metric_alarm.scim_token_expiry[0].arn, null)
  }, null)
}

output "package" {
  description = "The deployed package: source (release, s3 or local), the release version (null otherwise), and its S3 location."
  value = try({
    source            = var.package_source
    release_version   = var.package_source == "release" ? local.release_version : null
    s3_bucket         = local.package_bucket
    s3_key            = local.package_key_deployed
    s3_object_version = local.package_object_version
  }, null)
}
