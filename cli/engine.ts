/**
 * The reconcile engine run inside the CLI, read-only: `plan` and `status` build the same ReconcileContext the
 * functions build, with dryRun true, on the real client adapters (Application Default Credentials) or on the
 * sandbox's stand-ins, and on top a cloud whose write methods refuse — so "nothing is written" holds even if a
 * step forgot its dry-run branch.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { aviatrixDirectory } from '../shared/app';
import type { Cloud } from '../shared/cloud/ports';
import { type Config, ConfigError, parseConfig, parseConfigJson } from '../shared/config';
import { PermanentError } from '../shared/errors';
import type { ReconcileRequest } from '../shared/events/request';
import type { Logger } from '../shared/log';
import { Memo, type ReconcileContext } from '../shared/reconcile/context';
import type { RequestResult } from '../shared/reconcile/request';
import { UsageError } from './args';
import { type Io, Progress } from './io';
import { assertSandboxRunning, loadSandbox } from './sandbox';

/** A failure the command reports as a list of problems (exit 1), e.g. an invalid config. */
export class ProblemsError extends Error {
  override readonly name = 'ProblemsError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export interface EngineOptions {
  /** --config FILE */
  config?: string;
  /** --sandbox [file], already defaulted */
  sandbox?: string;
  verbose?: boolean;
}

export interface ResolvedConfig {
  config: Config;
  /** Where it came from, for messages: a file, SPOKEFLEET_CONFIG or the sandbox. */
  source: string;
}

/**
 * The config, from --config FILE, else the sandbox's (with --sandbox), else SPOKEFLEET_CONFIG. With --sandbox, a
 * config without `endpoints` gets the sandbox's, so a production-shaped file can be tried against the stand-ins.
 */
export function resolveConfig(options: EngineOptions, io: Io): ResolvedConfig {
  const sandbox = options.sandbox ? loadSandbox(options.sandbox, io.cwd) : undefined;
  let input: unknown;
  let source: string;
  if (options.config) {
    source = resolve(io.cwd, options.config);
    input = readJsonFile(source);
  } else if (sandbox) {
    source = `${sandbox.file} (config)`;
    input = sandbox.config;
  } else if (io.env.SPOKEFLEET_CONFIG !== undefined) {
    source = 'SPOKEFLEET_CONFIG';
    return { config: validated(source, () => parseConfigJson(io.env.SPOKEFLEET_CONFIG)), source };
  } else {
    throw new UsageError('no config: pass --config FILE, set SPOKEFLEET_CONFIG, or use --sandbox');
  }
  if (sandbox && isObject(input) && input.endpoints === undefined) {
    input = { ...input, endpoints: sandbox.config.endpoints };
  }
  return { config: validated(source, () => parseConfig(input)), source };
}

/** The config file named is not there: said in those words, not as an ENOENT dump. */
export class MissingFileError extends Error {
  override readonly name = 'MissingFileError';
  constructor(readonly path: string) {
    super(`no such file: ${path}`);
  }
}

/** JSON of a config file; unreadable or malformed files are problems, not crashes. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingFileError(path);
    throw new ProblemsError(`cannot read ${path}`, [(error as Error).message]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProblemsError(`${path} is not JSON`, [(error as Error).message]);
  }
}

function validated(source: string, parse: () => Config): Config {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) throw new ProblemsError(`invalid config in ${source}`, error.problems);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  notice: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

/**
 * Engine log lines: with --verbose, the functions' own structured lines (shared/log) on stderr; else discarded,
 * without even loading shared/log and the logging library it writes with.
 */
export function engineLogger(config: Config, io: Io, verbose: boolean): Logger {
  if (!verbose) return silent;
  const { createLogger } = require('../shared/log') as typeof import('../shared/log');
  return createLogger({
    level: 'debug',
    transport: io.stderr,
    name: 'spokefleet-cli',
    projectId: config.fleetProject,
  });
}

const READ_ONLY = 'read-only';
/** Port methods that only read. Anything else — today's writes and any method added later — is refused. */
const READ_METHOD = /^(get|list|has|count)/;

function refuseWrite(what: string): Promise<never> {
  return Promise.reject(new PermanentError(`the CLI is read-only here; refused ${what}`, READ_ONLY));
}

/** A port whose reading methods pass through and whose other methods reject without being called. */
function readOnlyPort<T extends object>(port: T, name: string): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && READ_METHOD.test(property)) return value.bind(target);
      return () => refuseWrite(`${name}.${String(property)}`);
    },
  });
}

/** The same ports, with every write refused (a step that forgot its dry-run branch fails instead of writing). */
export function readOnlyCloud(cloud: Cloud): Cloud {
  return {
    clusters: readOnlyPort(cloud.clusters, 'clusters'),
    peering: readOnlyPort(cloud.peering, 'peering'),
    fleet: readOnlyPort(cloud.fleet, 'fleet'),
    kube: {
      connect: async (target) => readOnlyPort(await cloud.kube.connect(target), 'kube'),
    },
  };
}

/**
 * The Aviatrix Controller when `aviatrix` is configured, as shared/app.ts composes it for the functions, so plan
 * and status decide "is this a spoke?" and "does its gateway advertise the cluster?" exactly as they do (a secret
 * read and Controller reads; the gateway write is refused like every other write).
 */
function aviatrixPorts(config: Config): Pick<ReconcileContext, 'extraSpokes' | 'advertiser'> {
  const controller = aviatrixDirectory(config);
  if (!controller) return {};
  return {
    extraSpokes: () => controller.listSpokes(),
    advertiser: config.aviatrix?.advertise ? readOnlyPort(controller, 'aviatrix') : undefined,
  };
}

export interface DryRunOptions extends EngineOptions {
  /** "plan" or "status", for the progress line. */
  verb: string;
  /** Injected in tests: the ports to use instead of adapters on the real clients. */
  cloud?: Cloud;
}

/** Runs reconcileRequest in dry-run over the resolved config; prints progress on a terminal. */
export async function dryRun(
  request: ReconcileRequest,
  options: DryRunOptions,
  io: Io,
): Promise<RequestResult & { config: Config }> {
  const { config } = resolveConfig(options, io);
  // A stopped sandbox is one sentence, not an UNAVAILABLE per project.
  if (options.sandbox && !options.cloud) await assertSandboxRunning(loadSandbox(options.sandbox, io.cwd));
  const log = engineLogger(config, io, options.verbose === true);
  // Stand-ins on loopback: no Google metadata server to probe (google-auth-library would warn on stderr).
  if (config.endpoints) process.env.METADATA_SERVER_DETECTION ??= 'none';
  // Loaded here, not at the top: the client libraries are most of the CLI's load time, and --help or
  // `config validate` need none of them.
  const cloud =
    options.cloud ??
    (require('../shared/cloud') as typeof import('../shared/cloud')).createCloud(config, log);
  const { reconcileRequest } =
    require('../shared/reconcile/request') as typeof import('../shared/reconcile/request');
  const progress = new Progress(io.stderr, !options.verbose);
  const started = Date.now();
  const ctx: ReconcileContext = {
    config,
    cloud: readOnlyCloud(cloud),
    log,
    dryRun: true,
    memo: new Memo(),
    ...aviatrixPorts(config),
  };
  try {
    const result = await reconcileRequest(
      ctx,
      { ...request, dryRun: true },
      {
        onClusterDone: (done, total) =>
          progress.update(
            `${options.verb}: ${done}/${total} clusters… (${Math.round((Date.now() - started) / 1000)} s)`,
          ),
      },
    );
    return { ...result, config };
  } finally {
    progress.done();
  }
}
