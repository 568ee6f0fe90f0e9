# snake_case Terraform inputs → the camelCase object shared/config.ts accepts. Optional fields that are null are
# left out rather than sent as JSON null: the schema is strict and treats null as a wrong type.
locals {
  config = merge(
    {
      fleetProject = var.fleet_project
      projects     = var.projects
      spokes = [
        for s in var.spokes : {
          for k, v in { project = s.project, network = s.network, networkPattern = s.network_pattern } : k => v if v != null
        }
      ]
      membership = {
        location   = var.membership.location
        idTemplate = var.membership.id_template
      }
      workloadIdentity = { policy = var.workload_identity, nodePools = var.workload_identity_node_pools }
      peering = {
        for k, v in {
          exportCustomRoutes = var.peering.export_custom_routes
          importCustomRoutes = var.peering.import_custom_routes
        } : k => v if v != null
      }
      # The string "auto" or the seed list. A conditional needs one type for both results, so each branch is JSON
      # text and the chosen one is decoded.
      namespaces = jsondecode(var.namespaces_auto ? jsonencode("auto") : jsonencode(var.namespaces))
      export = {
        label = var.export_label.label
        value = var.export_label.value
      }
      owner = var.owner
      limits = {
        forbiddenNamespaces          = var.limits.forbidden_namespaces
        maxClustersPerService        = var.limits.max_clusters_per_service
        maxEndpointsPerService       = var.limits.max_endpoints_per_service
        maxServicesPerFleet          = var.limits.max_services_per_fleet
        refuseCrossProjectDuplicates = var.limits.refuse_cross_project_duplicates
      }
      kubeAccess         = var.kube_access
      dryRun             = var.dry_run
      concurrency        = var.concurrency
      maxEventAgeSeconds = var.max_event_age_seconds
      retryBudgetMs      = var.retry_budget_ms
      logLevel           = var.log_level
      selfPrincipals     = var.self_principals
      reconcileTopic     = var.reconcile_topic
    },
    {
      for k, v in {
        aviatrix = var.aviatrix == null ? null : {
          for k, v in {
            controllerUrl  = var.aviatrix.controller_url
            username       = var.aviatrix.username
            passwordSecret = var.aviatrix.password_secret
            cacheSeconds   = var.aviatrix.cache_seconds
            advertise = var.aviatrix.advertise == null ? null : {
              controlPlane = var.aviatrix.advertise.control_plane
              pods         = var.aviatrix.advertise.pods
              services     = var.aviatrix.advertise.services
            }
          } : k => v if v != null
        }
      } : k => v if v != null
    },
  )
}

locals {
  # Each function stops its own work (and answers, so Pub/Sub redelivers) before its timeout kills it: 8/9 of the
  # timeout (480 s of the default 540 s), leaving time for the last call and the answer.
  config_by_function = {
    for name, timeout in var.function_timeouts : name => merge(local.config, {
      invocationBudgetSeconds = floor(timeout * 8 / 9)
    })
  }
}
