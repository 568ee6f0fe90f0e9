/**
 * The GKE Hub v1 and Resource Manager v3 stand-in through the real googleapis clients (deep imports, as the
 * functions bundle them). googleapis retries GET/PUT/DELETE on 408/429/5xx by default; the clients here say
 * `retry: false` so every failure is seen on the first answer, except where the retry itself is under test.
 */
import assert from 'node:assert/strict';
import {
  cloudresourcemanager,
  type cloudresourcemanager_v3,
} from 'googleapis/build/src/apis/cloudresourcemanager';
import { gkehub, type gkehub_v1 } from 'googleapis/build/src/apis/gkehub';
import { FaultInjector, type FaultKind } from '../../sandbox/faults';
import {
  type GkeHubServer,
  gkehubOptions,
  resourceManagerOptions,
  startGkeHubServer,
} from '../../sandbox/gkehub/server';

/** What a failed googleapis call carries (a GaxiosError): HTTP status, `code`, message and the JSON body. */
interface GaxiosLike {
  status?: number;
  code?: number | string;
  message: string;
  response?: { data?: { error?: { status?: string } } };
}

async function failure(call: Promise<unknown>): Promise<GaxiosLike> {
  try {
    await call;
  } catch (error) {
    return error as GaxiosLike;
  }
  assert.fail('expected the call to fail');
}

async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const FLEET = 'fleet-proj';
const FLEET_NUMBER = '123456789012';
const APPS = 'apps-proj';
const cluster = (name: string, location = 'us-east4') =>
  `projects/${APPS}/locations/${location}/clusters/${name}`;
const link = (name: string, location = 'us-east4') => `//container.googleapis.com/${cluster(name, location)}`;
const issuer = (name: string, location = 'us-east4') =>
  `https://container.googleapis.com/v1/${cluster(name, location)}`;

