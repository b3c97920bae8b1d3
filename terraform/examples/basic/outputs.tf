# Outputs of the basic example.

output "function_name" {
  description = "Run a sync now: aws lambda invoke --function-name <this> --invocation-type Event /dev/null"
  value       = module.idpscim.function_name
}

output "state_object_uri" {
  description = "Where the state lives."
  value       = module.idpscim.state_object_uri
}

output "log_group_name" {
  description = "Where the logs go."
  value       = module.idpscim.log_group_name
}

output "package" {
  description = "The released package deployed (version and S3 location)."
  value       = module.idpscim.package
}
