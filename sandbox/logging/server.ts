/**
 * Cloud Logging's read API, `entries.list` (REST `POST /v2/entries:list`), over the JSON lines the sandbox's
 * functions write to stdout — what Cloud Run's logging agent turns into LogEntries. So `spokefleet reconcile --wait`
 * reads the functions' summary lines through @google-cloud/logging here exactly as it does against Google.
 *
 * A line becomes a LogEntry as the structured-logging rules describe ("Structured logging", Cloud Logging docs):
 * `severity`, `timestamp` (`{seconds, nanos}`) and the `logging.googleapis.com/…` fields (`insertId`) become the
 * entry's own fields; every other field — `message` included — stays in `jsonPayload`. The entry's `logName` is `projects/P/logs/run.googleapis.com%2Fstdout` and its
 * resource `cloud_run_revision` with the function's `service_name`, as for a Cloud Run function's stdout.
 * `entries.list` rules kept (Cloud Logging REST reference, entries.list): `resourceNames` is required; `orderBy` is
 * `timestamp asc` (default) or `timestamp desc`; `pageSize` at most 1,000 (default 50); `nextPageToken` while more
 * remain. Filters: the subset in filter.ts, else 400.
 */
import { randomBytes } from 'node:crypto';
import type { FaultInjector } from '../faults';
import { badRequest, type RestServer, startRestServer } from '../google-rest';
import { type EntryPredicate, parseLogFilter, type StoredEntry } from './filter';

/** A source of structured lines: a function's name and the JSON objects it wrote. */
export interface LogSource {
  service: string;
  lines: ReadonlyArray<Record<string, unknown>>;
}

export interface LoggingServerOptions {
  /** The project the functions run in: their entries belong to it. */
  project: string;
  sources: () => readonly LogSource[];
  faults: FaultInjector;
}

interface ListBody {
  resourceNames?: string[];
  filter?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

const SPECIAL = 'logging.googleapis.com/';

/** A structured stdout line → LogEntry (made once per line, so its insertId is stable). */
function toEntry(project: string, service: string, line: Record<string, unknown>): StoredEntry {
  const { severity, timestamp, ...rest } = line;
  // `logging.googleapis.com/…` fields set the entry's own fields (insertId here); they never reach jsonPayload.
  const payload = Object.fromEntries(Object.entries(rest).filter(([key]) => !key.startsWith(SPECIAL)));
  const insertId = rest[`${SPECIAL}insertId`];
  const ts = timestamp as { seconds?: number | string; nanos?: number } | undefined;
  const millis =
    ts && ts.seconds !== undefined
      ? Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)
      : Date.now();
  return {
    insertId: typeof insertId === 'string' && insertId ? insertId : randomBytes(8).toString('hex'),
    logName: `projects/${project}/logs/run.googleapis.com%2Fstdout`,
    timestamp: new Date(millis).toISOString(),
    severity: typeof severity === 'string' ? severity : 'DEFAULT',
    resource: { type: 'cloud_run_revision', labels: { service_name: service, project_id: project } },
    jsonPayload: payload,
  };
}

export async function startLoggingServer(options: LoggingServerOptions): Promise<RestServer> {
  // Entries made once per line, so a line keeps its insertId across reads.
  const made = new WeakMap<object, StoredEntry>();
  const entries = (): StoredEntry[] =>
    options.sources().flatMap((source) =>
      source.lines.map((line) => {
        let entry = made.get(line);
        if (!entry) {
          entry = toEntry(options.project, source.service, line);
          made.set(line, entry);
        }
        return entry;
      }),
    );
  return startRestServer({
    faults: options.faults,
    routes: [
      {
        method: 'POST',
        path: '/v2/entries:list',
        name: 'logging.entries.list',
        kind: 'read',
        handle: ({ body }) => {
          const request = (body ?? {}) as ListBody;
          const names = request.resourceNames ?? [];
          if (names.length === 0) throw badRequest('resourceNames is required.', 'required');
          const order = (request.orderBy ?? 'timestamp asc').trim().toLowerCase();
          if (order !== 'timestamp asc' && order !== 'timestamp desc')
            throw badRequest(`Invalid orderBy: "${request.orderBy}"`, 'invalid');
          const pageSize = request.pageSize ?? 50;
          if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
            throw badRequest('pageSize must be between 1 and 1000.', 'invalid');
          const matches: EntryPredicate = parseLogFilter(request.filter);
          const ours = names.includes(`projects/${options.project}`);
          const found = ours ? entries().filter(matches) : [];
          found.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
          if (order === 'timestamp desc') found.reverse();
          const offset = request.pageToken
            ? Number(Buffer.from(request.pageToken, 'base64url').toString())
            : 0;
          if (!Number.isInteger(offset) || offset < 0) throw badRequest('Invalid pageToken.', 'invalid');
          const page = found.slice(offset, offset + pageSize);
          const more = offset + pageSize < found.length;
          return {
            entries: page,
            ...(more ? { nextPageToken: Buffer.from(String(offset + pageSize)).toString('base64url') } : {}),
          };
        },
      },
    ],
  });
}
