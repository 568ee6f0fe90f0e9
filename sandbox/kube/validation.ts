/**
 * The subset of API-server validation that clients can trip over: object names (per kind), label keys and
 * values, and the Service fields that are required. Messages are the API server's own
 * (k8s.io/apimachinery pkg/util/validation), so a 422 reads the same as from GKE.
 */
import type { NameRule, ResourceType } from './resources';
import type { StatusCause } from './status';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const RULES: Record<NameRule, { pattern: RegExp; max: number; message: string }> = {
  'dns1035-label': {
    pattern: DNS1035_LABEL,
    max: 63,
    message:
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  },
  'dns1123-label': {
    pattern: DNS1123_LABEL,
    max: 63,
    message:
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  },
  'dns1123-subdomain': {
    pattern: DNS1123_SUBDOMAIN,
    max: 253,
    message:
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  },
};

function invalidValue(field: string, value: string, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: "${value}": ${why}`, field };
}

/** Problems with a name under `rule`; empty when valid. */
export function nameProblems(name: string, rule: NameRule, field = 'metadata.name'): StatusCause[] {
  const { pattern, max, message } = RULES[rule];
  const causes: StatusCause[] = [];
  if (name.length > max) causes.push(invalidValue(field, name, `must be no more than ${max} characters`));
  if (!pattern.test(name)) causes.push(invalidValue(field, name, message));
  return causes;
}

/** A label key is `[prefix/]name`: prefix a DNS-1123 subdomain, name at most 63 qualified-name characters. */
export function labelKeyProblems(key: string, field = 'metadata.labels'): StatusCause[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const causes: StatusCause[] = [];
  if (prefix !== undefined && (!DNS1123_SUBDOMAIN.test(prefix) || prefix.length > 253)) {
    causes.push(invalidValue(field, key, `prefix part ${RULES['dns1123-subdomain'].message}`));
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    causes.push(
      invalidValue(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  return causes;
}

export function labelValueProblems(value: string, field = 'metadata.labels'): StatusCause[] {
  if (value.length <= 63 && LABEL_VALUE.test(value)) return [];
  return [
    invalidValue(
      field,
      value,
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ),
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Everything the stand-in checks on an object about to be stored (name rules, labels, Service ports). */
export function objectProblems(type: ResourceType, object: Record<string, unknown>): StatusCause[] {
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const causes: StatusCause[] = [];
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  if (!name) {
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  } else {
    causes.push(...nameProblems(name, type.nameRule));
  }
  const labels = metadata.labels;
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: must be a map of strings',
        field: 'metadata.labels',
      });
    } else {
      for (const [key, value] of Object.entries(labels)) {
        causes.push(...labelKeyProblems(key));
        if (typeof value !== 'string') {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: label "${key}" must be a string`,
            field: 'metadata.labels',
          });
        } else {
          causes.push(...labelValueProblems(value));
        }
      }
    }
  }
  if (type.resource === 'services') causes.push(...serviceProblems(object));
  return causes;
}

/** The Service checks a manifest commonly fails: ports required (unless headless/ExternalName), ports in range, names when several. */
function serviceProblems(object: Record<string, unknown>): StatusCause[] {
  const spec = isRecord(object.spec) ? object.spec : {};
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const causes: StatusCause[] = [];
  const portless = spec.type === 'ExternalName' || spec.clusterIP === 'None';
  if (ports.length === 0 && !portless) {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' });
  }
  ports.forEach((port, i) => {
    const p = isRecord(port) ? port : {};
    if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(p.port ?? 0)}: must be between 1 and 65535, inclusive`,
        field: `spec.ports[${i}].port`,
      });
    }
    if (ports.length > 1 && !p.name) {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: `spec.ports[${i}].name`,
      });
    }
  });
  return causes;
}
