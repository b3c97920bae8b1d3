# Outputs of the LDAP example.

output "function_name" {
  description = "Run a sync now: aws lambda invoke --function-name <this> --invocation-type Event /dev/null"
  value       = module.idpscim.function_name
}

output "role_arn" {
  description = "The function's role (for subnets shared from another account, attach AWSLambdaVPCAccessExecutionRole to it)."
  value       = module.idpscim.role_arn
}

output "secret_arns" {
  description = "The secrets the function reads: the SCIM endpoint and token and the bind password (rotate the password there)."
  value       = module.idpscim.secret_arns
}

output "log_group_name" {
  description = "Where the logs go: the first run says whether the directory, AWS and the SCIM endpoint were reached."
  value       = module.idpscim.log_group_name
}