describe('GKE Hub and Resource Manager stand-in (wire)', () => {
  const faults = new FaultInjector({ seed: 1 });
  let server: GkeHubServer;
  let hub: gkehub_v1.Gkehub;
  let crm: cloudresourcemanager_v3.Cloudresourcemanager;

  before(async () => {
    server = await startGkeHubServer({
      faults,
      projects: [
        { id: FLEET, number: FLEET_NUMBER, displayName: 'Fleet host' },
        { id: APPS, number: '210987654321' },
      ],
      // Long enough that a read right after a write sees the operation still running on a busy machine.
      opDelayMs: 150,
    });
    hub = gkehub({ ...gkehubOptions(server.url), retry: false });
    crm = cloudresourcemanager({ ...resourceManagerOptions(server.url), retry: false });
    // A READY membership every test may lean on, so that each test stands alone.
    server.store.registerMembership(FLEET, 'global', 'cluster-0', {
      project: APPS,
      location: 'us-east4',
      name: 'cluster-0',
    });
  });

  after(() => server.close());

  beforeEach(() => {
    faults.clearRules();
    faults.resetCounters();
  });

  const memberships = () => hub.projects.locations.memberships;

  /** Polls operations.get until the operation is done, as an adapter does. */
  async function done(name: string | null | undefined): Promise<gkehub_v1.Schema$Operation> {
    const deadline = Date.now() + 3000;
    for (;;) {
      const { data } = await hub.projects.locations.operations.get({ name: name ?? '' });
      if (data.done) return data;
      if (Date.now() > deadline) assert.fail(`operation ${name} not done in time`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  function create(id: string, body: gkehub_v1.Schema$Membership, location = 'global') {
    return memberships().create({
      parent: `projects/${FLEET}/locations/${location}`,
      membershipId: id,
      requestBody: body,
    });
  }

  it('creates a membership as a long-running operation, then serves it', async () => {
    const { data: op } = await create('cluster-1', {
      labels: { 'managed-by': 'spokefleet' },
      description: 'apps cluster-1',
      endpoint: { gkeCluster: { resourceLink: link('cluster-1') } },
      authority: { issuer: issuer('cluster-1') },
    });
    assert.match(op.name ?? '', new RegExp(`^projects/${FLEET}/locations/global/operations/operation-\\d+-`));
    assert.equal(op.done, undefined, 'proto3 JSON leaves out done=false');
    assert.deepEqual(
      { ...op.metadata, createTime: undefined },
      {
        '@type': 'type.googleapis.com/google.cloud.gkehub.v1.OperationMetadata',
        createTime: undefined,
        target: `projects/${FLEET}/locations/global/memberships/cluster-1`,
        verb: 'create',
        apiVersion: 'v1',
      },
    );
    const name = `projects/${FLEET}/locations/global/memberships/cluster-1`;
    assert.deepEqual((await memberships().get({ name })).data.state, { code: 'CREATING' });

    const finished = await done(op.name);
    const response = finished.response as gkehub_v1.Schema$Membership & { '@type': string };
    assert.equal(response['@type'], 'type.googleapis.com/google.cloud.gkehub.v1.Membership');
    assert.equal(response.name, name);
    assert.deepEqual(response.state, { code: 'READY' });
    assert.deepEqual(response.labels, { 'managed-by': 'spokefleet' });
    assert.deepEqual(response.endpoint, { gkeCluster: { resourceLink: link('cluster-1') } });
    assert.deepEqual(response.authority, {
      issuer: issuer('cluster-1'),
      workloadIdentityPool: `${FLEET}.svc.id.goog`,
      identityProvider: issuer('cluster-1'),
    });
    assert.match(response.uniqueId ?? '', /^[0-9a-f-]{36}$/);

    const { data: membership } = await memberships().get({ name });
    const { '@type': _type, ...expected } = response;
    assert.deepEqual(membership, expected);
  });

  it('lists memberships of every location with locations/-, and filters by resourceLink', async () => {
    server.store.registerMembership(FLEET, 'us-east4', 'born-in-fleet', {
      project: APPS,
      location: 'us-east4',
      name: 'born-in-fleet',
    });
    server.store.registerMembership(APPS, 'global', 'elsewhere', {
      project: APPS,
      location: 'us-east1',
      name: 'x',
    });
    await create('labeled', { labels: { 'managed-by': 'spokefleet' } });
    const names = async (parent: string, filter?: string) =>
      ((await memberships().list({ parent, filter })).data.resources ?? []).map((m) => m.name);

    const everywhere = await names(`projects/${FLEET}/locations/-`);
    assert.ok(everywhere.includes(`projects/${FLEET}/locations/us-east4/memberships/born-in-fleet`));
    assert.ok(everywhere.includes(`projects/${FLEET}/locations/global/memberships/cluster-0`));
    assert.ok(!everywhere.some((n) => n?.startsWith(`projects/${APPS}/`)), 'only the fleet project');
    assert.deepEqual(
      await names(`projects/${FLEET_NUMBER}/locations/-`),
      everywhere,
      'project number works too',
    );
    assert.ok(!(await names(`projects/${FLEET}/locations/global`)).some((n) => n?.includes('/us-east4/')));
    assert.deepEqual(
      await names(
        `projects/${FLEET}/locations/-`,
        `endpoint.gkeCluster.resourceLink="${link('born-in-fleet')}"`,
      ),
      [`projects/${FLEET}/locations/us-east4/memberships/born-in-fleet`],
    );
    const { data: managed } = await memberships().list({
      parent: `projects/${FLEET}/locations/-`,
      filter: 'labels.managed-by="spokefleet"',
    });
    assert.ok(managed.resources?.some((m) => m.name?.endsWith('/memberships/labeled')));
    assert.ok(managed.resources?.every((m) => m.labels?.['managed-by'] === 'spokefleet'));
    assert.ok(!managed.resources?.some((m) => m.name?.endsWith('/memberships/cluster-0')));
    const { data: born } = await memberships().get({
      name: `projects/${FLEET}/locations/us-east4/memberships/born-in-fleet`,
    });
    assert.equal(born.labels, undefined);
    assert.equal(born.endpoint?.googleManaged, true);
  });

  const refusals: Array<{
    title: string;
    id: string;
    body: gkehub_v1.Schema$Membership;
    status: number;
    grpc: string;
    message: RegExp;
  }> = [
    {
      title: 'a taken id',
      id: 'cluster-0',
      body: { endpoint: { gkeCluster: { resourceLink: link('other') } } },
      status: 409,
      grpc: 'ALREADY_EXISTS',
      message: /memberships\/cluster-0" already exists/,
    },
    {
      title: 'a second membership for the same cluster',
      id: 'cluster-0-again',
      body: { endpoint: { gkeCluster: { resourceLink: link('cluster-0') } } },
      status: 409,
      grpc: 'ALREADY_EXISTS',
      message: /already exists/,
    },
    {
      title: 'the same cluster named with zones/',
      id: 'cluster-0-zonal',
      body: {
        endpoint: { gkeCluster: { resourceLink: link('cluster-0').replace('/locations/', '/zones/') } },
      },
      status: 409,
      grpc: 'ALREADY_EXISTS',
      message: /already exists/,
    },
    {
      title: 'an id with capitals and _',
      id: 'Cluster_1',
      body: {},
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /Invalid membership ID "Cluster_1"/,
    },
    {
      title: 'an id longer than 63',
      id: 'a'.repeat(64),
      body: {},
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /RFC 1123 label/,
    },
    {
      title: 'an id ending in -',
      id: 'cluster-',
      body: {},
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /Invalid membership ID/,
    },
    {
      title: 'a Kubernetes-style label key (GCP labels allow no dots or slashes)',
      id: 'k8s-label',
      body: { labels: { 'app.kubernetes.io/managed-by': 'spokefleet' } },
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /Invalid label "app.kubernetes.io\/managed-by"/,
    },
    {
      title: 'a zones/ issuer',
      id: 'zonal',
      body: {
        endpoint: { gkeCluster: { resourceLink: link('zonal', 'us-east4-a') } },
        authority: { issuer: issuer('zonal', 'us-east4-a').replace('/locations/', '/zones/') },
      },
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /Invalid authority.issuer/,
    },
    {
      title: 'an issuer of another cluster',
      id: 'mismatch',
      body: {
        endpoint: { gkeCluster: { resourceLink: link('mismatch') } },
        authority: { issuer: issuer('other') },
      },
      status: 400,
      grpc: 'INVALID_ARGUMENT',
      message: /does not match/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.title} with ${r.status} ${r.grpc}`, async () => {
      const e = await failure(create(r.id, r.body));
      assert.equal(e.status, r.status);
      assert.equal(e.code, r.status, 'GaxiosError.code is the HTTP status for a Google JSON error');
      assert.equal(e.response?.data?.error?.status, r.grpc);
      assert.match(e.message, r.message);
    });
  }

  it('answers 404 NOT_FOUND for an unknown membership and 403 for an unknown project', async () => {
    const missing = await failure(
      memberships().get({ name: `projects/${FLEET}/locations/global/memberships/nope` }),
    );
    assert.deepEqual([missing.status, missing.response?.data?.error?.status], [404, 'NOT_FOUND']);
    const denied = await failure(memberships().list({ parent: 'projects/stranger/locations/-' }));
    assert.deepEqual([denied.status, denied.response?.data?.error?.status], [403, 'PERMISSION_DENIED']);
  });

  it('patches labels through an updateMask', async () => {
    const { data: created } = await create('patched', {
      description: 'before',
      endpoint: { gkeCluster: { resourceLink: link('patched') } },
    });
    await done(created.name);
    const name = `projects/${FLEET}/locations/global/memberships/patched`;
    const { data: op } = await memberships().patch({
      name,
      updateMask: 'labels',
      requestBody: { labels: { team: 'net' } },
    });
    assert.equal((op.metadata as { verb?: string }).verb, 'update');
    await done(op.name);
    const { data } = await memberships().get({ name });
    assert.deepEqual(data.labels, { team: 'net' });
    assert.equal(data.description, 'before', 'fields outside the mask stay');
    assert.deepEqual(data.state, { code: 'READY' });
  });

  it('deletes a membership as a long-running operation', async () => {
    const { data: created } = await create('short-lived', {
      endpoint: { gkeCluster: { resourceLink: link('short') } },
    });
    await done(created.name);
    const name = `projects/${FLEET}/locations/global/memberships/short-lived`;
    const { data: op } = await memberships().delete({ name });
    assert.deepEqual((await memberships().get({ name })).data.state, { code: 'DELETING' });
    const finished = await done(op.name);
    assert.deepEqual(finished.response, { '@type': 'type.googleapis.com/google.protobuf.Empty' });
    assert.equal((await failure(memberships().get({ name }))).status, 404);
    assert.equal(server.store.getMembership(name), undefined);
  });

  it('creates the MCS feature once; a second create is 409', async () => {
    const features = hub.projects.locations.features;
    const parent = `projects/${FLEET}/locations/global`;
    const { data: op } = await features.create({
      parent,
      featureId: 'multiclusterservicediscovery',
      requestBody: {},
    });
    const name = `${parent}/features/multiclusterservicediscovery`;
    assert.deepEqual((await features.get({ name })).data.resourceState, { state: 'ENABLING' });
    const finished = await done(op.name);
    assert.equal(
      (finished.response as { '@type'?: string })['@type'],
      'type.googleapis.com/google.cloud.gkehub.v1.Feature',
    );

    const { data: feature } = await features.get({ name });
    assert.equal(feature.name, name);
    assert.deepEqual(feature.resourceState, { state: 'ACTIVE' });
    assert.equal(feature.state?.state?.code, 'OK');
    // Membership states are keyed by project number, as Hub writes them.
    assert.equal(
      feature.membershipStates?.[`projects/${FLEET_NUMBER}/locations/global/memberships/cluster-0`]?.state
        ?.code,
      'OK',
    );
    assert.deepEqual(
      ((await features.list({ parent })).data.resources ?? []).map((f) => f.name),
      [name],
    );

    const again = await failure(
      features.create({ parent, featureId: 'multiclusterservicediscovery', requestBody: {} }),
    );
    assert.deepEqual([again.status, again.response?.data?.error?.status], [409, 'ALREADY_EXISTS']);
  });

  it('gets a project number from Resource Manager by id or number; 403 for an unknown project', async () => {
    for (const ref of [FLEET, FLEET_NUMBER]) {
      const { data } = await crm.projects.get({ name: `projects/${ref}` });
      assert.deepEqual(
        { name: data.name, projectId: data.projectId, state: data.state, displayName: data.displayName },
        { name: `projects/${FLEET_NUMBER}`, projectId: FLEET, state: 'ACTIVE', displayName: 'Fleet host' },
      );
    }
    const e = await failure(crm.projects.get({ name: 'projects/not-mine' }));
    assert.equal(e.status, 403);
    assert.equal(e.response?.data?.error?.status, 'PERMISSION_DENIED');
    assert.equal(
      e.message,
      "Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/not-mine' (or it may not exist).",
    );
  });

  const faultCases: Array<{ kind: FaultKind; status?: number; grpc?: string }> = [
    { kind: 'unavailable', status: 503, grpc: 'UNAVAILABLE' },
    { kind: 'rate-limited', status: 429, grpc: 'RESOURCE_EXHAUSTED' },
    { kind: 'internal', status: 500, grpc: 'INTERNAL' },
    { kind: 'aborted', status: 409, grpc: 'ABORTED' },
    { kind: 'peering-in-progress', status: 409, grpc: 'ABORTED' },
    { kind: 'deadline', status: 504, grpc: 'DEADLINE_EXCEEDED' },
    { kind: 'permission-denied', status: 403, grpc: 'PERMISSION_DENIED' },
    { kind: 'invalid-argument', status: 400, grpc: 'INVALID_ARGUMENT' },
    { kind: 'reset' },
  ];
  for (const c of faultCases) {
    it(`answers an injected '${c.kind}' fault with ${c.status ?? 'a reset connection'}`, async () => {
      faults.setRule('gkehub.memberships.get', { errorRate: 1, faults: [c.kind] });
      const e = await failure(
        memberships().get({ name: `projects/${FLEET}/locations/global/memberships/cluster-0` }),
      );
      assert.equal(e.status, c.status);
      assert.equal(e.response?.data?.error?.status, c.grpc);
      if (c.kind === 'reset') assert.equal(e.code, 'ECONNRESET');
      assert.deepEqual(faults.counters()['gkehub.memberships.get'], {
        kind: 'read',
        calls: 1,
        faults: 1,
        maxInFlight: 1,
      });
    });
  }

  it('counts faults on operations.get and resourcemanager.projects.get under their own names', async () => {
    faults.setRule('gkehub.operations.*', { errorRate: 1, faults: ['internal'] });
    faults.setRule('resourcemanager.*', { errorRate: 1, faults: ['unavailable'] });
    const op = await failure(
      hub.projects.locations.operations.get({ name: `projects/${FLEET}/locations/global/operations/x` }),
    );
    const project = await failure(crm.projects.get({ name: `projects/${FLEET}` }));
    assert.deepEqual([op.status, project.status], [500, 503]);
    assert.deepEqual(faults.totals('gkehub.operations.'), { reads: 0, writes: 0, faults: 1 });
    assert.deepEqual(faults.totals('resourcemanager.'), { reads: 0, writes: 0, faults: 1 });
  });

  describe('with googleapis default retries', () => {
    // The client the adapter gets unless it opts out: gaxios retry on.
    const retrying = () => gkehub(gkehubOptions(server.url));

    it('retries a GET after a 503 and succeeds', async () => {
      faults.setRule('gkehub.memberships.get', { errorRate: 1, faults: ['unavailable'] });
      const get = retrying().projects.locations.memberships.get({
        name: `projects/${FLEET}/locations/global/memberships/cluster-0`,
      });
      await eventually(() => (faults.counters()['gkehub.memberships.get']?.faults ?? 0) >= 1);
      faults.clearRules();
      const { data } = await get;
      assert.equal(data.name, `projects/${FLEET}/locations/global/memberships/cluster-0`);
      const counter = faults.counters()['gkehub.memberships.get'];
      assert.equal(counter.calls, counter.faults + 1);
    });

    it('does not retry a POST after a 503', async () => {
      faults.setRule('gkehub.memberships.create', { errorRate: 1, faults: ['unavailable'] });
      const e = await failure(
        retrying().projects.locations.memberships.create({
          parent: `projects/${FLEET}/locations/global`,
          membershipId: 'never',
          requestBody: {},
        }),
      );
      assert.equal(e.status, 503);
      assert.equal(faults.counters()['gkehub.memberships.create'].calls, 1);
    });
  });
});
