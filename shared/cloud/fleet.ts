/**
 * FleetPort on googleapis' gkehub v1 (REST): memberships and features, whose writes are long-running operations
 * polled with operations.get. googleapis' own retries are off (`retry: false`); withRetry owns the budget.
 */
import type { gkehub_v1 } from 'googleapis/build/src/apis/gkehub/v1';
import { OperationFailedError, orUndefined, type RetryOptions, withRetry } from '../errors';
import { SETTLING_MEMBERSHIP_STATES } from '../membership-name';
import { type WaitOptions, waitFor } from './operations';
import type { FleetPort, Membership, NewMembership } from './ports';

type Hub = gkehub_v1.Gkehub;
type Operation = gkehub_v1.Schema$Operation;

function toMembership(m: gkehub_v1.Schema$Membership): Membership {
  return {
    name: m.name ?? '',
    resourceLink: m.endpoint?.gkeCluster?.resourceLink ?? undefined,
    labels: m.labels ?? {},
    workloadIdentityPool: m.authority?.workloadIdentityPool ?? undefined,
    state: m.state?.code ?? undefined,
  };
}

export class FleetAdapter implements FleetPort {
  constructor(
    private readonly hub: () => Hub,
    private readonly retry: RetryOptions = {},
    private readonly wait: WaitOptions = {},
  ) {}

  async listMemberships(fleetProject: string): Promise<Membership[]> {
    const memberships: Membership[] = [];
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const { data } = await withRetry(
        () =>
          this.hub().projects.locations.memberships.list({
            parent: `projects/${fleetProject}/locations/-`,
            pageToken: token,
          }),
        this.retry,
      );
      memberships.push(...(data.resources ?? []).map(toMembership));
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    return memberships;
  }

  /** One membership, or undefined when it is gone (awaitMembership polls it while it settles). */
  private async getMembership(name: string): Promise<Membership | undefined> {
    const found = await orUndefined(() =>
      withRetry(() => this.hub().projects.locations.memberships.get({ name }), this.retry),
    );
    return found && toMembership(found.data);
  }

  async createMembership(
    fleetProject: string,
    location: string,
    id: string,
    spec: NewMembership,
  ): Promise<Membership> {
    const name = `projects/${fleetProject}/locations/${location}/memberships/${id}`;
    const { data: operation } = await withRetry(
      () =>
        this.hub().projects.locations.memberships.create({
          parent: `projects/${fleetProject}/locations/${location}`,
          membershipId: id,
          requestBody: {
            labels: spec.labels,
            endpoint: { gkeCluster: { resourceLink: spec.resourceLink } },
            authority: { issuer: spec.issuer },
          },
        }),
      this.retry,
    );
    const done = await this.waitOperation(operation);
    return toMembership(
      (done.response as gkehub_v1.Schema$Membership | undefined) ?? { name, labels: spec.labels },
    );
  }

  async deleteMembership(name: string): Promise<void> {
    const { data: operation } = await withRetry(
      () => this.hub().projects.locations.memberships.delete({ name }),
      this.retry,
    );
    await this.waitOperation(operation);
  }

  async awaitMembership(name: string): Promise<Membership | undefined> {
    // Hub has no call that waits on a membership; its operation id is known only to the call that started it.
    const settled = await waitFor(
      `membership ${name}`,
      async () => {
        const membership = await this.getMembership(name);
        if (!membership) return { gone: true as const };
        return SETTLING_MEMBERSHIP_STATES.has(membership.state ?? '') ? undefined : { membership };
      },
      this.wait,
    );
    return 'membership' in settled ? settled.membership : undefined;
  }

  async setAuthority(name: string, issuer: string): Promise<void> {
    const { data: operation } = await withRetry(
      () =>
        this.hub().projects.locations.memberships.patch({
          name,
          updateMask: 'authority',
          requestBody: { authority: { issuer } },
        }),
      this.retry,
    );
    await this.waitOperation(operation);
  }

  async hasFeature(fleetProject: string, featureId: string): Promise<boolean> {
    const found = await orUndefined(() =>
      withRetry(
        () =>
          this.hub().projects.locations.features.get({
            name: `projects/${fleetProject}/locations/global/features/${featureId}`,
          }),
        this.retry,
      ),
    );
    return found !== undefined;
  }

  async createFeature(
    fleetProject: string,
    featureId: string,
    labels: Record<string, string>,
  ): Promise<void> {
    const { data: operation } = await withRetry(
      () =>
        this.hub().projects.locations.features.create({
          parent: `projects/${fleetProject}/locations/global`,
          featureId,
          requestBody: { labels },
        }),
      this.retry,
    );
    await this.waitOperation(operation);
  }

  private async waitOperation(started: Operation): Promise<Operation> {
    const done = await waitFor(
      `operation ${started.name}`,
      async () => {
        if (started.done) return started;
        const { data } = await withRetry(
          () => this.hub().projects.locations.operations.get({ name: started.name ?? '' }),
          this.retry,
        );
        return data.done ? data : undefined;
      },
      this.wait,
    );
    if (done.error) {
      // google.rpc.Status in the operation (code 2, UNKNOWN, when Hub sends none).
      throw new OperationFailedError(started.name ?? '', done.error.message ?? '', {
        grpc: done.error.code ?? 2,
      });
    }
    return done;
  }
}
