/**
 * Fleet membership names, shared by the reconcile steps and the Kubernetes connector (which addresses the Connect
 * gateway by the membership's location and id).
 */

/** `//gkehub.googleapis.com/projects/P/locations/L/memberships/ID` or a bare name → `projects/P/locations/L/memberships/ID`. */
export function membershipResourceName(name: string): string {
  return name.replace(/^\/\/gkehub\.googleapis\.com\//, '');
}

/** Parses `projects/P/locations/L/memberships/ID`. */
export function parseMembershipName(
  name: string,
): { project: string; location: string; id: string } | undefined {
  const match = /^projects\/([^/]+)\/locations\/([^/]+)\/memberships\/([^/]+)$/.exec(
    membershipResourceName(name),
  );
  return match ? { project: match[1], location: match[2], id: match[3] } : undefined;
}
