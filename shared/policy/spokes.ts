/**
 * The spoke check: may Spokefleet touch this cluster? Only clusters in allowed projects whose VPC is a
 * configured Aviatrix spoke. Pure: the optional Aviatrix Controller look-up adds spokes through `extraSpokes`.
 */
import type { Config, SpokeMatcher } from '../config';

export interface SpokeDecision {
  allowed: boolean;
  reason: string;
}

/** Parses `projects/P/global/networks/N` (or a full https selfLink) into its project and name. */
export function parseNetworkPath(path: string): { project: string; name: string } | undefined {
  const match = /(?:^|\/)projects\/([^/]+)\/global\/networks\/([^/]+)$/.exec(path);
  return match ? { project: match[1], name: match[2] } : undefined;
}

function matchOne(spoke: SpokeMatcher, network: { project: string; name: string }): boolean {
  if ('networkPattern' in spoke) return new RegExp(spoke.networkPattern).test(network.name);
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
    return { allowed: false, reason: `project ${clusterProject} is not in the allowed projects` };
  }
  if (!isSpokeNetwork(config, network, extraSpokes)) {
    return { allowed: false, reason: `network ${network.project}/${network.name} is not a configured spoke` };
  }
  return { allowed: true, reason: `network ${network.project}/${network.name} is a spoke` };
}
