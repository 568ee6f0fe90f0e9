/**
 * Decodes the protobuf bodies kubectl's generators POST (`kubectl create namespace|service|deployment …` send
 * `application/vnd.kubernetes.protobuf` and do not retry with JSON on 415). The envelope is the API
 * machinery's: the magic `k8s\0`, then a runtime.Unknown {typeMeta{apiVersion, kind}, raw}. Only the fields
 * those generators fill are mapped (field numbers from k8s.io/api generated.proto); others are skipped.
 * Zero values are dropped, as Go's JSON encoding with omitempty would.
 */

type Scalar = 'string' | 'int' | 'bool' | 'map' | 'intOrString';
interface Field {
  name: string;
  type: Scalar | Message;
  repeated?: boolean;
}
type Message = { [number: number]: Field };

const str = (name: string): Field => ({ name, type: 'string' });
const int = (name: string): Field => ({ name, type: 'int' });
const strings = (name: string): Field => ({ name, type: 'string', repeated: true });
const map = (name: string): Field => ({ name, type: 'map' });

const OBJECT_META: Message = {
  1: str('name'),
  2: str('generateName'),
  3: str('namespace'),
  5: str('uid'),
  6: str('resourceVersion'),
  7: int('generation'),
  11: map('labels'),
  12: map('annotations'),
  14: strings('finalizers'),
};

const LABEL_SELECTOR: Message = {
  1: map('matchLabels'),
  2: {
    name: 'matchExpressions',
    type: { 1: str('key'), 2: str('operator'), 3: strings('values') },
    repeated: true,
  },
};

const SERVICE_SPEC: Message = {
  1: {
    name: 'ports',
    repeated: true,
    type: {
      1: str('name'),
      2: str('protocol'),
      3: int('port'),
      4: { name: 'targetPort', type: 'intOrString' },
      5: int('nodePort'),
      6: str('appProtocol'),
    },
  },
  2: map('selector'),
  3: str('clusterIP'),
  4: str('type'),
  5: strings('externalIPs'),
  7: str('sessionAffinity'),
  8: str('loadBalancerIP'),
  9: strings('loadBalancerSourceRanges'),
  10: str('externalName'),
  11: str('externalTrafficPolicy'),
  12: int('healthCheckNodePort'),
  13: { name: 'publishNotReadyAddresses', type: 'bool' },
  17: str('ipFamilyPolicy'),
  18: strings('clusterIPs'),
  19: strings('ipFamilies'),
  21: str('loadBalancerClass'),
  22: str('internalTrafficPolicy'),
};

const CONTAINER: Message = {
  1: str('name'),
  2: str('image'),
  3: strings('command'),
  4: strings('args'),
  5: str('workingDir'),
  6: {
    name: 'ports',
    repeated: true,
    type: {
      1: str('name'),
      2: int('hostPort'),
      3: int('containerPort'),
      4: str('protocol'),
      5: str('hostIP'),
    },
  },
  7: { name: 'env', repeated: true, type: { 1: str('name'), 2: str('value') } },
  14: str('imagePullPolicy'),
};

const POD_TEMPLATE: Message = {
  1: { name: 'metadata', type: OBJECT_META },
  2: {
    name: 'spec',
    type: {
      2: { name: 'containers', type: CONTAINER, repeated: true },
      3: str('restartPolicy'),
      6: str('dnsPolicy'),
      7: map('nodeSelector'),
      8: str('serviceAccountName'),
      20: { name: 'initContainers', type: CONTAINER, repeated: true },
    },
  },
};

/** Top-level messages by `apiVersion/kind`; spec only, since status is not the client's to write. */
const KINDS: Record<string, Message> = {
  'v1/Namespace': {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: strings('finalizers') } },
  },
  'v1/Service': { 1: { name: 'metadata', type: OBJECT_META }, 2: { name: 'spec', type: SERVICE_SPEC } },
  'apps/v1/Deployment': {
    1: { name: 'metadata', type: OBJECT_META },
    2: {
      name: 'spec',
      type: {
        1: int('replicas'),
        2: { name: 'selector', type: LABEL_SELECTOR },
        3: { name: 'template', type: POD_TEMPLATE },
        5: int('minReadySeconds'),
        6: int('revisionHistoryLimit'),
        7: { name: 'paused', type: 'bool' },
        9: int('progressDeadlineSeconds'),
      },
    },
  },
};

