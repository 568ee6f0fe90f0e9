import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudEvent } from '@google-cloud/functions-framework';
import fc from 'fast-check';
import { clusterAuditEntry, serviceAuditEntry } from '../../sandbox/audit/entries';
import { PermanentError } from '../../shared/errors';
import { auditEventFromCloudEvent, parseLogEntry, routeAuditEntry } from '../../shared/events/audit';
import type { ClusterRef, DomainEvent, LogEntry } from '../../shared/events/types';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited freely to make hostile variants
type Json = any;

const audit = (name: string): Json =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/audit', name), 'utf8'));
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const edit = (name: string, mutate: (entry: Json) => void) => {
  const entry = audit(name);
  mutate(entry);
  return bytes(entry);
};

const EVENT_ID = '12938475061829374';
const PUBLISHED = '2024-12-07T08:00:00.250Z';

/** An Eventarc-delivered Pub/Sub CloudEvent carrying `data` (bytes are base64-encoded, a string is sent as is). */
function eventOf(data: Buffer | string): CloudEvent<unknown> {
  return {
    id: EVENT_ID,
    source: '//pubsub.googleapis.com/projects/acme-spokes-prod/topics/spokefleet-audit',
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: PUBLISHED,
    data: {
      message: {
        data: Buffer.isBuffer(data) ? data.toString('base64') : data,
        messageId: EVENT_ID,
        publishTime: PUBLISHED,
        attributes: { 'logging.googleapis.com/timestamp': '2024-12-07T07:59:59.1Z' },
      },
      subscription: 'projects/acme-spokes-prod/subscriptions/eventarc-us-east4-spokefleet-audit-419',
    },
  };
}

const cluster1: ClusterRef = {
  project: 'acme-spokes-prod',
  location: 'us-east4-a',
  name: 'gke-us-east4-cluster-1',
};
const cluster2: ClusterRef = {
  project: 'acme-spokes-prod',
  location: 'us-east4',
  name: 'gke-us-east4-cluster-2',
};
const ALICE = 'dev-alice@acme.example';
const ADMIN = 'platform-admin@acme.example';

type Case = { name: string; input: Buffer | CloudEvent<unknown> } & (
  | { expected: DomainEvent }
  | { reason: string /** What the message must quote for the operator reading it. */; says?: string }
);

