/**
 * PeeringPort on @google-cloud/compute (REST): read the network's peering, update it, and wait on the global
 * operation with `globalOperations.wait` (the server holds the call until DONE or about two minutes).
 * Compute answers 400 "There is a peering operation in progress…" while any peering change runs on either side;
 * shared/errors classifies that 400 as transient, so withRetry simply tries again.
 */
import type { GlobalOperationsClient, NetworksClient } from '@google-cloud/compute/build/src/v1';
import { isNotFound, type RetryOptions, withRetry } from '../errors';
import { type WaitOptions, waitFor } from './operations';
import type { PeeringPort, PeeringState } from './ports';

const NO_LIBRARY_RETRY = { retry: null } as unknown as Record<string, never>;

export class PeeringAdapter implements PeeringPort {
  constructor(
    private readonly networks: () => NetworksClient,
    private readonly operations: () => GlobalOperationsClient,
    private readonly retry: RetryOptions = {},
    private readonly wait: WaitOptions = {},
  ) {}

  async get(project: string, network: string, peeringName: string): Promise<PeeringState | undefined> {
    try {
      const [net] = await withRetry(
        () => this.networks().get({ project, network }, NO_LIBRARY_RETRY),
        this.retry,
      );
      const peering = (net.peerings ?? []).find((p) => p.name === peeringName);
      if (!peering) return undefined;
      return {
        name: peeringName,
        exportCustomRoutes: peering.exportCustomRoutes === true,
        importCustomRoutes: peering.importCustomRoutes === true,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
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
      throw Object.assign(new Error(`operation ${operation} failed: ${message}`), {
        code: Number(done.httpErrorStatusCode) || 400,
      });
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
