/**
 * One cluster's Kubernetes API over HTTP: authentication by bearer token, discovery, the REST verbs on the
 * resources of resources.ts, Status errors, fault injection per `kube.<resource>.<verb>`, and GKE-style
 * audit entries for Service writes. Transport (TLS, ports) is server.ts's business; a gateway can also mount
 * `handle()` under its own prefix.
 */
import type * as http from 'node:http';
import YAML from 'yaml';
import type { ClusterRef } from '../../shared/events/types';
import { type ServiceVerb, serviceAuditEntry } from '../audit/entries';
import type { AuditSink } from '../audit/sink';
import type { FaultInjector } from '../faults';
import { discoveryDocument } from './discovery';
import {
  checkFields,
  type Directive,
  directiveOf,
  goValue,
  strictDecodingError,
  unmarshalError,
  withoutFields,
} from './field-validation';
import { openApiAnswer } from './openapi';
import { type Json, jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch';
import { decodeKubeProtobuf, PROTOBUF_KINDS, ProtobufError } from './protobuf';
import { apiVersionOf, type ResourceType } from './resources';
import { answerFault, readBody, writeJson } from './respond';
import { isRead, type Route, route } from './routes';
import {
  type FieldRequirement,
  fieldsMatch,
  type LabelRequirement,
  labelsMatch,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from './selectors';
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  invalid,
  KubeError,
  noSuchResource,
  notFound,
  success,
  unauthorized,
  unsupportedMediaType,
} from './status';
import { type KubeObject, KubeStore, timestamp } from './store';
import { objectProblems } from './validation';
import { serveWatch } from './watch';

export interface KubeApiOptions {
  cluster: ClusterRef;
  faults: FaultInjector;
  audit: AuditSink;
  /** Bearer token → principal email; undefined answers 401. */
  principalFor(token: string): string | undefined;
  /**
   * Whether the `net.gke.io` resources (ServiceExport, ServiceImport) are served from the start (default true).
   * On GKE they arrive only after the cluster joins a fleet that has Multi-Cluster Services; the local cloud
   * starts clusters without them and calls `serveMcs()` then.
   */
  mcsServed?: boolean;
}

/** The API group GKE's MCS controller installs (its CRDs) once the cluster is a member of an MCS fleet. */
export const MCS_GROUP = 'net.gke.io';

const DEFAULT_WATCH_TIMEOUT_SECONDS = 1800;
/** Who deletes the Services of a deleted namespace in GKE's audit log. */
export const NAMESPACE_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';

export const INITIAL_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
/** Protobuf only for the kinds kubectl's generators create (see protobuf.ts). */
const OBJECT_MEDIA_TYPES = [
  'application/json',
  'application/yaml',
  `${PROTOBUF} (${PROTOBUF_KINDS.join(', ')})`,
];
const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

interface Request {
  route: Route;
  query: URLSearchParams;
  principal: string;
  userAgent: string;
  contentType: string;
  /** Parsed body; undefined when the request had none. */
  body: unknown;
  dryRun: boolean;
  /** `fieldValidation`: what to do with fields the kind's schema does not know. */
  directive: Directive;
  /** Warnings for the `Warning` response header (unknown fields dropped under Warn). */
  warnings: string[];
}

interface Answer {
  code: number;
  body: unknown;
  /** The Service write to audit once the answer is sent. */
  audit?: { verb: ServiceVerb; namespace: string; name: string; principal: string; request?: unknown };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

export class KubeApi {
  readonly store = new KubeStore();
  private readonly watches = new Set<() => void>();
  private mcsServed: boolean;

  constructor(private readonly options: KubeApiOptions) {
    this.mcsServed = options.mcsServed ?? true;
    // Every GKE cluster starts with these namespaces.
    for (const name of INITIAL_NAMESPACES) {
      this.store.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
  }

  /** Serves one request; `path` is the Kubernetes API path, with or without its query string. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    this.serve(req, res, path).catch((error: unknown) => {
      const status =
        error instanceof KubeError
          ? error.status
          : failure(
              500,
              'InternalError',
              `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`,
            );
      if (!res.headersSent) writeJson(res, status.code, status);
      else res.destroy();
    });
  }

  /** The MCS CRDs are installed: `net.gke.io` appears in discovery and its resources are served. */
  serveMcs(): void {
    this.mcsServed = true;
  }

  get servesMcs(): boolean {
    return this.mcsServed;
  }

  /** Ends every open watch stream (the server is going away). */
  closeWatches(): void {
    for (const stop of [...this.watches]) stop();
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    // Collapse leading slashes so '//x' is not read as a host.
    const url = new URL(path.replace(/^\/+/, '/'), 'http://kube.invalid');
    const query = path.includes('?')
      ? url.searchParams
      : new URL(req.url ?? '/', 'http://kube.invalid').searchParams;
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();

    if (['/healthz', '/livez', '/readyz'].includes(pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    const principal = this.authenticate(req);
    if (!principal) {
      const status = unauthorized();
      writeJson(res, status.code, status);
      return;
    }
    // Discovery and /version are not counted and never faulted: kubectl fetches them before every command.
    const served = (group: string) => group !== MCS_GROUP || this.mcsServed;
    const openApi = method === 'GET' ? openApiAnswer(pathname, req.headers.accept, served) : undefined;
    if (openApi === 'not-acceptable') {
      const status = failure(406, 'NotAcceptable', 'only application/json is served for OpenAPI documents');
      writeJson(res, status.code, status);
      return;
    }
    if (openApi === 'not-found') throw noSuchResource();
    if (openApi !== undefined) {
      writeJson(res, 200, openApi);
      return;
    }
    const discovery =
      method === 'GET' ? discoveryDocument(pathname, req.headers.host ?? '', served) : undefined;
    if (discovery !== undefined) {
      writeJson(res, 200, discovery);
      return;
    }
    const watch = ['1', 'true'].includes(query.get('watch') ?? '');
    const target = route(method, pathname, watch);
    // A resource type whose CRD is not installed: the API server's answer for any unknown path.
    if (!served(target.type.group)) throw noSuchResource();
    const body = isRead(target.verb) ? undefined : await readBody(req);
    const faultMethod = `kube.${target.type.resource}${target.subresource ? `.${target.subresource}` : ''}.${target.verb}`;
    const { fault, release } = await this.options.faults.admit(
      faultMethod,
      isRead(target.verb) ? 'read' : 'write',
    );
    if (fault) {
      answerFault(req, res, fault, target, principal);
      release();
      return;
    }
    try {
      if (target.verb === 'watch') {
        await this.watch(res, target, query);
        return;
      }
      const contentType = mediaType(req.headers['content-type']);
      const request: Request = {
        route: target,
        query,
        principal,
        userAgent: String(req.headers['user-agent'] ?? ''),
        contentType,
        body: body === undefined ? undefined : this.parseBody(target, contentType, body),
        dryRun: query.getAll('dryRun').includes('All'),
        directive: directiveOf(query),
        warnings: [],
      };
      const answer = this.execute(request);
      // Each warning as the API server sends it: code 299, no agent, the text quoted.
      if (request.warnings.length)
        res.setHeader(
          'Warning',
          request.warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
      writeJson(res, answer.code, answer.body);
      if (answer.audit && !request.dryRun) this.emitAudit(answer, request.userAgent);
    } finally {
      release();
    }
  }

  private authenticate(req: http.IncomingMessage): string | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    try {
      return this.options.principalFor(match[1]);
    } catch {
      return undefined;
    }
  }

  private parseBody(target: Route, contentType: string, raw: Buffer): unknown {
    if (raw.length === 0) return undefined;
    const text = raw.toString('utf8');
    if (target.verb === 'patch') {
      const accepted = target.type.custom
        ? PATCH_MEDIA_TYPES.filter((t) => t !== 'application/strategic-merge-patch+json')
        : PATCH_MEDIA_TYPES;
      if (!accepted.includes(contentType)) throw unsupportedMediaType(accepted);
      return parseJson(text);
    }
    if (contentType === PROTOBUF) {
      try {
        return decodeKubeProtobuf(raw);
      } catch (error) {
        if (error instanceof ProtobufError) throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
        throw error;
      }
    }
    if (contentType === 'application/yaml') {
      try {
        return YAML.parse(text);
      } catch (error) {
        throw badRequest(`error converting YAML to JSON: ${(error as Error).message}`);
      }
    }
    // A DELETE's DeleteOptions may come without a Content-Type.
    if (contentType !== 'application/json' && !(contentType === '' && target.verb.startsWith('delete'))) {
      throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
    }
    return parseJson(text);
  }

  private execute(request: Request): Answer {
    switch (request.route.verb) {
      case 'get':
        return { code: 200, body: this.existing(request.route) };
      case 'list':
        return { code: 200, body: this.list(request.route, request.query) };
      case 'create':
        return this.create(request);
      case 'update':
        return this.update(request);
      case 'patch':
        return this.patch(request);
      case 'delete':
        return this.delete(request);
      case 'deletecollection':
        return this.deleteCollection(request);
      default:
        throw new Error(`unhandled verb ${request.route.verb}`);
    }
  }

  private existing(target: Route): KubeObject {
    const found = this.store.get(target.type, target.namespace, target.name ?? '');
    if (!found) throw notFound(target.type, target.name ?? '');
    return found;
  }

  private selection(target: Route, query: URLSearchParams): (object: KubeObject) => boolean {
    let labels: LabelRequirement[];
    let fields: FieldRequirement[];
    try {
      labels = parseLabelSelector(query.get('labelSelector') ?? '');
      fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    } catch (error) {
      if (error instanceof SelectorError) throw badRequest(error.message);
      throw error;
    }
    const allowed = ['metadata.name', 'metadata.namespace', ...target.type.fieldSelectors];
    const unsupported = fields.find((f) => !allowed.includes(f.field));
    if (unsupported) throw badRequest(`field label not supported: ${unsupported.field}`);
    return (object) =>
      (target.namespace === undefined || object.metadata.namespace === target.namespace) &&
      (target.name === undefined || object.metadata.name === target.name) &&
      labelsMatch(labels, object.metadata.labels) &&
      fieldsMatch(fields, object);
  }

  private list(target: Route, query: URLSearchParams) {
    const selected = this.selection(target, query);
    let items = this.store.list(target.type, target.namespace).filter(selected);
    const metadata: Record<string, unknown> = { resourceVersion: this.store.resourceVersion() };
    // Paging: the continue token is the last key returned; keys are in the store's sort order.
    const after = query.get('continue');
    if (after) {
      const last = Buffer.from(after, 'base64url').toString('utf8');
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > last);
    }
    const limit = Number(query.get('limit') ?? '0');
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      metadata.continue = Buffer.from(`${last.metadata.namespace ?? ''}/${last.metadata.name}`).toString(
        'base64url',
      );
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return { kind: `${target.type.kind}List`, apiVersion: apiVersionOf(target.type), metadata, items };
  }

  private async watch(res: http.ServerResponse, target: Route, query: URLSearchParams): Promise<void> {
    const selected = this.selection(target, query);
    const timeout = Number(query.get('timeoutSeconds') ?? DEFAULT_WATCH_TIMEOUT_SECONDS);
    const stream = serveWatch(res, {
      store: this.store,
      resource: target.type.resource,
      matches: selected,
      resourceVersion: query.get('resourceVersion') ?? undefined,
      timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_WATCH_TIMEOUT_SECONDS,
    });
    this.watches.add(stream.stop);
    await stream.done;
    this.watches.delete(stream.stop);
  }

  /** The body as an object of the route's kind, or the API server's 400 for anything else. */
  private objectBody(request: Request): KubeObject {
    const { body, route: target } = request;
    if (!isRecord(body)) throw badRequest('the body of the request must be a JSON object');
    const expectedVersion = apiVersionOf(target.type);
    if (body.apiVersion !== undefined && body.apiVersion !== expectedVersion) {
      throw badRequest(
        `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expectedVersion})`,
      );
    }
    if (body.kind !== undefined && body.kind !== target.type.kind) {
      throw badRequest(
        `the kind in the data (${String(body.kind)}) does not match the expected kind (${target.type.kind})`,
      );
    }
    const object = this.decodedFields(request, structuredClone(body)) as KubeObject;
    if (!isRecord(object.metadata)) object.metadata = {};
    return object;
  }

  /**
   * A create's or update's body through the decoder's field checks: a value of the wrong type, or under Strict an
   * unknown field, is the 400 the API server's decoder answers ("Service in version "v1" cannot be handled as a
   * Service: …"); under Warn and Ignore unknown fields are dropped.
   */
  private decodedFields(request: Request, body: Record<string, unknown>): Record<string, unknown> {
    const { type } = request.route;
    const report = checkFields(type, body);
    const cannotHandle = (why: string) =>
      badRequest(`${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${why}`);
    if (report.mismatch) throw cannotHandle(unmarshalError(report.mismatch));
    return this.unknownFields(request, body, report.unknown, cannotHandle);
  }

  /** Strict fails with the strict decoding error, Warn warns and drops, Ignore drops. */
  private unknownFields<T>(
    request: Request,
    object: T,
    unknown: readonly string[],
    fail: (why: string) => KubeError,
  ): T {
    if (unknown.length === 0) return object;
    if (request.directive === 'Strict') throw fail(strictDecodingError(unknown));
    if (request.directive === 'Warn') request.warnings.push(...unknown.map((p) => `unknown field "${p}"`));
    return withoutFields(object, unknown);
  }

  /** Body and path must agree on namespace (and, for updates, name), as the API server checks. */
  private checkScope(target: Route, object: KubeObject, named: boolean): void {
    const metadata = object.metadata;
    if (target.type.namespaced) {
      if (metadata.namespace && metadata.namespace !== target.namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      metadata.namespace = target.namespace;
    } else {
      delete metadata.namespace;
    }
    if (named) {
      if (metadata.name && metadata.name !== target.name) {
        throw badRequest(
          `the name of the object (${metadata.name}) does not match the name on the URL (${target.name})`,
        );
      }
      metadata.name = target.name;
    }
  }

  private validate(type: ResourceType, object: KubeObject): void {
    const { name, generateName } = object.metadata;
    // With generateName, check the prefix as part of a name the server could generate.
    const checked =
      name || !generateName
        ? object
        : { ...object, metadata: { ...object.metadata, name: `${generateName}x` } };
    const causes = objectProblems(type, checked);
    if (causes.length) throw invalid(type, name || generateName || '', causes);
  }

  private requireNamespace(target: Route): void {
    if (!target.type.namespaced || !target.namespace) return;
    if (!this.store.get('namespaces', undefined, target.namespace)) {
      throw notFound(this.store.typeOf('namespaces'), target.namespace);
    }
  }

  private create(request: Request): Answer {
    const target = request.route;
    const object = this.objectBody(request);
    this.checkScope(target, object, false);
    this.validate(target.type, object);
    this.requireNamespace(target);
    const name = object.metadata.name;
    if (name && this.store.get(target.type, target.namespace, name)) throw alreadyExists(target.type, name);
    // Status is the controllers' to write: a create starts from none.
    if (target.type.statusSubresource) delete object.status;
    delete object.metadata.resourceVersion;
    const created = this.store.create(target.type, object, { dryRun: request.dryRun });
    return { code: 201, body: created, audit: this.auditFor('create', request, created) };
  }

  private update(request: Request): Answer {
    const target = request.route;
    const object = this.objectBody(request);
    this.checkScope(target, object, true);
    const existing = this.existing(target);
    const wanted = object.metadata.resourceVersion;
    if (wanted === undefined || wanted === '') {
      if (target.type.custom) {
        throw invalid(target.type, target.name ?? '', [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 0x0: must be specified for an update',
            field: 'metadata.resourceVersion',
          },
        ]);
      }
    } else if (wanted !== existing.metadata.resourceVersion) {
      throw conflict(target.type, target.name ?? '');
    }
    return this.replace(request, this.merged(target, object, existing), existing, 'update');
  }

  private patch(request: Request): Answer {
    const target = request.route;
    const existing = this.existing(target);
    if (request.body === undefined) throw badRequest('the body of the request is empty');
    let patched: unknown;
    try {
      if (request.contentType === 'application/json-patch+json') {
        patched = jsonPatch(existing as unknown as Json, request.body as Json);
      } else if (request.contentType === 'application/merge-patch+json') {
        patched = mergePatch(existing as unknown as Json, request.body as Json);
      } else {
        patched = strategicMergePatch(
          existing as unknown as Json,
          request.body as Json,
          target.type.mergeKeys,
        );
      }
    } catch (error) {
      if (!(error instanceof PatchError)) throw error;
      if (error.malformed) throw badRequest(error.message);
      throw new KubeError(failure(422, 'Invalid', error.message));
    }
    if (!isRecord(patched) || !isRecord(patched.metadata))
      throw badRequest("the patch removed the object's metadata");
    const object = this.patchedFields(request, patched) as KubeObject;
    this.checkScope(target, object, true);
    // A patch that names a resourceVersion is a precondition, as with an update.
    const wanted = object.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== existing.metadata.resourceVersion)
      throw conflict(target.type, target.name ?? '');
    return this.replace(request, this.merged(target, object, existing), existing, 'patch');
  }

  /**
   * The patched object through the decoder's field checks. The API server answers a failure here with a 422 whose
   * one cause is on `patch`, quoting the strategic merge patch as Go prints a map, or the patched object for the
   * other patch types.
   */
  private patchedFields(request: Request, patched: Record<string, unknown>): Record<string, unknown> {
    const report = checkFields(request.route.type, patched);
    const quoted =
      request.contentType === 'application/strategic-merge-patch+json'
        ? goValue(request.body)
        : JSON.stringify(patched);
    const fail = (why: string) => {
      const message = `Invalid value: ${JSON.stringify(quoted)}: ${why}`;
      return new KubeError(
        failure(422, 'Invalid', ` "" is invalid: patch: ${message}`, {
          causes: [{ reason: 'FieldValueInvalid', message, field: 'patch' }],
        }),
      );
    };
    if (report.mismatch) throw fail(unmarshalError(report.mismatch));
    return this.unknownFields(request, patched, report.unknown, fail);
  }

  /** Main-resource writes keep the stored status; `/status` writes change only the status. */
  private merged(target: Route, object: KubeObject, existing: KubeObject): KubeObject {
    if (target.subresource === 'status') return { ...existing, status: object.status };
    if (target.type.statusSubresource) {
      const { status: _ignored, ...rest } = object;
      return existing.status === undefined ? (rest as KubeObject) : { ...rest, status: existing.status };
    }
    return object;
  }

  private replace(
    request: Request,
    object: KubeObject,
    existing: KubeObject,
    verb: 'update' | 'patch',
  ): Answer {
    const target = request.route;
    this.validate(target.type, object);
    const stored = this.store.replace(target.type, object, existing, { dryRun: request.dryRun });
    const audited = target.subresource ? undefined : this.auditFor(verb, request, stored);
    return { code: 200, body: stored, audit: audited };
  }

  private delete(request: Request): Answer {
    const target = request.route;
    const existing = this.existing(target);
    checkPreconditions(target, existing, request.body);
    const { type } = target;
    // The namespace controller deletes a namespace's Services one by one, and GKE audits each delete.
    const cascaded = type.resource === 'namespaces' ? this.store.list('services', target.name) : [];
    const deleted = this.store.remove(type, target.namespace, target.name ?? '', { dryRun: request.dryRun });
    if (!deleted) throw notFound(type, target.name ?? '');
    if (!request.dryRun) {
      for (const service of cascaded) {
        const gone = success(
          this.store.typeOf('services'),
          service.metadata.name ?? '',
          service.metadata.uid,
        );
        this.emitAudit(
          {
            code: 200,
            body: gone,
            audit: {
              verb: 'delete',
              namespace: service.metadata.namespace ?? '',
              name: service.metadata.name ?? '',
              principal: NAMESPACE_CONTROLLER,
            },
          },
          'kube-controller-manager/v1.32.0 (linux/amd64) kubernetes/gke/system:serviceaccount:kube-system:namespace-controller',
        );
      }
    }
    let body: unknown = deleted;
    if (type.resource === 'services') {
      // Services answer a delete with a Success Status, not the object.
      body = success(type, target.name ?? '', existing.metadata.uid);
    } else if (type.resource === 'namespaces') {
      // What the API server returns: the namespace, now terminating (here it is already gone).
      body = {
        ...deleted,
        metadata: { ...deleted.metadata, deletionTimestamp: timestamp() },
        status: { ...(isRecord(deleted.status) ? deleted.status : {}), phase: 'Terminating' },
      };
    }
    const answer: Answer = { code: 200, body };
    if (type.resource === 'services') {
      answer.audit = {
        verb: 'delete',
        namespace: target.namespace ?? '',
        name: target.name ?? '',
        principal: request.principal,
        request: request.body,
      };
    }
    return answer;
  }

  private deleteCollection(request: Request): Answer {
    const target = request.route;
    const selected = this.selection(target, request.query);
    const items = this.store.list(target.type, target.namespace).filter(selected);
    const deleted = items.flatMap(
      (o) =>
        this.store.remove(target.type, o.metadata.namespace, o.metadata.name ?? '', {
          dryRun: request.dryRun,
        }) ?? [],
    );
    return {
      code: 200,
      body: {
        kind: `${target.type.kind}List`,
        apiVersion: apiVersionOf(target.type),
        metadata: { resourceVersion: this.store.resourceVersion() },
        items: deleted,
      },
    };
  }

  private auditFor(verb: ServiceVerb, request: Request, object: KubeObject): Answer['audit'] {
    if (request.route.type.resource !== 'services') return undefined;
    return {
      verb,
      namespace: object.metadata.namespace ?? '',
      name: object.metadata.name ?? '',
      principal: request.principal,
      request: request.body,
    };
  }

  /** Hands one Service write to the audit sink; a failing sink never fails the request. */
  private emitAudit(answer: Answer, userAgent: string): void {
    const audit = answer.audit;
    if (!audit) return;
    try {
      this.options.audit.emit(
        serviceAuditEntry({
          verb: audit.verb,
          cluster: this.options.cluster,
          namespace: audit.namespace,
          name: audit.name,
          principal: audit.principal,
          // A JSON patch is a list, which an audit log's Struct cannot hold.
          request: isRecord(audit.request) ? audit.request : undefined,
          response: isRecord(answer.body) ? answer.body : undefined,
          userAgent,
        }),
      );
    } catch {
      // Audit delivery is best effort, as it is for GKE.
    }
  }
}

/** DeleteOptions preconditions: the delete only proceeds against the named uid/resourceVersion. */
function checkPreconditions(target: Route, existing: KubeObject, body: unknown): void {
  const preconditions = isRecord(body) && isRecord(body.preconditions) ? body.preconditions : {};
  const name = target.name ?? '';
  if (typeof preconditions.uid === 'string' && preconditions.uid !== existing.metadata.uid) {
    throw conflict(
      target.type,
      name,
      `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${existing.metadata.uid}`,
    );
  }
  if (
    typeof preconditions.resourceVersion === 'string' &&
    preconditions.resourceVersion !== existing.metadata.resourceVersion
  ) {
    throw conflict(
      target.type,
      name,
      `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`json: cannot unmarshal the request body: ${(error as Error).message}`);
  }
}
