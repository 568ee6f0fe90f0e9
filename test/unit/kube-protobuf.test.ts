import assert from 'node:assert/strict';
import { decodeKubeProtobuf, ProtobufError } from '../../sandbox/kube/protobuf';

/** Request bodies captured from kubectl 1.32 for its generators (base64 of what it POSTed). */
const CAPTURED = {
  'kubectl create namespace x': 'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhkKEQoBeBIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==',
  'kubectl create service clusterip web --tcp=80:8080 -n default':
    'azhzAAoNCgJ2MRIHU2VydmljZRJwCiYKA3dlYhIAGgdkZWZhdWx0IgAqADIAOABCAFoKCgNhcHASA3dlYhJCChsKBzgwLTgwODASA1RDUBhQIgcIABCQPxoAKAASCgoDYXBwEgN3ZWIaACIJQ2x1c3RlcklQOgBCAFIAWgBgAGgAGgIKABoAIgA=',
  'kubectl create deployment nginx --image=nginx:1.27 --port=80':
    'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EsUBCiMKBW5naW54EgAaACIAKgAyADgAQgBaDAoDYXBwEgVuZ2lueBKPAQgBEg4KDAoDYXBwEgVuZ2lueBpzCh4KABIAGgAiACoAMgA4AEIAWgwKA2FwcBIFbmdpbngSURIzCgVuZ2lueBIKbmdpbng6MS4yNyoAMgoKABAAGFAiACoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA',
};

describe('kube protobuf bodies (kubectl generators)', () => {
  const expected: Record<keyof typeof CAPTURED, object> = {
    'kubectl create namespace x': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } },
    'kubectl create service clusterip web --tcp=80:8080 -n default': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: {
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
        selector: { app: 'web' },
        type: 'ClusterIP',
      },
    },
    'kubectl create deployment nginx --image=nginx:1.27 --port=80': {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx', labels: { app: 'nginx' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'nginx' } },
        template: {
          metadata: { labels: { app: 'nginx' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
        },
      },
    },
  };
  for (const [command, base64] of Object.entries(CAPTURED) as Array<[keyof typeof CAPTURED, string]>) {
    it(command, () => {
      assert.deepEqual(decodeKubeProtobuf(Buffer.from(base64, 'base64')), expected[command]);
    });
  }

  it('refuses bodies without the k8s prefix and kinds it has no schema for', () => {
    assert.throws(() => decodeKubeProtobuf(Buffer.from('{}')), ProtobufError);
    // typeMeta {apiVersion: "v1", kind: "Pod"}
    const pod = Buffer.concat([
      Buffer.from('k8s\0'),
      Buffer.from([0x0a, 0x09, 0x0a, 0x02]),
      Buffer.from('v1'),
      Buffer.from([0x12, 0x03]),
      Buffer.from('Pod'),
    ]);
    assert.throws(() => decodeKubeProtobuf(pod), /cannot decode v1\/Pod/);
  });
});
