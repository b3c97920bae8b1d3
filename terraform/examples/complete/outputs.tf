# Outputs of the complete example.

output "function_name" {
  description = "Run a sync now: aws lambda invoke --function-name <this> --invocation-type Event /dev/null"
  value       = module.idpscim.function_name
}

output "role_arn" {
  description = "The function's role (e.g. to allow it in the KMS key policy, if that policy does not delegate to IAM)."
  value       = module.idpscim.role_arn
}

output "state_object_uri" {
  description = "Where the state lives."
  value       = module.idpscim.state_object_uri
}

output "alarm_arns" {
  description = "The two alarms, notifying the SNS topic."
  value       = module.idpscim.alarm_arns
}

output "alarm_topic_arn" {
  description = "The SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "failures_queue_url" {
  description = "The SQS queue recording failed runs."
  value       = aws_sqs_queue.failures.url
}
