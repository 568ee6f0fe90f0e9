/**
 * Reads one Secret Manager secret version (the Aviatrix Controller password) over REST with the functions' own
 * identity. The value is returned to the caller only; it is never logged or cached beyond the caller's need.
 */
import { GoogleAuth } from 'google-auth-library';
import { timedCall } from '../calls';
import type { Config } from '../config';
import { HttpStatusError, PermanentError, type RetryOptions, withRetry } from '../errors';

const SECRET_MANAGER = 'https://secretmanager.googleapis.com';
const CALL = 'secretmanager.versions.access';

export function secretReader(config: Config, retry: RetryOptions = {}): (name: string) => Promise<string> {
  const local = config.endpoints;
  const cap = config.callTimeoutSeconds * 1000;
  let auth: GoogleAuth | undefined;
  return async (name) => {
    const url = `${local?.secretmanager ?? SECRET_MANAGER}/v1/${name}:access`;
    const data = await withRetry(
      () =>
        timedCall(CALL, cap, async (timeoutMs) => {
          if (local) {
            const response = await fetch(url, {
              headers: { authorization: `Bearer ${local.token}` },
              signal: AbortSignal.timeout(timeoutMs),
            });
            if (!response.ok)
              throw new HttpStatusError(`secret ${name}: HTTP ${response.status}`, response.status);
            return (await response.json()) as { payload?: { data?: string } };
          }
          auth ??= new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
          const response = await auth.request<{ payload?: { data?: string } }>({ url, timeout: timeoutMs });
          return response.data;
        }),
      retry,
    );
    if (typeof data.payload?.data !== 'string')
      throw new PermanentError(`secret ${name} has no payload`, 'secret-empty');
    return Buffer.from(data.payload.data, 'base64').toString('utf8');
  };
}
