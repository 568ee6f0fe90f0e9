/**
 * Least privilege and safety, the parts not covered elsewhere:
 * - no credential ever reaches a log line: the local cloud's token, the developer's token, the word `Bearer`, and a
 *   planted Aviatrix Controller password (read from the Secret Manager stand-in), on success and on every error path
 *   (a refused login, permanent and transient faults on every API), at debug level;
 * - a Service event caused by Spokefleet's own identity is ignored without a single API call.
 * The permission table ↔ code ↔ Terraform role agreement is test/unit/permissions.test.ts; loopback-only endpoint
 * overrides are test/unit/config.test.ts; every other test in this directory also asserts that its logs are clean.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { serviceAuditEntry } from '../../sandbox/audit/entries';
import { type AviatrixStandIn, startAviatrix } from '../../sandbox/aviatrix';
import type { FaultKind } from '../../sandbox/faults';
import type { ClusterRef } from '../../shared/events/types';
import {
  auditMessage,
  CLUSTER_SLOTS,
  callCounts,
  createClusterNow,
  createHarness,
  DEMO_PROJECT,
  diffCounts,
  FORBIDDEN_IN_LOGS,
  type Harness,
  type RelCloud,
  startRelCloud,
} from './harness';

const PASSWORD = `planted-${randomBytes(12).toString('hex')}`;

describe('reliability: safety', function () {
  this.timeout(60_000);
  let rel: RelCloud;
  let aviatrix: AviatrixStandIn;

  before(async () => {
    rel = await startRelCloud();
    // The Controller reports the shared-services VPC as a spoke: onboarding it needs the password.
    aviatrix = await startAviatrix({
      username: 'spokefleet-reader',
      password: PASSWORD,
      vpcs: [{ vpc_id: `shared-services-us-east4~-~${DEMO_PROJECT.id}`, cloud_type: 4 }],
    });
  });
  after(async () => {
    await aviatrix?.close();
    await rel?.close();
  });

  const harnesses: Harness[] = [];
  const harnessWith = (username: string) => {
    const harness = createHarness(
      rel,
      {
        retryBudgetMs: 250,
        aviatrix: {
          controllerUrl: aviatrix.url,
          username,
          passwordSecret: aviatrix.secretName,
          cacheSeconds: 0,
        },
        endpoints: { ...rel.cloud.endpoints(), secretmanager: aviatrix.url },
      },
      { logLevel: 'debug', forbidden: [...FORBIDDEN_IN_LOGS, PASSWORD] },
    );
    harnesses.push(harness);
    return harness;
  };

  it('no token, bearer header or planted password in any log line, on success and on every error path', async () => {
    const harness = harnessWith('spokefleet-reader');
    const ref: ClusterRef = { project: DEMO_PROJECT.id, location: 'us-east4', name: 'safety-a' };
    await createClusterNow(rel, ref, CLUSTER_SLOTS[3].spec); // shared-services: a spoke only per the Controller
    const created = rel.sink.drain().filter((m) => m.data.toString().includes('"last":true'));
    for (const message of created) await harness.deliverUntilAcked(message);
    assert.ok(aviatrix.calls.includes('login') && aviatrix.calls.includes('secretmanager.access'));
    assert.ok(
      rel.cloud.kube(ref).api.store.get('namespaces', undefined, 'mcs-common'),
      'onboarded via the Controller',
    );

    // A refused login (wrong user): the Controller's reason is logged, never what was sent.
    const refused = harnessWith('someone-else');
    for (const message of created) await refused.deliver(message);
    assert.ok(
      refused.logs.records().some((r) => String(r.reason ?? '').includes('Invalid username or password')),
    );

    // Every fault kind on each API, at debug level (retry lines carry error descriptions).
    const kinds: FaultKind[] = [
      'unavailable',
      'permission-denied',
      'invalid-argument',
      'internal',
      'deadline',
      'reset',
    ];
    for (const api of ['container', 'gkehub', 'compute', 'resourcemanager', 'kube'])
      for (const kind of kinds) {
        rel.cloud.faults.setRule(`${api}.*`, { errorRate: 1, faults: [kind] });
        try {
          for (const message of created) await harnessWith('spokefleet-reader').deliver(message);
        } finally {
          rel.cloud.faults.clearRules();
        }
      }
    const scanned = harnesses.reduce((n, h) => n + h.logs.scanned, 0);
    assert.ok(scanned > 100, `${scanned} lines scanned`);
    assert.deepEqual(
      harnesses.flatMap((h) => h.logs.leaks),
      [],
    );
    console.log(
      `      ${scanned} log lines from ${harnesses.length} instances scanned: no token, no password`,
    );
  });

  it("a Service event caused by Spokefleet's own identity is ignored without a single API call", async () => {
    const harness = createHarness(rel);
    const before = callCounts(rel.cloud);
    const result = await harness.deliver(
      auditMessage(
        serviceAuditEntry({
          verb: 'patch',
          cluster: { project: DEMO_PROJECT.id, location: 'us-east4', name: 'safety-a' },
          namespace: 'mcs-common',
          name: 'api',
          principal: rel.cloud.selfPrincipal,
        }),
      ),
    );
    assert.equal(result.acked, true);
    assert.deepEqual(diffCounts(callCounts(rel.cloud), before), {});
    assert.ok(harness.logs.records().some((r) => r.reason === 'self-principal'));
  });
});