const cases: Case[] = [
  // What Spokefleet acts on.
  {
    name: 'CreateCluster v1, last entry, zonal (zones/ resourceName, no principal)',
    input: bytes(audit('create-cluster-v1-last-zonal.json')),
    expected: {
      kind: 'ClusterReady',
      cluster: cluster1,
      eventId: EVENT_ID,
      time: '2024-12-05T15:37:13.512347915Z',
    },
  },
  {
    name: 'CreateCluster v1beta1, last entry, regional (locations/ resourceName)',
    input: bytes(audit('create-cluster-v1beta1-last-regional.json')),
    expected: {
      kind: 'ClusterReady',
      cluster: cluster2,
      eventId: EVENT_ID,
      time: '2024-12-05T16:19:41.073624118Z',
    },
  },
  {
    name: 'DeleteCluster v1, last entry',
    input: bytes(audit('delete-cluster-v1-last.json')),
    expected: {
      kind: 'ClusterDeleted',
      cluster: cluster1,
      eventId: EVENT_ID,
      time: '2024-12-06T09:09:47.902118443Z',
    },
  },
  {
    name: 'CreateCluster last entry without resourceName (labels alone name the cluster)',
    input: edit('create-cluster-v1-last-zonal.json', (e) => delete e.protoPayload.resourceName),
    expected: {
      kind: 'ClusterReady',
      cluster: cluster1,
      eventId: EVENT_ID,
      time: '2024-12-05T15:37:13.512347915Z',
    },
  },
  {
    name: 'CreateCluster last entry of a zonal cluster named with locations/',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName =
        'projects/acme-spokes-prod/locations/us-east4-a/clusters/gke-us-east4-cluster-1';
    }),
    expected: {
      kind: 'ClusterReady',
      cluster: cluster1,
      eventId: EVENT_ID,
      time: '2024-12-05T15:37:13.512347915Z',
    },
  },
  {
    name: 'an entry without timestamp takes the publish time',
    input: edit('create-cluster-v1-last-zonal.json', (e) => delete e.timestamp),
    expected: { kind: 'ClusterReady', cluster: cluster1, eventId: EVENT_ID, time: PUBLISHED },
  },
  {
    name: 'Service create',
    input: bytes(audit('k8s-service-create.json')),
    expected: {
      kind: 'ServiceChanged',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      method: 'create',
      eventId: EVENT_ID,
      time: '2024-12-06T11:02:21.057586Z',
      principal: ALICE,
    },
  },
  {
    name: 'Service update',
    input: bytes(audit('k8s-service-update.json')),
    expected: {
      kind: 'ServiceChanged',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      method: 'update',
      eventId: EVENT_ID,
      time: '2024-12-06T11:05:02.318224Z',
      principal: ALICE,
    },
  },
  {
    name: 'Service patch (kubectl label)',
    input: bytes(audit('k8s-service-patch.json')),
    expected: {
      kind: 'ServiceChanged',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      method: 'patch',
      eventId: EVENT_ID,
      time: '2024-12-06T11:07:44.902117Z',
      principal: ALICE,
    },
  },
  {
    name: 'Service delete',
    input: bytes(audit('k8s-service-delete.json')),
    expected: {
      kind: 'ServiceDeleted',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      eventId: EVENT_ID,
      time: '2024-12-06T11:30:15.661203Z',
      principal: ALICE,
    },
  },
  {
    name: 'bodies naming another Service change nothing: the resourceName decides',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.request = { metadata: { name: 'evil', namespace: 'kube-system', labels: { x: 'y' } } };
      e.protoPayload.response.metadata.name = 'evil';
      e.protoPayload.response.metadata.namespace = 'kube-system';
    }),
    expected: {
      kind: 'ServiceChanged',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      method: 'patch',
      eventId: EVENT_ID,
      time: '2024-12-06T11:07:44.902117Z',
      principal: ALICE,
    },
  },
  {
    name: 'a Service write by system:anonymous keeps that principal for the caller to judge',
    input: edit('k8s-service-create.json', (e) => {
      e.protoPayload.authenticationInfo.principalEmail = 'system:anonymous';
    }),
    expected: {
      kind: 'ServiceChanged',
      cluster: cluster2,
      namespace: 'mcs-common',
      service: 'nginx',
      method: 'create',
      eventId: EVENT_ID,
      time: '2024-12-06T11:02:21.057586Z',
      principal: 'system:anonymous',
    },
  },

  // Well-formed entries Spokefleet acknowledges without work.
  {
    name: 'CreateCluster v1 first entry (still provisioning)',
    input: bytes(audit('create-cluster-v1-first-zonal.json')),
    expected: ignored('operation-not-finished', '2024-12-05T15:31:12.114221448Z', ADMIN),
  },
  {
    name: 'CreateCluster v1beta1 first entry',
    input: bytes(audit('create-cluster-v1beta1-first-regional.json')),
    expected: ignored('operation-not-finished', '2024-12-05T16:11:58.552907361Z', ADMIN),
  },
  {
    name: 'DeleteCluster first entry',
    input: bytes(audit('delete-cluster-v1-first.json')),
    expected: ignored('operation-not-finished', '2024-12-06T09:05:03.417223901Z', ADMIN),
  },
  {
    name: 'CreateCluster refused up front (status 3, no operation)',
    input: bytes(audit('create-cluster-failed.json')),
    expected: ignored('operation-failed', '2024-12-05T17:02:28.271939253Z', ADMIN),
  },
  {
    name: 'CreateCluster that failed while provisioning (last entry, status 8)',
    input: bytes(audit('create-cluster-v1-last-failed.json')),
    expected: ignored('operation-failed', '2024-12-05T17:20:01.834556102Z'),
  },
  {
    name: 'a failed create naming an invalid cluster is ignored, not refused',
    input: edit('create-cluster-failed.json', (e) => {
      e.resource.labels.cluster_name = 'Bad_Name';
      e.protoPayload.resourceName = 'projects/acme-spokes-prod/zones/us-east4-a/clusters/Bad_Name';
    }),
    expected: ignored('operation-failed', '2024-12-05T17:02:28.271939253Z', ADMIN),
  },
  {
    name: 'UpdateCluster',
    input: bytes(audit('update-cluster-v1-last.json')),
    expected: ignored('unsupported-method', '2024-12-06T10:14:02.551034116Z'),
  },
  {
    name: 'Service create refused by Kubernetes (409, status 10)',
    input: bytes(audit('k8s-service-create-conflict.json')),
    expected: ignored('request-failed', '2024-12-06T11:40:43.126037Z', ALICE),
  },
  {
    name: 'Pod create',
    input: bytes(audit('k8s-pod-create.json')),
    expected: ignored(
      'unsupported-method',
      '2024-12-06T11:02:25.771042Z',
      'system:serviceaccount:kube-system:replicaset-controller',
    ),
  },
  {
    name: 'ServiceExport create',
    input: bytes(audit('k8s-serviceexport-create.json')),
    expected: ignored(
      'unsupported-method',
      '2024-12-06T11:08:03.004412Z',
      'spokefleet@acme-spokes-prod.iam.gserviceaccount.com',
    ),
  },
  {
    name: 'Service status subresource patch',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.methodName = 'io.k8s.core.v1.services.status.patch';
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-common/services/nginx/status';
    }),
    expected: ignored('unsupported-method', '2024-12-06T11:07:44.902117Z', ALICE),
  },
  {
    name: 'a data-access get',
    input: bytes(audit('k8s-service-get-data-access.json')),
    expected: ignored('data-access-log', '2024-12-06T11:09:12.330951Z', ALICE),
  },
  {
    name: 'Compute instances.insert',
    input: bytes(audit('compute-instance-insert.json')),
    expected: ignored('unsupported-service', '2024-12-06T13:00:22.169331Z', ADMIN),
  },
  {
    name: 'a non-audit entry (jsonPayload)',
    input: bytes({
      jsonPayload: { message: 'hello' },
      logName: 'projects/acme-spokes-prod/logs/app',
      timestamp: '2024-12-06T13:00:22Z',
    }),
    expected: ignored('not-audit-log', '2024-12-06T13:00:22Z'),
  },
  {
    name: 'a protoPayload that is not an AuditLog, on an otherwise actionable entry',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload['@type'] = 'type.googleapis.com/google.cloud.bigquery.logging.v1.AuditData';
    }),
    expected: ignored('not-audit-log', '2024-12-05T15:37:13.512347915Z'),
  },
  {
    name: 'an audit entry from the system-event log',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.logName = 'projects/acme-spokes-prod/logs/cloudaudit.googleapis.com%2Fsystem_event';
    }),
    expected: ignored('not-admin-activity-log', '2024-12-05T15:37:13.512347915Z'),
  },
  {
    name: 'an audit entry without logName',
    input: edit('k8s-service-create.json', (e) => delete e.logName),
    expected: ignored('not-admin-activity-log', '2024-12-06T11:02:21.057586Z', ALICE),
  },

  // Malformed or hostile: refused with a PermanentError and its reason.
  { name: 'message data that is not base64', input: eventOf('not base64!'), reason: 'data-not-base64' },
  {
    name: 'bytes that are not JSON',
    input: Buffer.from('{"protoPayload": '),
    reason: 'not-json',
    says: 'LogEntry is not JSON',
  },
  {
    name: 'bytes that are not UTF-8',
    input: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
    reason: 'not-utf8',
    says: 'LogEntry',
  },
  {
    name: 'a JSON array',
    input: bytes([audit('create-cluster-v1-last-zonal.json')]),
    reason: 'not-object',
    says: 'LogEntry must be a JSON object, got an array',
  },
  { name: 'a JSON number', input: Buffer.from('42'), reason: 'not-object', says: 'got a number' },
  { name: 'JSON null', input: Buffer.from('null'), reason: 'not-object', says: 'got null' },
  { name: 'a JSON string', input: Buffer.from('"protoPayload"'), reason: 'not-object', says: 'got a string' },
  {
    name: 'a huge payload',
    input: edit('k8s-service-create.json', (e) => {
      e.protoPayload.request.metadata.annotations = { big: 'x'.repeat(600 * 1024) };
    }),
    reason: 'payload-too-large',
  },
  {
    name: 'deep nesting',
    input: Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    reason: 'too-deep',
    says: 'nests deeper than 64 levels',
  },
  {
    name: 'deep nesting inside a real entry',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.request = JSON.parse(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`);
    }),
    reason: 'too-deep',
  },
  {
    name: 'missing resource labels',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels = { project_id: 'acme-spokes-prod' };
    }),
    reason: 'missing-resource-labels',
    says: 'project_id, location and cluster_name',
  },
  {
    name: 'no resource at all',
    input: edit('create-cluster-v1-last-zonal.json', (e) => delete e.resource),
    reason: 'wrong-resource-type',
    says: 'resource.type undefined, expected gke_cluster',
  },
  {
    name: 'a CreateCluster entry on a k8s_cluster resource',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.type = 'k8s_cluster';
    }),
    reason: 'wrong-resource-type',
    says: 'resource.type "k8s_cluster"',
  },
  {
    name: 'a Service entry on a gke_cluster resource',
    input: edit('k8s-service-create.json', (e) => {
      e.resource.type = 'gke_cluster';
    }),
    reason: 'wrong-resource-type',
  },
  {
    name: 'resource label values that are not strings',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels.cluster_name = ['gke-us-east4-cluster-1'];
    }),
    reason: 'invalid-log-entry',
    says: 'resource.labels.cluster_name',
  },
  {
    name: 'a Service resourceName with ..',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/../services/nginx';
    }),
    reason: 'malformed-resource-name',
  },
  {
    name: 'a Service resourceName with an extra segment',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-common/services/nginx/proxy';
    }),
    reason: 'malformed-resource-name',
    says: '"core/v1/namespaces/mcs-common/services/nginx/proxy"',
  },
  {
    name: 'a Service resourceName with an empty segment',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces//services/nginx';
    }),
    reason: 'malformed-resource-name',
  },
  {
    name: 'a Service resourceName of another kind',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-common/secrets/nginx';
    }),
    reason: 'malformed-resource-name',
  },
  {
    name: 'a Service entry without resourceName',
    input: edit('k8s-service-delete.json', (e) => delete e.protoPayload.resourceName),
    reason: 'malformed-resource-name',
  },
  {
    name: 'a namespace that is not DNS-1123',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/MCS_Common/services/nginx';
    }),
    reason: 'invalid-namespace',
    says: '"MCS_Common"',
  },
  {
    name: 'a namespace with a Cyrillic look-alike letter',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-c\u043emmon/services/nginx';
    }),
    reason: 'invalid-namespace',
  },
  {
    name: 'a percent-encoded slash in the namespace',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-common%2Fx/services/nginx';
    }),
    reason: 'invalid-namespace',
  },
  {
    name: 'a Service name starting with a digit (not DNS-1035)',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = 'core/v1/namespaces/mcs-common/services/1nginx';
    }),
    reason: 'invalid-service-name',
    says: '"1nginx"',
  },
  {
    name: 'a 64-character Service name',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = `core/v1/namespaces/mcs-common/services/${'n'.repeat(64)}`;
    }),
    reason: 'invalid-service-name',
  },
  {
    name: 'a cluster name with a Cyrillic look-alike letter',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels.cluster_name = 'gke-us-e\u0430st4-cluster-1';
    }),
    reason: 'invalid-cluster-name',
  },
  {
    name: 'a 41-character cluster name',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels.cluster_name = `g${'k'.repeat(40)}`;
    }),
    reason: 'invalid-cluster-name',
  },
  {
    name: 'a cluster name ending in a hyphen',
    input: edit('k8s-service-create.json', (e) => {
      e.resource.labels.cluster_name = 'gke-us-east4-cluster-';
    }),
    reason: 'invalid-cluster-name',
    says: '"gke-us-east4-cluster-"',
  },
  {
    name: 'a 5-character project id',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels.project_id = 'acme1';
    }),
    reason: 'invalid-project-id',
    says: '"acme1"',
  },
  {
    name: 'a project id with upper case',
    input: edit('k8s-service-create.json', (e) => {
      e.resource.labels.project_id = 'Acme-Spokes-Prod';
    }),
    reason: 'invalid-project-id',
  },
  {
    name: 'a location with fullwidth digits',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.resource.labels.location = 'us-east\uff14-a';
    }),
    reason: 'invalid-location',
  },
  {
    name: 'a location that is a path',
    input: edit('k8s-service-create.json', (e) => {
      e.resource.labels.location = '../us-east4';
    }),
    reason: 'invalid-location',
    says: '"../us-east4"',
  },
  {
    name: 'a resourceName naming another cluster than the labels',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName =
        'projects/acme-spokes-prod/zones/us-east4-a/clusters/gke-us-east4-cluster-9';
    }),
    reason: 'resource-name-mismatch',
    says: '"projects/acme-spokes-prod/zones/us-east4-a/clusters/gke-us-east4-cluster-9"',
  },
  {
    name: 'a resourceName in another project than the labels',
    input: edit('delete-cluster-v1-last.json', (e) => {
      e.protoPayload.resourceName =
        'projects/other-project-1/zones/us-east4-a/clusters/gke-us-east4-cluster-1';
    }),
    reason: 'resource-name-mismatch',
  },
  {
    name: 'a cluster resourceName without location',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName = 'projects/acme-spokes-prod/clusters/gke-us-east4-cluster-1';
    }),
    reason: 'malformed-resource-name',
    says: '"projects/acme-spokes-prod/clusters/gke-us-east4-cluster-1"',
  },
  {
    name: 'a cluster resourceName with .. and extra segments',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName =
        'projects/acme-spokes-prod/zones/us-east4-a/clusters/../clusters/gke-us-east4-cluster-1';
    }),
    reason: 'malformed-resource-name',
  },
  // One defect each, so every check is the one that decides.
  ...[
    'projects/acme-spokes-prod/zones/us-east4-a/clusters/gke-us-east4-cluster-1/nodePools',
    'projects//zones/us-east4-a/clusters/gke-us-east4-cluster-1',
    'projects/acme-spokes-prod/zones/./clusters/gke-us-east4-cluster-1',
    'projects/acme-spokes-prod/zones/us-east4-a/clusters/..',
    'folders/acme-spokes-prod/zones/us-east4-a/clusters/gke-us-east4-cluster-1',
    'projects/acme-spokes-prod/regions/us-east4-a/clusters/gke-us-east4-cluster-1',
    'projects/acme-spokes-prod/zones/us-east4-a/nodePools/gke-us-east4-cluster-1',
    `projects/acme-spokes-prod/zones/us-east4-a/clusters/${'x'.repeat(461)}`,
  ].map(
    (resourceName): Case => ({
      name: `a malformed cluster resourceName (${resourceName.length} characters): ${resourceName.slice(0, 80)}`,
      input: edit('create-cluster-v1-last-zonal.json', (e) => {
        e.protoPayload.resourceName = resourceName;
      }),
      reason: 'malformed-resource-name',
    }),
  ),
  {
    name: 'a 512-character cluster resourceName naming another cluster',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName = `projects/acme-spokes-prod/zones/us-east4-a/clusters/${'x'.repeat(460)}`;
    }),
    reason: 'resource-name-mismatch',
  },
  {
    name: 'a resourceName in another zone than the labels',
    input: edit('create-cluster-v1-last-zonal.json', (e) => {
      e.protoPayload.resourceName =
        'projects/acme-spokes-prod/zones/us-east4-b/clusters/gke-us-east4-cluster-1';
    }),
    reason: 'resource-name-mismatch',
  },
  ...[
    'core/v1/namespaces/./services/nginx',
    'apps/v1/namespaces/mcs-common/services/nginx',
    'core/v2/namespaces/mcs-common/services/nginx',
    'core/v1/nodes/mcs-common/services/nginx',
    `core/v1/namespaces/${'a'.repeat(479)}/services/nginx`,
  ].map(
    (resourceName): Case => ({
      name: `a malformed Service resourceName (${resourceName.length} characters): ${resourceName.slice(0, 80)}`,
      input: edit('k8s-service-patch.json', (e) => {
        e.protoPayload.resourceName = resourceName;
      }),
      reason: 'malformed-resource-name',
    }),
  ),
  {
    name: 'a 512-character Service resourceName, its namespace too long',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.resourceName = `core/v1/namespaces/${'a'.repeat(478)}/services/nginx`;
    }),
    reason: 'invalid-namespace',
  },
  {
    name: 'a gke_cluster resource without labels',
    input: edit('create-cluster-v1-last-zonal.json', (e) => delete e.resource.labels),
    reason: 'missing-resource-labels',
  },
  ...['project_id', 'location', 'cluster_name'].map(
    (label): Case => ({
      name: `resource labels without ${label}`,
      input: edit('delete-cluster-v1-last.json', (e) => delete e.resource.labels[label]),
      reason: 'missing-resource-labels',
    }),
  ),
  {
    name: 'a principal forged as a number',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.authenticationInfo.principalEmail = 12345;
    }),
    reason: 'invalid-log-entry',
  },
  {
    name: 'a principal forged as an object',
    input: edit('k8s-service-patch.json', (e) => {
      e.protoPayload.authenticationInfo.principalEmail = { toString: 'spokefleet@acme-spokes-prod.iam' };
    }),
    reason: 'invalid-log-entry',
  },
  {
    name: 'operation.last as the string "true"',
    input: edit('create-cluster-v1-first-zonal.json', (e) => {
      e.operation = { ...e.operation, first: undefined, last: 'true' };
    }),
    reason: 'invalid-log-entry',
  },
  {
    name: 'status.code as a string',
    input: edit('create-cluster-v1-last-failed.json', (e) => {
      e.protoPayload.status.code = '0';
    }),
    reason: 'invalid-log-entry',
    says: 'protoPayload.status.code',
  },
  {
    name: 'a timestamp that is not RFC 3339',
    input: edit('k8s-service-create.json', (e) => {
      e.timestamp = '2024-12-06 11:02:21';
    }),
    reason: 'invalid-log-entry',
  },
  {
    name: 'protoPayload as an array',
    input: edit('k8s-service-create.json', (e) => {
      e.protoPayload = [e.protoPayload];
    }),
    reason: 'invalid-log-entry',
  },
  {
    name: 'a CloudEvent of the wrong type',
    input: {
      ...eventOf(bytes(audit('create-cluster-v1-last-zonal.json'))),
      type: 'google.cloud.audit.log.v1.written',
    },
    reason: 'wrong-event-type',
  },
  {
    name: 'a CloudEvent whose data is a string',
    input: { ...eventOf(bytes({})), data: JSON.stringify(audit('create-cluster-v1-last-zonal.json')) },
    reason: 'data-not-object',
  },
];

function ignored(reason: string, time: string, principal?: string): DomainEvent {
  return { kind: 'Ignored', reason, eventId: EVENT_ID, time, ...(principal ? { principal } : {}) };
}

describe('events/audit: CloudEvent → LogEntry → DomainEvent', () => {
  it('has a table of at least 40 inputs, 20 of them refused', () => {
    assert.ok(cases.length >= 40);
    assert.ok(cases.filter((c) => 'reason' in c).length >= 20);
  });

  for (const c of cases) {
    const event = Buffer.isBuffer(c.input) ? eventOf(c.input) : c.input;
    if ('expected' in c) {
      it(`${c.expected.kind}: ${c.name}`, () => {
        assert.deepStrictEqual(auditEventFromCloudEvent(event), c.expected);
      });
    } else {
      it(`refuses ${c.name} (${c.reason})`, () => {
        assert.throws(() => auditEventFromCloudEvent(event), permanent(c.reason, c.says));
      });
    }
  }

  it('a __proto__ key in the entry neither pollutes prototypes nor changes the routing', () => {
    const text = JSON.stringify(audit('k8s-service-patch.json')).replace(
      '"protoPayload":{',
      '"protoPayload":{"__proto__":{"polluted":true,"resourceName":"core/v1/namespaces/kube-system/services/x"},',
    );
    const entry = parseLogEntry(Buffer.from(`{"__proto__":{"polluted":true},${text.slice(1)}`));
    const event = routeAuditEntry(entry, { eventId: EVENT_ID });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(event.kind === 'ServiceChanged');
    assert.equal(event.namespace, 'mcs-common');
  });
});

describe('events/audit: what a refusal tells the operator', () => {
  const refusal = (input: Buffer) => {
    try {
      auditEventFromCloudEvent(eventOf(input));
    } catch (error) {
      assert.ok(error instanceof PermanentError);
      return error;
    }
    assert.fail('not refused');
  };

  it('a hostile value is quoted cut to 100 characters', () => {
    const resourceName = `projects/acme-spokes-prod/zones/us-east4-a/clusters/${'x'.repeat(600)}`;
    const error = refusal(
      edit('create-cluster-v1-last-zonal.json', (e) => {
        e.protoPayload.resourceName = resourceName;
      }),
    );
    assert.equal(error.reason, 'malformed-resource-name');
    assert.ok(error.message.includes(JSON.stringify(resourceName.slice(0, 100))), error.message);
    assert.ok(!error.message.includes(resourceName.slice(0, 101)), error.message);
  });

  it('every schema problem is named by its path, the list cut to 1000 characters', () => {
    const error = refusal(
      edit('k8s-service-patch.json', (e) => {
        e.operation = { last: 'yes' };
        e.protoPayload.authorizationInfo = Array.from({ length: 200 }, () => ({ granted: 'yes' }));
      }),
    );
    assert.equal(error.reason, 'invalid-log-entry');
    assert.ok(error.message.includes('operation.last: '), error.message);
    assert.ok(error.message.includes('protoPayload.authorizationInfo.0.granted: '), error.message);
    assert.ok(error.message.length <= 'not a LogEntry: '.length + 1000, `${error.message.length} characters`);
  });
});

describe('events/audit: routeAuditEntry', () => {
  it('an entry without timestamp, routed without a publish time, has no time', () => {
    const entry = parseLogEntry(edit('delete-cluster-v1-last.json', (e) => delete e.timestamp));
    assert.deepStrictEqual(routeAuditEntry(entry, { eventId: EVENT_ID }), {
      kind: 'ClusterDeleted',
      cluster: cluster1,
      eventId: EVENT_ID,
    });
  });
});

describe('events/audit: the sandbox builders agree with Google-shaped fixtures', () => {
  const created = audit('k8s-service-create.json').protoPayload;
  const updated = audit('k8s-service-update.json').protoPayload;
  const patched = audit('k8s-service-patch.json').protoPayload;
  const deleted = audit('k8s-service-delete.json').protoPayload;
  const strip = ({ '@type': _, ...body }: Json) => body;
  const svc = { cluster: cluster2, namespace: 'mcs-common', name: 'nginx', principal: ALICE };
  const cluster3 = { ...cluster1, name: 'gke-us-east4-cluster-3' };
  const cluster4 = { ...cluster1, name: 'gke-us-east4-cluster-4' };
  const pairs: Array<{ fixture: string; built: LogEntry }> = [
    {
      fixture: 'create-cluster-v1-first-zonal.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'first',
        cluster: cluster1,
        operationId: 'op-1',
        principal: ADMIN,
        request: {},
        response: {},
      }),
    },
    {
      fixture: 'create-cluster-v1-last-zonal.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        cluster: cluster1,
        operationId: 'op-1',
      }),
    },
    {
      fixture: 'create-cluster-v1beta1-first-regional.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'first',
        apiVersion: 'v1beta1',
        cluster: cluster2,
        operationId: 'op-2',
        principal: ADMIN,
      }),
    },
    {
      fixture: 'create-cluster-v1beta1-last-regional.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        apiVersion: 'v1beta1',
        cluster: cluster2,
        operationId: 'op-2',
      }),
    },
    {
      fixture: 'create-cluster-failed.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'first',
        cluster: cluster3,
        operationId: 'op-3',
        principal: ADMIN,
        statusCode: 3,
        statusMessage: 'No valid versions',
      }),
    },
    {
      fixture: 'create-cluster-v1-last-failed.json',
      built: clusterAuditEntry({
        method: 'CreateCluster',
        phase: 'last',
        cluster: cluster4,
        operationId: 'op-4',
        statusCode: 8,
        statusMessage: 'quota',
      }),
    },
    {
      fixture: 'delete-cluster-v1-first.json',
      built: clusterAuditEntry({
        method: 'DeleteCluster',
        phase: 'first',
        cluster: cluster1,
        operationId: 'op-5',
        principal: ADMIN,
      }),
    },
    {
      fixture: 'delete-cluster-v1-last.json',
      built: clusterAuditEntry({
        method: 'DeleteCluster',
        phase: 'last',
        cluster: cluster1,
        operationId: 'op-5',
      }),
    },
    {
      fixture: 'update-cluster-v1-last.json',
      built: clusterAuditEntry({
        method: 'UpdateCluster',
        phase: 'last',
        cluster: cluster2,
        operationId: 'op-6',
      }),
    },
    {
      fixture: 'k8s-service-create.json',
      built: serviceAuditEntry({
        ...svc,
        verb: 'create',
        request: strip(created.request),
        response: strip(created.response),
      }),
    },
    {
      fixture: 'k8s-service-update.json',
      built: serviceAuditEntry({
        ...svc,
        verb: 'update',
        request: strip(updated.request),
        response: strip(updated.response),
      }),
    },
    {
      fixture: 'k8s-service-patch.json',
      built: serviceAuditEntry({
        ...svc,
        verb: 'patch',
        request: strip(patched.request),
        response: strip(patched.response),
      }),
    },
    {
      fixture: 'k8s-service-delete.json',
      built: serviceAuditEntry({
        ...svc,
        verb: 'delete',
        request: strip(deleted.request),
        response: strip(deleted.response),
      }),
    },
    {
      fixture: 'k8s-service-create-conflict.json',
      built: serviceAuditEntry({ ...svc, verb: 'create', statusCode: 10 }),
    },
  ];

  for (const { fixture, built } of pairs) {
    it(`${fixture}: the builder writes no field Google does not, and routes the same`, () => {
      const real = audit(fixture);
      const extra = keyPaths(built).filter((p) => !keyPaths(real).includes(p));
      assert.deepStrictEqual(extra, []);
      assert.deepStrictEqual(
        Object.keys(built.operation ?? {}).sort(),
        Object.keys(real.operation ?? {}).sort(),
      );
      // Through the same bytes path as a sink message; the timestamps differ, everything else must not.
      const route = (entry: unknown) => {
        const { time: _, ...event } = auditEventFromCloudEvent(eventOf(bytes(entry)));
        return event;
      };
      assert.deepStrictEqual(route(built), route(real));
    });
  }
});

describe('events/audit: nothing but PermanentError escapes', () => {
  const outcome = (run: () => unknown) => {
    try {
      run();
      return 'ok';
    } catch (error) {
      if (error instanceof PermanentError) return 'permanent';
      throw error;
    }
  };

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
        outcome(() => auditEventFromCloudEvent(eventOf(Buffer.from(data))));
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('random JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        outcome(() => auditEventFromCloudEvent(eventOf(bytes(value))));
      }),
      { numRuns: 300, seed: 2 },
    );
  });

  it('random CloudEvent shapes', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (data, message) => {
        const event = eventOf(Buffer.from('{}'));
        outcome(() => auditEventFromCloudEvent({ ...event, data }));
        outcome(() => auditEventFromCloudEvent({ ...event, data: { message } }));
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('real entries with random fields replaced or removed', () => {
    const bases = [
      'create-cluster-v1-last-zonal.json',
      'delete-cluster-v1-last.json',
      'k8s-service-patch.json',
      'k8s-service-delete.json',
      'create-cluster-v1-first-zonal.json',
      'compute-instance-insert.json',
    ].map(audit);
    const paths = [
      'logName',
      'timestamp',
      'operation',
      'operation.last',
      'resource',
      'resource.type',
      'resource.labels',
      'resource.labels.project_id',
      'resource.labels.location',
      'resource.labels.cluster_name',
      'protoPayload',
      'protoPayload.@type',
      'protoPayload.serviceName',
      'protoPayload.methodName',
      'protoPayload.resourceName',
      'protoPayload.status',
      'protoPayload.status.code',
      'protoPayload.authenticationInfo.principalEmail',
    ];
    const value = fc.oneof(
      fc.jsonValue(),
      // undefined removes the field; the others are values that move an entry between routes.
      fc.constantFrom<unknown>(
        undefined,
        'gke_cluster',
        'k8s_cluster',
        'container.googleapis.com',
        'k8s.io',
        'io.k8s.core.v1.services.create',
        'google.container.v1.ClusterManager.DeleteCluster',
        'core/v1/namespaces/a/services/b',
        'projects/acme-spokes-prod/locations/us-east4/clusters/x',
        true,
        0,
        3,
        '..',
        '',
      ),
    );
    const input = fc.record({
      base: fc.nat(bases.length - 1),
      mutations: fc.array(fc.tuple(fc.constantFrom(...paths), value), { maxLength: 3 }),
    });
    const seen = new Set<string>();
    fc.assert(
      fc.property(input, ({ base, mutations }) => {
        const entry = structuredClone(bases[base]);
        for (const [path, v] of mutations) setPath(entry, path, v);
        seen.add(outcome(() => seen.add(auditEventFromCloudEvent(eventOf(bytes(entry))).kind)));
      }),
      { numRuns: 500, seed: 4 },
    );
    // The generator reaches every outcome, so the property is not vacuous.
    for (const kind of [
      'ClusterReady',
      'ClusterDeleted',
      'ServiceChanged',
      'ServiceDeleted',
      'Ignored',
      'permanent',
    ]) {
      assert.ok(seen.has(kind), `never produced ${kind}`);
    }
  });
});

/** Sets (or with undefined, deletes) a dotted path, if every parent on the way is still an object. */
function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (node?.[key] === null || typeof node?.[key] !== 'object') return;
    node = node[key];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** Field paths of a LogEntry down to three levels, bodies (request/response) excluded. */
function keyPaths(value: unknown, prefix = '', depth = 0): string[] {
  if (value === null || typeof value !== 'object' || depth > 3) return [];
  if (Array.isArray(value)) return value.length > 0 ? keyPaths(value[0], `${prefix}[].`, depth + 1) : [];
  const paths: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    paths.push(`${prefix}${key}`);
    if (key !== 'request' && key !== 'response')
      paths.push(...keyPaths(child, `${prefix}${key}.`, depth + 1));
  }
  return paths;
}

function permanent(expected: string, says?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof PermanentError, `expected a PermanentError, got ${error}`);
    assert.equal(error.reason, expected);
    if (says !== undefined) assert.ok(error.message.includes(says), `${error.message} does not say ${says}`);
    return true;
  };
}
