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

/**
 * Membership states that end on their own: the membership is being registered or updated (MembershipState.Code in
 * the gkehub v1 API: CREATING, UPDATING, and SERVICE_UPDATING "being updated by the Hub Service").
 */
export const SETTLING_MEMBERSHIP_STATES: ReadonlySet<string> = new Set([
  'CREATING',
  'UPDATING',
  'SERVICE_UPDATING',
]);
