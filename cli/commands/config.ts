/**
 * `spokefleet config validate [FILE]`: the same validation the functions run at cold start (parseConfig), with
 * every problem listed, an unknown key followed by the key it probably meant, then the checks that need to know
 * the deployment (cli/config-checks.ts). Without FILE: the sandbox's config (--sandbox), else SPOKEFLEET_CONFIG.
 */
import { resolve } from 'node:path';
import { ConfigError, parseConfig } from '../../shared/config';
import { UsageError } from '../args';
import { crossFieldProblems, DEFAULT_FUNCTION_TIMEOUT_SECONDS, explainedProblems } from '../config-checks';
import { MissingFileError, ProblemsError, readJsonFile } from '../engine';
import { type Io, println } from '../io';
import { EXIT_FAILURES, EXIT_OK, printJson } from '../output';
import { loadSandbox } from '../sandbox';

export interface ConfigValidateArgs {
  file?: string;
  sandbox?: string;
  json: boolean;
  /** --function-timeout: the timeout the functions are deployed with (default Terraform's 540 s). */
  functionTimeoutSeconds?: number;
}

/** Every problem of a config source, or none. */
export function configProblems(
  args: ConfigValidateArgs,
  io: Io,
): { source: string; problems: string[]; missing?: boolean } {
  let source: string;
  let read: () => unknown;
  if (args.file) {
    source = resolve(io.cwd, args.file);
    const path = source;
    read = () => readJsonFile(path);
  } else if (args.sandbox) {
    const sandbox = loadSandbox(args.sandbox, io.cwd);
    source = `${sandbox.file} (config)`;
    read = () => sandbox.config;
  } else if (io.env.SPOKEFLEET_CONFIG !== undefined) {
    source = 'SPOKEFLEET_CONFIG';
    read = () => {
      const text = io.env.SPOKEFLEET_CONFIG ?? '';
      if (text.trim() === '') throw new ConfigError(['SPOKEFLEET_CONFIG is empty']);
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new ConfigError([`SPOKEFLEET_CONFIG is not JSON: ${(error as Error).message}`]);
      }
    };
  } else {
    throw new UsageError('nothing to validate: give FILE, use --sandbox, or set SPOKEFLEET_CONFIG');
  }
  let input: unknown;
  try {
    input = read();
  } catch (error) {
    if (error instanceof MissingFileError) return { source, problems: ['no such file'], missing: true };
    if (error instanceof ConfigError || error instanceof ProblemsError)
      return { source, problems: error.problems };
    throw error;
  }
  try {
    parseConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return { source, problems: explainedProblems(input) };
    throw error;
  }
  const facts = { functionTimeoutSeconds: args.functionTimeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS };
  return { source, problems: crossFieldProblems(input, facts) };
}

export async function configValidateCommand(args: ConfigValidateArgs, io: Io): Promise<number> {
  const { source, problems, missing } = configProblems(args, io);
  if (args.json) {
    printJson(io, { source, valid: problems.length === 0, problems });
  } else if (missing) {
    println(io.stdout, `${source}: no such file`);
  } else if (problems.length === 0) {
    println(io.stdout, `${source}: valid`);
  } else {
    println(io.stdout, `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const problem of problems) println(io.stdout, `  - ${problem}`);
  }
  return problems.length === 0 ? EXIT_OK : EXIT_FAILURES;
}
