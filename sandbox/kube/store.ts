/**
 * The objects of one cluster, with the bookkeeping the API server does on every write: uid,
 * creationTimestamp, a cluster-wide increasing resourceVersion, generation, and per-kind defaults.
 * Validation, conflicts and permissions belong to the HTTP layer (api.ts); the store is also what the
 * sandbox seeds and dumps directly, so everything it returns is a copy.
 */
import { randomUUID } from 'node:crypto';
import { applyDefaults } from './defaults';
import { deepEqual } from './patch';
import { apiVersionOf, type ResourceType, resourceNamed, resourceOfObject } from './resources';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreChange {
  type: ChangeType;
  resource: ResourceType;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change, for MODIFIED. */
  previous?: KubeObject;
  resourceVersion: number;
}

/** How many changes are kept for watches that resume from a resourceVersion. */
const HISTORY_LIMIT = 1000;
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function timestamp(): string {
  // The API server writes RFC 3339 timestamps with second precision.
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Everything but metadata and status — what a change to bumps metadata.generation. */
function specOf(object: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

export class KubeStore {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly history: StoreChange[] = [];
  /** Changes after this resourceVersion are all in `history`. */
  private historyFrom = 0;
  private counter = 0;
  private clusterIPs = 0;

  /** The cluster's current resourceVersion, as list responses report it. */
  resourceVersion(): string {
    return String(this.counter);
  }

  /** Resolves a plural, singular, short name or Kind (`svc`, `Service`, `services`) or passes a type through. */
  typeOf(kind: string | ResourceType): ResourceType {
    if (typeof kind !== 'string') return kind;
    const type = resourceNamed(kind);
    if (!type) throw new Error(`unknown Kubernetes resource "${kind}"`);
    return type;
  }

  /** Objects of a kind, in one namespace or all, sorted by namespace then name as the API server lists them. */
  list(kind: string | ResourceType, namespace?: string): KubeObject[] {
    const type = this.typeOf(kind);
    const bucket = this.objects.get(type.resource);
    if (!bucket) return [];
    return [...bucket.entries()]
      .filter(([, o]) => namespace === undefined || !type.namespaced || o.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  get(kind: string | ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const type = this.typeOf(kind);
    const found = this.objects.get(type.resource)?.get(keyOf(type.namespaced ? namespace : undefined, name));
    return found && structuredClone(found);
  }

  /**
   * Creates or replaces an object as given (its status included), with the same bookkeeping as the API.
   * For seeding and for the sandbox's own controllers: no validation, no namespace check, no audit.
   */
  put(object: KubeObject): KubeObject {
    const type = resourceOfObject(object.apiVersion, object.kind);
    if (!type) throw new Error(`unknown Kubernetes kind ${object.apiVersion}/${object.kind}`);
    if (type.namespaced && !object.metadata.namespace) {
      object = { ...object, metadata: { ...object.metadata, namespace: 'default' } };
    }
    const existing = object.metadata.name
      ? this.get(type, object.metadata.namespace, object.metadata.name)
      : undefined;
    return existing ? this.replace(type, object, existing) : this.create(type, object);
  }

  /** Deletes an object (a namespace with everything in it) and returns it, or undefined if absent. */
  delete(kind: string | ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.remove(this.typeOf(kind), namespace, name);
  }

  /** Stores a new object: name from generateName if needed, uid, timestamps, resourceVersion, defaults. */
  create(type: ResourceType, input: KubeObject, options: { dryRun?: boolean } = {}): KubeObject {
    const object = structuredClone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const metadata = object.metadata;
    if (type.namespaced) metadata.namespace ??= 'default';
    else delete metadata.namespace;
    if (!metadata.name && metadata.generateName) metadata.name = this.generateName(type, metadata);
    metadata.uid = randomUUID();
    metadata.creationTimestamp = timestamp();
    if (type.generation) metadata.generation = 1;
    else delete metadata.generation;
    delete metadata.deletionTimestamp;
    applyDefaults(type, object, undefined, () => this.allocateClusterIP());
    if (options.dryRun) return object;
    metadata.resourceVersion = String(++this.counter);
    this.bucket(type).set(keyOf(metadata.namespace, metadata.name ?? ''), object);
    this.publish({ type: 'ADDED', resource: type, object, resourceVersion: this.counter });
    return structuredClone(object);
  }

  /** Replaces a stored object, keeping what the server owns (uid, creationTimestamp) and bumping generation on spec changes. */
  replace(
    type: ResourceType,
    input: KubeObject,
    existing: KubeObject,
    options: { dryRun?: boolean } = {},
  ): KubeObject {
    const object = structuredClone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const metadata = object.metadata;
    metadata.name = existing.metadata.name;
    if (type.namespaced) metadata.namespace = existing.metadata.namespace;
    else delete metadata.namespace;
    metadata.uid = existing.metadata.uid;
    metadata.creationTimestamp = existing.metadata.creationTimestamp;
    applyDefaults(type, object, existing, () => this.allocateClusterIP());
    if (type.generation) {
      const generation = existing.metadata.generation ?? 1;
      metadata.generation = deepEqual(specOf(object), specOf(existing)) ? generation : generation + 1;
    } else {
      delete metadata.generation;
    }
    if (options.dryRun) {
      metadata.resourceVersion = existing.metadata.resourceVersion;
      return object;
    }
    metadata.resourceVersion = String(++this.counter);
    this.bucket(type).set(keyOf(metadata.namespace, metadata.name ?? ''), object);
    this.publish({
      type: 'MODIFIED',
      resource: type,
      object,
      previous: existing,
      resourceVersion: this.counter,
    });
    return structuredClone(object);
  }

  /** Removes an object; removing a namespace removes everything in it first, as the namespace controller does. */
  remove(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: { dryRun?: boolean } = {},
  ): KubeObject | undefined {
    const key = keyOf(type.namespaced ? namespace : undefined, name);
    const found = this.objects.get(type.resource)?.get(key);
    if (!found) return undefined;
    if (options.dryRun) return structuredClone(found);
    if (type.resource === 'namespaces') {
      for (const [resource, bucket] of this.objects) {
        for (const [k, o] of bucket) {
          if (o.metadata.namespace !== name || resource === 'namespaces') continue;
          bucket.delete(k);
          this.deleted(this.typeOf(resource), o);
        }
      }
    }
    this.objects.get(type.resource)?.delete(key);
    return structuredClone(this.deleted(type, found));
  }

  /** Calls `listener` synchronously after every committed change; returns the unsubscribe function. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Changes after `resourceVersion`, oldest first; undefined when they are no longer all remembered. */
  changesSince(resourceVersion: number): StoreChange[] | undefined {
    if (resourceVersion < this.historyFrom) return undefined;
    return this.history.filter((c) => c.resourceVersion > resourceVersion);
  }

  private deleted(type: ResourceType, object: KubeObject): KubeObject {
    object.metadata.resourceVersion = String(++this.counter);
    this.publish({ type: 'DELETED', resource: type, object, resourceVersion: this.counter });
    return object;
  }

  private publish(change: StoreChange): void {
    this.history.push(change);
    if (this.history.length > HISTORY_LIMIT) this.historyFrom = this.history.shift()?.resourceVersion ?? 0;
    for (const listener of this.listeners) listener(change);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    let bucket = this.objects.get(type.resource);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(type.resource, bucket);
    }
    return bucket;
  }

  private generateName(type: ResourceType, metadata: ObjectMeta): string {
    for (;;) {
      let suffix = '';
      for (let i = 0; i < 5; i++)
        suffix += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
      const name = `${metadata.generateName}${suffix}`;
      if (!this.get(type, metadata.namespace, name)) return name;
    }
  }

  /** Service IPs from 10.96.0.0/12 like a kubeadm cluster's default range; never reused. */
  private allocateClusterIP(): string {
    const n = ++this.clusterIPs;
    return `10.96.${(n >> 8) & 255}.${n & 255}`;
  }
}
