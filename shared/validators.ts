/**
 * Name rules shared by configuration, incoming events and the names Spokefleet makes. ASCII-only on purpose — no
 * `i` or `u` flag — so Unicode look-alikes (Cyrillic "а", fullwidth letters) never pass as a name.
 */

/** Google Cloud project id: 6–30 characters, lowercase letters, digits and hyphens, starting with a letter. */
const PROJECT_ID_BODY = '[a-z][a-z0-9-]{4,28}[a-z0-9]';
/** RFC 1035 label: at most 63 characters, starting with a letter (VPC network names, Service names). */
const DNS1035_LABEL_BODY = '[a-z]([-a-z0-9]{0,61}[a-z0-9])?';

export const PROJECT_ID = new RegExp(`^${PROJECT_ID_BODY}$`);
/** Kubernetes DNS-1123 label (namespaces, membership ids): at most 63 characters. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1035 label: a DNS-1123 label that starts with a letter (Kubernetes Service names, Google network names). */
export const DNS1035_LABEL = new RegExp(`^${DNS1035_LABEL_BODY}$`);
/** `projects/PROJECT/topics/TOPIC`: a topic id starts with a letter, 3–255 characters, not starting with `goog`. */
export const PUBSUB_TOPIC = new RegExp(
  `^projects/${PROJECT_ID_BODY}/topics/(?!goog)[A-Za-z][-A-Za-z0-9_.~+%]{2,254}$`,
);
/** An Aviatrix GCP `vpc_id`: `NETWORK~-~PROJECT`. */
export const GCP_VPC_ID = new RegExp(`^(${DNS1035_LABEL_BODY})~-~(${PROJECT_ID_BODY})$`);

export const isProjectId = (value: unknown): value is string =>
  typeof value === 'string' && PROJECT_ID.test(value);
export const isDns1123Label = (value: unknown): value is string =>
  typeof value === 'string' && DNS1123_LABEL.test(value);
export const isDns1035Label = (value: unknown): value is string =>
  typeof value === 'string' && DNS1035_LABEL.test(value);
