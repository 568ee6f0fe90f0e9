/**
 * Turning command-line scope options into the reconcile request of the reconcile-request schema. Pure, so the parsing table is
 * unit-tested without a cloud. Every request is checked with the same parser the function uses
 * (parseReconcileRequest), so the CLI never publishes a message the function would refuse.
 */

import { parseReconcileRequest, type ReconcileRequest } from '../shared/events/request';
import type { ClusterRef } from '../shared/events/types';

/** A mistake in how the command was called: reported with the usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ScopeOptions {
  cluster?: ClusterRef;
  project?: string;
  fleet?: boolean;
}

/** `--cluster PROJECT/LOCATION/CLUSTER`; names are checked by parseReconcileRequest. */
export function parseClusterArg(value: string): ClusterRef {
  const parts = value.split('/');
  if (parts.length !== 3 || parts.some((p) => p.trim() === '')) {
    throw new UsageError(
      `--cluster must be PROJECT/LOCATION/CLUSTER (e.g. my-project/us-east4/gke-1), got "${value}"`,
    );
  }
  const [project, location, name] = parts;
  return { project, location, name };
}

const TOPIC = /^projects\/[^/\s]+\/topics\/[^/\s]+$/;
/** A topic id as Pub/Sub allows it: starts with a letter, 3–255 of letters, digits and `-_.~+%`, not `goog…`. */
const TOPIC_ID = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

/** `--topic`: a full name `projects/P/topics/T`, or a topic id that `resolveTopic` completes with a project. */
export function parseTopicArg(value: string): string {
  if (TOPIC.test(value) || TOPIC_ID.test(value)) return value;
  throw new UsageError(
    `--topic must be a topic id (with a project) or projects/PROJECT/topics/TOPIC, got "${value}"`,
  );
}

/**
 * The full topic name. A short id takes its project as gcloud does: the `--project` given, else the
 * CLOUDSDK_CORE_PROJECT gcloud reads for `--project`.
 */
export function resolveTopic(topic: string, project: string | undefined, env: NodeJS.ProcessEnv): string {
  if (TOPIC.test(topic)) return topic;
  const owner = project ?? env.CLOUDSDK_CORE_PROJECT;
  if (!owner)
    throw new UsageError(
      `--topic ${topic} needs a project: add --project PROJECT, set CLOUDSDK_CORE_PROJECT, or give projects/PROJECT/topics/${topic}`,
    );
  return `projects/${owner}/topics/${topic}`;
}

/**
 * Exactly one of --cluster, --project, --fleet (or none when `defaultFleet`: status covers the fleet unless told
 * otherwise), plus the request options; validated like the function validates a message.
 */
export function buildRequest(
  scope: ScopeOptions,
  options: { dryRun?: boolean; requestId?: string; defaultFleet?: boolean } = {},
): ReconcileRequest {
  const given = [
    scope.cluster && '--cluster',
    scope.project !== undefined && '--project',
    scope.fleet && '--fleet',
  ].filter((s): s is string => typeof s === 'string');
  if (given.length > 1)
    throw new UsageError(`${given.join(' and ')} cannot be used together; give one scope`);
  if (given.length === 0 && !options.defaultFleet) {
    throw new UsageError('give a scope: --cluster PROJECT/LOCATION/CLUSTER, --project PROJECT or --fleet');
  }
  const base = scope.cluster
    ? {
        scope: 'cluster',
        project: scope.cluster.project,
        location: scope.cluster.location,
        cluster: scope.cluster.name,
      }
    : scope.project !== undefined
      ? { scope: 'project', project: scope.project }
      : { scope: 'fleet' };
  const message = {
    ...base,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.requestId !== undefined ? { requestId: options.requestId } : {}),
  };
  try {
    return parseReconcileRequest(Buffer.from(JSON.stringify(message)));
  } catch (error) {
    // "invalid reconcile request: project: must be a Google Cloud project id; …" → name the flags instead.
    const detail = (error as Error).message.replace(/^invalid reconcile request: /, '');
    throw new UsageError(`invalid reconcile request (${describeScope(message)}): ${flagNames(detail)}`);
  }
}

function flagNames(detail: string): string {
  return detail.replace(/\bcluster: /g, 'cluster name: ').replace(/\brequestId: /g, '--request-id: ');
}

/** `cluster P/L/C`, `project P`, `fleet` — for messages and output. */
export function describeScope(request: {
  scope: string;
  project?: string;
  location?: string;
  cluster?: string;
}): string {
  if (request.scope === 'cluster') return `cluster ${request.project}/${request.location}/${request.cluster}`;
  if (request.scope === 'project') return `project ${request.project}`;
  return 'fleet';
}
