output "config" {
  description = "The SPOKEFLEET_CONFIG object."
  value       = local.config
}

output "json" {
  description = "The SPOKEFLEET_CONFIG environment variable's value."
  value       = jsonencode(local.config)
}

output "json_by_function" {
  description = "SPOKEFLEET_CONFIG per function: the config with that function's invocationBudgetSeconds."
  value       = { for name, config in local.config_by_function : name => jsonencode(config) }
}
