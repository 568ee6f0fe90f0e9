/**
 * `spokefleet config validate [FILE]`: the same validation the functions run at cold start (parseConfig), with
 * every problem listed. Without FILE: the sandbox's config (--sandbox), else SPOKEFLEET_CONFIG.
 */
import { resolve } from 'node:path';
import { ConfigError, parseConfig, parseConfigJson } from '../../shared/config';
import { UsageError } from '../args';
import { ProblemsError, readJsonFile } from '../engine';
import { type Io, println } from '../io';
import { EXIT_FAILURES, EXIT_OK, printJson } from '../output';
import { loadSandbox } from '../sandbox';

export interface ConfigValidateArgs {
  file?: string;
  sandbox?: string;
  json: boolean;
}

/** Every problem of a config source, or none. */
export function configProblems(args: ConfigValidateArgs, io: Io): { source: string; problems: string[] } {
  let source: string;
  let parse: () => unknown;
  if (args.file) {
    source = resolve(io.cwd, args.file);
    parse = () => parseConfig(readJsonFile(source));
  } else if (args.sandbox) {
    const sandbox = loadSandbox(args.sandbox, io.cwd);
    source = `${sandbox.file} (config)`;
    parse = () => parseConfig(sandbox.config);
  } else if (io.env.SPOKEFLEET_CONFIG !== undefined) {
    source = 'SPOKEFLEET_CONFIG';
    parse = () => parseConfigJson(io.env.SPOKEFLEET_CONFIG);
  } else {
    throw new UsageError('nothing to validate: give FILE, use --sandbox, or set SPOKEFLEET_CONFIG');
  }
  try {
    parse();
    return { source, problems: [] };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof ProblemsError)
      return { source, problems: error.problems };
    throw error;
  }
}

export async function configValidateCommand(args: ConfigValidateArgs, io: Io): Promise<number> {
  const { source, problems } = configProblems(args, io);
  if (args.json) {
    printJson(io, { source, valid: problems.length === 0, problems });
  } else if (problems.length === 0) {
    println(io.stdout, `${source}: valid`);
  } else {
    println(io.stdout, `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const problem of problems) println(io.stdout, `  - ${problem}`);
  }
  return problems.length === 0 ? EXIT_OK : EXIT_FAILURES;
}
