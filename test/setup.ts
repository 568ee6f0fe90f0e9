// First: on a Node.js too old for the project, stop with a message that names the version needed.
import '../scripts/require-node.cjs';

// Tests never reach Google: no metadata server probing, no ambient credentials.
process.env.METADATA_SERVER_DETECTION = 'none';
delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
delete process.env.GOOGLE_CLOUD_PROJECT;
delete process.env.GCLOUD_PROJECT;
