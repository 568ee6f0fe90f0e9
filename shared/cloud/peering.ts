/**
 * PeeringPort on @google-cloud/compute (REST): read the network's peering, update it, and wait on the global
 * operation with `globalOperations.wait` (the server holds the call until DONE or about two minutes).
 * Compute answers 400 "There is a peering operation in progress…" while any peering change runs on either side;
 * shared/errors classifies that 400 as transient, so withRetry simply tries again.
 */
import type {
  GlobalOperationsClient,
  NetworksClient,
  SubnetworksClient,
} from '@google-cloud/compute/build/src/v1';
import { OperationFailedError, orUndefined, type RetryOptions, withRetry } from '../errors';
import { type WaitOptions, waitFor } from './operations';
import type { NetworkOperation, PeeringPort, PeeringState, SubnetRanges } from './ports';

/** The global operations a peering change runs as (Compute's `operationType` is the method name). */
const PEERING_OPERATIONS = new Set(['addPeering', 'removePeering', 'updatePeering']);

const NO_LIBRARY_RETRY = { retry: null } as unknown as Record<string, never>;

export class PeeringAdapter implements PeeringPort {
  constructor(
    private readonly networks: () => NetworksClient,
    private readonly operations: () => GlobalOperationsClient,
    private readonly subnetworks: () => SubnetworksClient,
    private readonly retry: RetryOptions = {},
    private readonly wait: WaitOptions = {},
  ) {}

  async listSubnetRanges(project: string, network: string): Promise<SubnetRanges[] | undefined> {
    const found = await orUndefined(() =>
      withRetry(() => this.networks().get({ project, network }, NO_LIBRARY_RETRY), this.retry),
    );
    if (!found) return undefined;
    const links = found[0].subnetworks ?? [];
    const ranges: SubnetRanges[] = [];
    // One at a time: a VPC has a handful of subnetworks, and this runs once per gateway (its first addition).
    for (const link of links) {
      const match = /projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(link);
      if (!match) continue;
      const [, subnetProject, region, name] = match;
      const read = await orUndefined(() =>
        withRetry(
          () =>
            this.subnetworks().get({ project: subnetProject, region, subnetwork: name }, NO_LIBRARY_RETRY),
          this.retry,
        ),
      );
      // Undefined: deleted between the two reads, it no longer serves anything.
      const subnet = read?.[0];
      if (!subnet?.ipCidrRange) continue;
      ranges.push({
        name,
        region,
        primary: subnet.ipCidrRange,
        secondary: (subnet.secondaryIpRanges ?? []).flatMap((r) => (r.ipCidrRange ? [r.ipCidrRange] : [])),
      });
    }
    return ranges;
  }

  async get(project: string, network: string, peeringName: string): Promise<PeeringState | undefined> {
    const found = await orUndefined(() =>
      withRetry(() => this.networks().get({ project, network }, NO_LIBRARY_RETRY), this.retry),
    );
    const peering = (found?.[0].peerings ?? []).find((p) => p.name === peeringName);
    if (!peering) return undefined;
    return {
      name: peeringName,
      exportCustomRoutes: peering.exportCustomRoutes === true,
      importCustomRoutes: peering.importCustomRoutes === true,
    };
  }

  async update(project: string, network: string, peering: PeeringState): Promise<void> {
    const operationName = await withRetry(async () => {
      const [lro] = await this.networks().updatePeering(
        {
          project,
          network,
          networksUpdatePeeringRequestResource: {
            networkPeering: {
              name: peering.name,
              exportCustomRoutes: peering.exportCustomRoutes,
              importCustomRoutes: peering.importCustomRoutes,
            },
          },
        },
        NO_LIBRARY_RETRY,
      );
      return operationNameOf(lro);
    }, this.retry);
    await this.waitDone(project, operationName);
  }

  async runningPeeringOperations(project: string, network: string): Promise<NetworkOperation[]> {
    // Compute filters on the server (`status != DONE`, as its list methods document); the target is matched here:
    // targetLink is a full URL whose host and version the filter would have to spell out.
    const suffix = `/projects/${project}/global/networks/${network}`;
    const [operations] = await withRetry(
      () =>
        this.operations().list(
          { project, filter: 'status != DONE' },
          { ...NO_LIBRARY_RETRY, autoPaginate: true },
        ),
      this.retry,
    );
    return operations
      .filter(
        (op) =>
          String(op.status) !== 'DONE' &&
          PEERING_OPERATIONS.has(op.operationType ?? '') &&
          (op.targetLink ?? '').endsWith(suffix),
      )
      .map((op) => ({
        name: op.name ?? '',
        type: op.operationType ?? '',
        ...(op.startTime ? { startTime: op.startTime } : {}),
      }));
  }

  waitOperation(project: string, operation: string): Promise<void> {
    return this.waitDone(project, operation);
  }

  private async waitDone(project: string, operation: string): Promise<void> {
    const done = await waitFor(
      `operation ${operation}`,
      async () => {
        const [op] = await withRetry(
          () => this.operations().wait({ project, operation }, NO_LIBRARY_RETRY),
          this.retry,
        );
        return String(op.status) === 'DONE' ? op : undefined;
      },
      { intervalMs: 0, maxIntervalMs: 0, ...this.wait },
    );
    const errors = done.error?.errors ?? [];
    if (errors.length > 0) {
      // The operation's own error carries the same message shapes as a synchronous 4xx, so classify can read it.
      const message = errors.map((e) => e.message ?? e.code ?? 'unknown').join('; ');
      throw new OperationFailedError(operation, message, { http: Number(done.httpErrorStatusCode) || 400 });
    }
  }
}

/** The LRO wrapper gax returns keeps the compute Operation in `latestResponse` (or exposes its `name`). */
function operationNameOf(lro: unknown): string {
  const candidate = lro as { name?: string; latestResponse?: { name?: string } };
  const name = candidate.latestResponse?.name ?? candidate.name;
  if (!name) throw new Error('compute returned no operation name');
  return name;
}
