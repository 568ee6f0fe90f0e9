output "config" {
  description = "The SPOKEFLEET_CONFIG object."
  value       = local.config
}

output "json" {
  description = "The SPOKEFLEET_CONFIG environment variable's value."
  value       = jsonencode(local.config)
}