export const PROTOBUF_KINDS = Object.keys(KINDS);

export class ProtobufError extends Error {}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  done(): boolean {
    return this.at >= this.buffer.length;
  }

  varint(): number {
    let result = 0;
    let factor = 1;
    for (;;) {
      if (this.at >= this.buffer.length) throw new ProtobufError('truncated varint');
      const byte = this.buffer[this.at++];
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) return result;
      factor *= 128;
    }
  }

  bytes(): Buffer {
    const length = this.varint();
    if (this.at + length > this.buffer.length) throw new ProtobufError('truncated field');
    const slice = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.at += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.at += 4;
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
  }

  /** Each field as [number, wireType, value]: varints as numbers, length-delimited as bytes. */
  *fields(): Generator<[number, number, number | Buffer]> {
    while (!this.done()) {
      const tag = this.varint();
      const number = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (wireType === 0) yield [number, wireType, this.varint()];
      else if (wireType === 2) yield [number, wireType, this.bytes()];
      else this.skip(wireType);
    }
  }
}

function isEmpty(value: unknown): boolean {
  if (value === '' || value === 0 || value === false || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function decodeScalar(type: Scalar, value: number | Buffer): unknown {
  switch (type) {
    case 'string':
      return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
    case 'int':
      return typeof value === 'number' ? value : undefined;
    case 'bool':
      return value === 1;
    case 'map': {
      if (!Buffer.isBuffer(value)) return undefined;
      const entry = decodeMessage(value, { 1: str('key'), 2: str('value') });
      return [String(entry.key ?? ''), String(entry.value ?? '')];
    }
    case 'intOrString': {
      if (!Buffer.isBuffer(value)) return undefined;
      const v = decodeMessage(value, { 1: int('type'), 2: int('intVal'), 3: str('strVal') }, true);
      return v.type === 1 ? v.strVal : v.intVal;
    }
  }
}

function decodeMessage(buffer: Buffer, message: Message, keepZeros = false): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [number, , raw] of new Reader(buffer).fields()) {
    const field = message[number];
    if (!field) continue;
    let value: unknown;
    if (typeof field.type === 'object') {
      if (!Buffer.isBuffer(raw)) continue;
      value = decodeMessage(raw, field.type);
    } else {
      value = decodeScalar(field.type, raw);
    }
    if (field.type === 'map') {
      const [key, v] = value as [string, string];
      result[field.name] = { ...((result[field.name] as object) ?? {}), [key]: v };
    } else if (field.repeated) {
      result[field.name] = [...((result[field.name] as unknown[]) ?? []), value];
    } else {
      result[field.name] = value;
    }
  }
  if (!keepZeros) for (const key of Object.keys(result)) if (isEmpty(result[key])) delete result[key];
  return result;
}

/** The JSON form of a protobuf-encoded object, or a ProtobufError for kinds and bytes it cannot read. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new ProtobufError('missing the k8s protobuf prefix');
  let typeMeta: { apiVersion?: unknown; kind?: unknown } = {};
  let raw: Buffer = Buffer.alloc(0);
  for (const [number, , value] of new Reader(body.subarray(4)).fields()) {
    if (!Buffer.isBuffer(value)) continue;
    if (number === 1) typeMeta = decodeMessage(value, { 1: str('apiVersion'), 2: str('kind') });
    else if (number === 2) raw = value;
  }
  const kind = `${typeMeta.apiVersion}/${typeMeta.kind}`;
  const message = KINDS[kind];
  if (!message) throw new ProtobufError(`cannot decode ${kind} from protobuf`);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, message) };
}
