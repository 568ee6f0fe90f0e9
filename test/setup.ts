// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';

// Tests never reach Google: no metadata server probing, no ambient credentials.
process.env.METADATA_SERVER_DETECTION = 'none';
delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
delete process.env.GOOGLE_CLOUD_PROJECT;
delete process.env.GCLOUD_PROJECT;

// Nor anything else off this machine: a connection or DNS lookup off loopback fails with ELOOPBACKONLY here (and
// exits the functions and CLI processes the tests start, which inherit the preload through NODE_OPTIONS).
process.env.SPOKEFLEET_LOOPBACK_GUARD ??= 'throw';
const guard = require('../sandbox/loopback-guard.cjs') as { violations: string[] };

/** An end-to-end test that made such a call fails, even when the code under test swallowed the error. */
export const mochaHooks = {
  afterEach(this: Mocha.Context) {
    const seen = guard.violations.splice(0);
    const file = this.currentTest?.file ?? '';
    if (seen.length > 0 && /[/\\]test[/\\]e2e[/\\]/.test(file)) {
      throw new Error(`${this.currentTest?.title}: ${seen.join('; ')}`);
    }
  },
};
