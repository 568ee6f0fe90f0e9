/**
 * `--sandbox [file]`: the local cloud that `npm run sandbox` keeps running, described by the endpoints.json it
 * writes (default `.sandbox/endpoints.json`). It holds every stand-in's address, the functions' URLs, the Pub/Sub
 * emulator when the sandbox runs with --pubsub, and a ready-made config whose `endpoints` point the adapters at
 * the stand-ins — so a sandbox run never uses Application Default Credentials.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_SANDBOX_FILE = '.sandbox/endpoints.json';
export const DEFAULT_RECONCILE_TOPIC = 'spokefleet-reconcile';

export interface SandboxEndpoints {
  /** The file it was read from, absolute. */
  file: string;
  projects: string[];
  functions: { onAuditLogEvent?: string; onReconcileRequest?: string };
  pubsub?: { emulatorHost: string; auditTopic?: string; reconcileTopic?: string };
  /** Cloud Logging `entries.list` over the functions' log lines, and the project they log in. */
  logging?: { url: string; project: string };
  state?: string;
  /** The Aviatrix Controller stand-in and its login, when the sandbox runs with --aviatrix. */
  aviatrix?: { url: string; username: string; password: string };
  /** SPOKEFLEET_CONFIG of the sandbox's functions (not yet validated). */
  config: Record<string, unknown>;
}

export function loadSandbox(file: string, cwd: string): SandboxEndpoints {
  // Everything in the sandbox is on loopback with its own token: google-auth-library must not look for the GCP
  // metadata server (a DNS lookup off the machine, and a warning on the terminal).
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `no sandbox at ${path}: start one with \`npm run sandbox\` (it writes ${DEFAULT_SANDBOX_FILE})`
        : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`);
  }
  const value = raw as Partial<SandboxEndpoints> | null;
  if (!value || typeof value !== 'object' || typeof value.config !== 'object' || value.config === null) {
    throw new Error(`${path} is not a sandbox endpoints file (no "config")`);
  }
  return {
    file: path,
    projects: Array.isArray(value.projects) ? value.projects.map(String) : [],
    functions: value.functions ?? {},
    pubsub: value.pubsub?.emulatorHost ? value.pubsub : undefined,
    logging:
      typeof value.logging?.url === 'string' && typeof value.logging.project === 'string'
        ? value.logging
        : undefined,
    state: value.state,
    aviatrix: value.aviatrix?.url ? value.aviatrix : undefined,
    config: value.config,
  };
}

/** The project the sandbox's topics live in. */
export function sandboxProject(sandbox: SandboxEndpoints): string {
  const fleet = sandbox.config.fleetProject;
  return sandbox.projects[0] ?? (typeof fleet === 'string' ? fleet : 'spokefleet-demo');
}

/** `projects/P/topics/T` of the sandbox's reconcile topic. */
export function sandboxReconcileTopic(sandbox: SandboxEndpoints): string {
  return `projects/${sandboxProject(sandbox)}/topics/${sandbox.pubsub?.reconcileTopic ?? DEFAULT_RECONCILE_TOPIC}`;
}

/** The sandbox's file is there but nothing answers at its addresses (stopped, or killed before it cleaned up). */
export class SandboxNotRunning extends Error {
  override readonly name = 'SandboxNotRunning';
}

/**
 * Asks the sandbox's /state URL once: anything that answers means it is up. A refused or silent address becomes
 * one plain sentence instead of an UNAVAILABLE per call.
 */
export async function assertSandboxRunning(sandbox: SandboxEndpoints, timeoutMs = 3_000): Promise<void> {
  const probe = sandbox.state ?? sandbox.functions.onReconcileRequest;
  if (!probe) return;
  try {
    const response = await fetch(probe, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
  } catch {
    throw new SandboxNotRunning(
      `the sandbox of ${sandbox.file} is not running — start it with \`npm run sandbox\` (nothing answers at ${probe})`,
    );
  }
}
