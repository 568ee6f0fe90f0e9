import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudEvent } from '@google-cloud/functions-framework';
import fc from 'fast-check';
import { PermanentError } from '../../shared/errors';
import {
  parseReconcileRequest,
  type ReconcileRequest,
  reconcileRequestFromCloudEvent,
} from '../../shared/events/request';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('events/request: parseReconcileRequest', () => {
  const valid: Array<{ name: string; input: unknown; expected: ReconcileRequest }> = [
    { name: 'the fleet', input: { scope: 'fleet' }, expected: { scope: 'fleet' } },
    {
      name: 'a project, dry run',
      input: { scope: 'project', project: 'acme-spokes-prod', dryRun: true },
      expected: { scope: 'project', project: 'acme-spokes-prod', dryRun: true },
    },
    {
      name: 'a zonal cluster with a request id',
      input: {
        scope: 'cluster',
        project: 'acme-spokes-prod',
        location: 'us-east4-a',
        cluster: 'gke-us-east4-cluster-1',
        requestId: 'cli 2024-12-06T11:00:00Z #7',
      },
      expected: {
        scope: 'cluster',
        project: 'acme-spokes-prod',
        location: 'us-east4-a',
        cluster: 'gke-us-east4-cluster-1',
        requestId: 'cli 2024-12-06T11:00:00Z #7',
      },
    },
    {
      name: 'a regional cluster, dryRun false',
      input: {
        scope: 'cluster',
        project: 'acme-spokes-prod',
        location: 'us-east4',
        cluster: 'c',
        dryRun: false,
      },
      expected: {
        scope: 'cluster',
        project: 'acme-spokes-prod',
        location: 'us-east4',
        cluster: 'c',
        dryRun: false,
      },
    },
    {
      name: 'a 128-character request id',
      input: { scope: 'fleet', requestId: 'r'.repeat(128) },
      expected: { scope: 'fleet', requestId: 'r'.repeat(128) },
    },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => {
      assert.deepStrictEqual(parseReconcileRequest(json(c.input)), c.expected);
    });
  }

  // Each invalid request lists every problem, in the order zod finds them.
  const invalid: Array<{ name: string; input: Buffer; reason: string; message?: string }> = [
    {
      name: 'an unknown scope',
      input: json({ scope: 'region' }),
      reason: 'invalid-reconcile-request',
      message: `invalid reconcile request: scope: Invalid discriminator value. Expected 'cluster' | 'project' | 'fleet'`,
    },
    {
      name: 'no scope',
      input: json({ project: 'acme-spokes-prod' }),
      reason: 'invalid-reconcile-request',
      message: `invalid reconcile request: scope: Invalid discriminator value. Expected 'cluster' | 'project' | 'fleet'`,
    },
    {
      name: 'a cluster request with every field wrong',
      input: json({ scope: 'cluster', project: 'P', location: 'east', cluster: 'Cluster_1', dryrun: true }),
      reason: 'invalid-reconcile-request',
      message:
        'invalid reconcile request: project: must be a Google Cloud project id; ' +
        'location: must be a zone or region, e.g. us-east4 or us-east4-a; cluster: must be a GKE cluster name; ' +
        '(request): Unrecognized key: "dryrun"',
    },
    {
      name: 'a cluster request missing location and cluster',
      input: json({ scope: 'cluster', project: 'acme-spokes-prod' }),
      reason: 'invalid-reconcile-request',
      message:
        'invalid reconcile request: location: Invalid input: expected string, received undefined; ' +
        'cluster: Invalid input: expected string, received undefined',
    },
    {
      name: 'a fleet request with a project (strict: unknown keys refused)',
      input: json({ scope: 'fleet', project: 'acme-spokes-prod' }),
      reason: 'invalid-reconcile-request',
      message: 'invalid reconcile request: (request): Unrecognized key: "project"',
    },
    {
      name: 'dryRun as a string',
      input: json({ scope: 'fleet', dryRun: 'true' }),
      reason: 'invalid-reconcile-request',
      message: 'invalid reconcile request: dryRun: Invalid input: expected boolean, received string',
    },
    {
      name: 'a 129-character request id',
      input: json({ scope: 'fleet', requestId: 'r'.repeat(129) }),
      reason: 'invalid-reconcile-request',
    },
    {
      name: 'a request id with a newline',
      input: json({ scope: 'fleet', requestId: 'a\nb' }),
      reason: 'invalid-reconcile-request',
      message: 'invalid reconcile request: requestId: must be printable ASCII',
    },
    {
      name: 'an empty request id',
      input: json({ scope: 'fleet', requestId: '' }),
      reason: 'invalid-reconcile-request',
    },
    {
      name: 'a cluster name with a Cyrillic look-alike',
      input: json({
        scope: 'cluster',
        project: 'acme-spokes-prod',
        location: 'us-east4',
        cluster: 'gke-\u0430',
      }),
      reason: 'invalid-reconcile-request',
    },
    {
      name: 'a __proto__ key',
      input: Buffer.from('{"scope":"fleet","__proto__":{"dryRun":false}}'),
      reason: 'invalid-reconcile-request',
    },
    {
      name: 'an array',
      input: json([{ scope: 'fleet' }]),
      reason: 'not-object',
      message: 'reconcile request must be a JSON object, got an array',
    },
    { name: 'null', input: Buffer.from('null'), reason: 'not-object' },
    { name: 'a number', input: Buffer.from('7'), reason: 'not-object' },
    { name: 'a string', input: json('fleet'), reason: 'not-object' },
    { name: 'not JSON', input: Buffer.from('scope=fleet'), reason: 'not-json' },
    { name: 'empty bytes', input: Buffer.alloc(0), reason: 'not-json' },
    {
      name: 'too large',
      input: json({ scope: 'fleet', requestId: 'x'.repeat(20_000) }),
      reason: 'payload-too-large',
    },
    { name: 'nested', input: Buffer.from('{"scope":[[[[[["fleet"]]]]]]}'), reason: 'too-deep' },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} (${c.reason})`, () => {
      assert.throws(
        () => parseReconcileRequest(c.input),
        (error: unknown) => {
          assert.ok(error instanceof PermanentError);
          assert.equal(error.reason, c.reason);
          if (c.message) assert.equal(error.message, c.message);
          return true;
        },
      );
    });
  }

  it('nothing but PermanentError escapes, for random bytes and random JSON', () => {
    const check = (data: Buffer) => {
      try {
        parseReconcileRequest(data);
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => check(Buffer.from(b))),
      { numRuns: 300, seed: 5 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => check(json(v))),
      { numRuns: 300, seed: 6 },
    );
  });
});

describe('events/request: reconcileRequestFromCloudEvent', () => {
  it('decodes the scheduler fixture as framework-delivered', () => {
    const event: CloudEvent<unknown> = JSON.parse(
      readFileSync(join(__dirname, '../fixtures/cloudevents/reconcile-fleet.received.json'), 'utf8'),
    );
    assert.deepStrictEqual(reconcileRequestFromCloudEvent(event), {
      scope: 'fleet',
      requestId: 'scheduler-drift-repair',
      eventId: '12938475061841007',
    });
  });
});
