import { type ConfigInput, parseConfig } from '../../shared/config';
import { createLogger, MemoryTransport } from '../../shared/log';
import { Memo, type ReconcileContext } from '../../shared/reconcile/context';
import type { FakeCloud } from './cloud';

export const FLEET = 'fleet-host-prj';
export const PROJECT = 'spoke-prj-one';

export function testConfig(overrides: Partial<ConfigInput> = {}) {
  return parseConfig({
    fleetProject: FLEET,
    projects: [PROJECT, 'spoke-prj-two'],
    spokes: [{ network: 'gcp-spoke100-us-east4' }, { networkPattern: '^gcp-spoke2\\d\\d-' }],
    ...overrides,
  });
}

export function testContext(cloud: FakeCloud, overrides: Partial<ConfigInput> = {}, dryRun = false) {
  const transport = new MemoryTransport();
  const config = testConfig(overrides);
  const ctx: ReconcileContext = {
    config,
    cloud,
    log: createLogger({ transport, level: 'debug' }),
    dryRun,
    memo: new Memo(),
  };
  return { ctx, transport, config };
}
