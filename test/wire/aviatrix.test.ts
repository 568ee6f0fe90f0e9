import assert from 'node:assert/strict';
import { type AviatrixStandIn, startAviatrix } from '../../sandbox/aviatrix';
import { secretReader } from '../../shared/cloud/secrets';
import { parseConfig } from '../../shared/config';
import { PermanentError } from '../../shared/errors';
import { AviatrixController, parseGcpVpcId } from '../../shared/policy/aviatrix';

describe('wire: Aviatrix Controller look-up', () => {
  let controller: AviatrixStandIn;
  before(async () => {
    controller = await startAviatrix({
      username: 'spokefleet',
      password: 's3cret-pw',
      vpcs: [
        { vpc_id: 'gcp-spoke300-us-east4~-~spokefleet-demo', cloud_type: 4 },
        { vpc_id: 'vpc-0abc123', cloud_type: 1 },
        { vpc_id: 'spoke-vnet:rg:sub', cloud_type: 8 },
      ],
    });
  });
  after(() => controller.close());

  const config = () =>
    parseConfig({
      fleetProject: 'spokefleet-demo',
      projects: ['spokefleet-demo'],
      spokes: [{ network: 'gcp-spoke100-us-east4' }],
      aviatrix: {
        controllerUrl: controller.url,
        username: 'spokefleet',
        passwordSecret: controller.secretName,
      },
      endpoints: { secretmanager: controller.url },
    });

  it('reads the password from Secret Manager, logs in with the API token, lists GCP spokes only', async () => {
    const read = secretReader(config());
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 300,
      password: () => read(controller.secretName),
    });
    controller.calls.length = 0;
    assert.deepEqual(await directory.listSpokes(), [
      { network: 'gcp-spoke300-us-east4', project: 'spokefleet-demo' },
    ]);
    assert.deepEqual(controller.calls, [
      'get_api_token',
      'secretmanager.access',
      'login',
      'list_vpcs_summary',
    ]);
  });

  it('caches the list for cacheSeconds', async () => {
    let now = 0;
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 60,
      password: async () => 's3cret-pw',
      now: () => now,
    });
    controller.calls.length = 0;
    await directory.listSpokes();
    await directory.listSpokes();
    now = 61_000;
    await directory.listSpokes();
    assert.equal(controller.calls.filter((c) => c === 'list_vpcs_summary').length, 2);
  });

  it('a wrong password is a permanent error naming the Controller reason, never the password', async () => {
    const directory = new AviatrixController({
      controllerUrl: controller.url,
      username: 'spokefleet',
      cacheSeconds: 60,
      password: async () => 'wrong-pw',
    });
    await assert.rejects(directory.listSpokes(), (error: unknown) => {
      assert.ok(error instanceof PermanentError);
      assert.match(error.message, /Invalid username or password/);
      assert.doesNotMatch(error.message, /wrong-pw/);
      return true;
    });
  });

  const ids: Array<[unknown, ReturnType<typeof parseGcpVpcId>]> = [
    ['gcp-spoke100-us-east4~-~my-project-1', { network: 'gcp-spoke100-us-east4', project: 'my-project-1' }],
    ['vpc-0abc123', undefined],
    ['a~-~b', undefined],
    ['Bad_Name~-~my-project-1', undefined],
    [42, undefined],
  ];
  for (const [id, expected] of ids) {
    it(`parses vpc_id ${JSON.stringify(id)}`, () => assert.deepEqual(parseGcpVpcId(id), expected));
  }
});
