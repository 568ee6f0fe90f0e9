/**
 * The spoke check: may Spokefleet touch this cluster? Only clusters in allowed projects whose VPC is a
 * configured Aviatrix spoke and is itself in an allowed project. Pure: the optional Aviatrix Controller look-up
 * adds spokes through `extraSpokes`.
 */
import type { Config, SpokeMatcher } from '../config';
import { matchesNetworkPattern } from './network-pattern';

export interface SpokeDecision {
  allowed: boolean;
  reason: string;
  /** A refusal no spoke from the Aviatrix Controller can change (a project outside `projects`): do not ask it. */
  final?: true;
}

/** Parses `projects/P/global/networks/N` (or a full https selfLink) into its project and name. */
export function parseNetworkPath(path: string): { project: string; name: string } | undefined {
  const match = /(?:^|\/)projects\/([^/]+)\/global\/networks\/([^/]+)$/.exec(path);
  return match ? { project: match[1], name: match[2] } : undefined;
}

function matchOne(spoke: SpokeMatcher, network: { project: string; name: string }): boolean {
  if ('networkPattern' in spoke) return matchesNetworkPattern(spoke.networkPattern, network.name);
  return spoke.network === network.name && (spoke.project === undefined || spoke.project === network.project);
}

/** A spoke VPC the Aviatrix Controller reports, as `{project, network}`. */
export interface KnownSpoke {
  project: string;
  network: string;
}

export function isSpokeNetwork(
  config: Pick<Config, 'spokes'>,
  network: { project: string; name: string },
  extraSpokes: readonly KnownSpoke[] = [],
): boolean {
  return (
    config.spokes.some((spoke) => matchOne(spoke, network)) ||
    extraSpokes.some((s) => s.project === network.project && s.network === network.name)
  );
}

export function decideSpoke(
  config: Pick<Config, 'spokes' | 'projects'>,
  clusterProject: string,
  network: { project: string; name: string },
  extraSpokes: readonly KnownSpoke[] = [],
): SpokeDecision {
  if (!config.projects.includes(clusterProject)) {
    return {
      allowed: false,
      final: true,
      reason: `project ${clusterProject} is not in the allowed projects`,
    };
  }
  // The network is read and its peering written in the network's own project (a Shared VPC host project, say):
  // that project must be allowed too, whichever spoke (a pattern, a name without a project, the Controller) matched.
  if (!config.projects.includes(network.project)) {
    return {
      allowed: false,
      final: true,
      reason: `network ${network.project}/${network.name} is in project ${network.project}, which is not in the allowed projects (list a Shared VPC host project too)`,
    };
  }
  if (!isSpokeNetwork(config, network, extraSpokes)) {
    return { allowed: false, reason: `network ${network.project}/${network.name} is not a configured spoke` };
  }
  return { allowed: true, reason: `network ${network.project}/${network.name} is a spoke` };
}
