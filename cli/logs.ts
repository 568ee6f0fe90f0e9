/**
 * Reading log entries for `spokefleet reconcile --wait`, with @google-cloud/logging's `getEntries` (Cloud Logging
 * `entries.list`): against Google with Application Default Credentials (needs `logging.logEntries.list`, e.g.
 * `roles/logging.viewer`, on the functions' project), or against the sandbox's Logging stand-in over loopback with no
 * credentials (gax's REST transport, as the compute client uses against its stand-in).
 */
import type { Logging } from '@google-cloud/logging';

export interface ReadEntry {
  insertId: string;
  /** RFC 3339. */
  timestamp: string;
  severity: string;
  payload: Record<string, unknown>;
}

export interface LogReader {
  /** Every entry matching `filter` in the project, oldest first (all pages). */
  read(filter: string): Promise<ReadEntry[]>;
  close(): Promise<void>;
}

/** Per call: entries.list answers in well under a second; a stuck read must not stall the wait. */
const CALL_TIMEOUT_MS = 30_000;
const PAGE_SIZE = 1_000;

export function cloudLoggingReader(project: string, endpoint?: string): LogReader {
  let logging: Logging | undefined;
  const client = (): Logging => {
    if (!logging) {
      const { Logging } = require('@google-cloud/logging') as typeof import('@google-cloud/logging');
      if (endpoint) {
        const { PassThroughClient } = require('google-auth-library') as typeof import('google-auth-library');
        const url = new URL(endpoint);
        logging = new Logging({
          projectId: project,
          apiEndpoint: url.hostname,
          port: Number(url.port),
          protocol: 'http',
          fallback: true,
          authClient: new PassThroughClient(),
        } as ConstructorParameters<typeof Logging>[0]);
      } else {
        logging = new Logging({ projectId: project });
      }
    }
    return logging;
  };
  return {
    async read(filter) {
      const out: ReadEntry[] = [];
      let pageToken: string | undefined;
      do {
        const [entries, next] = await client().getEntries({
          resourceNames: [`projects/${project}`],
          filter,
          orderBy: 'timestamp asc',
          pageSize: PAGE_SIZE,
          pageToken,
          autoPaginate: false,
          gaxOptions: { timeout: CALL_TIMEOUT_MS },
        });
        for (const entry of entries) {
          const metadata = entry.metadata as { insertId?: string; timestamp?: unknown; severity?: unknown };
          const at =
            metadata.timestamp instanceof Date ? metadata.timestamp : new Date(String(metadata.timestamp));
          out.push({
            insertId: String(metadata.insertId ?? ''),
            timestamp: at.toISOString(),
            severity: String(metadata.severity ?? 'DEFAULT'),
            payload: (entry.data ?? {}) as Record<string, unknown>,
          });
        }
        pageToken = (next as { pageToken?: string } | undefined)?.pageToken || undefined;
      } while (pageToken);
      return out;
    },
    async close() {
      // The Logging client keeps no connection worth closing beyond its gax client's.
      const service = (logging as unknown as { loggingService?: { close?: () => Promise<void> } } | undefined)
        ?.loggingService;
      await service?.close?.().catch(() => undefined);
    },
  };
}
