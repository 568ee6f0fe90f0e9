/**
 * Name rules shared by configuration, incoming events and the names Spokefleet makes. ASCII-only on purpose — no
 * `i` or `u` flag — so Unicode look-alikes (Cyrillic "а", fullwidth letters) never pass as a name.
 */

/** Google Cloud project id: 6–30 characters, lowercase letters, digits and hyphens, starting with a letter. */
export const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** Kubernetes DNS-1123 label (namespaces, membership ids): at most 63 characters. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const isProjectId = (value: unknown): value is string =>
  typeof value === 'string' && PROJECT_ID.test(value);
export const isDns1123Label = (value: unknown): value is string =>
  typeof value === 'string' && DNS1123_LABEL.test(value);
