/**
 * The `spokefleet` command line: parsing and validation only (commander), then one handler per command. Exit
 * codes: 0 ok; 1 failures (a failed or refused record, an invalid config, an error); 2 usage errors, commander's
 * own included. Handlers are injected so the parsing table is tested without a cloud.
 */
import { randomBytes } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { version } from '../package.json';
import { describeError } from '../shared/errors';
import type { ClusterRef } from '../shared/events/types';
import { buildRequest, parseClusterArg, parseTopicArg, resolveTopic, UsageError } from './args';
import type { ConfigValidateArgs } from './commands/config';
import type { PlanArgs } from './commands/plan';
import type { ReconcileArgs } from './commands/reconcile';
import type { ServicesArgs } from './commands/services';
import type { StatusArgs } from './commands/status';
import { ProblemsError } from './engine';
import { type Io, println } from './io';
import { EXIT_FAILURES, EXIT_OK, EXIT_USAGE } from './output';
import { DEFAULT_SANDBOX_FILE } from './sandbox';

export interface Handlers {
  reconcile(args: ReconcileArgs, io: Io): Promise<number>;
  plan(args: PlanArgs, io: Io): Promise<number>;
  status(args: StatusArgs, io: Io): Promise<number>;
  services(args: ServicesArgs, io: Io): Promise<number>;
  configValidate(args: ConfigValidateArgs, io: Io): Promise<number>;
}

// Loaded on use: the client libraries behind them are most of the CLI's start-up time.
export const defaultHandlers: Handlers = {
  reconcile: (args, io) =>
    (require('./commands/reconcile') as typeof import('./commands/reconcile')).reconcileCommand(args, io),
  plan: (args, io) => (require('./commands/plan') as typeof import('./commands/plan')).planCommand(args, io),
  status: (args, io) =>
    (require('./commands/status') as typeof import('./commands/status')).statusCommand(args, io),
  services: (args, io) =>
    (require('./commands/services') as typeof import('./commands/services')).servicesCommand(args, io),
  configValidate: (args, io) =>
    (require('./commands/config') as typeof import('./commands/config')).configValidateCommand(args, io),
};

const USAGE_HINT = '(add --help for usage)';

/** commander argParser: a UsageError becomes commander's "option … argument … is invalid" (exit 2). */
function argument<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

interface ScopeFlags {
  cluster?: ClusterRef;
  project?: string;
  fleet?: boolean;
}

interface CommonFlags {
  sandbox?: string;
  json?: boolean;
  verbose?: boolean;
  config?: string;
}

function withScope(command: Command, what: string): Command {
  return command
    .addOption(
      new Option('--cluster <P/L/C>', `${what} one cluster: PROJECT/LOCATION/CLUSTER`).argParser(
        argument(parseClusterArg),
      ),
    )
    .addOption(new Option('--project <P>', `${what} every cluster of one allowed project`))
    .addOption(new Option('--fleet', `${what} every cluster of every allowed project`));
}

function withSandbox(command: Command): Command {
  return command.addOption(
    new Option(
      '--sandbox [file]',
      `use the local cloud of \`npm run sandbox\` described by FILE (default ${DEFAULT_SANDBOX_FILE})`,
    ).preset(DEFAULT_SANDBOX_FILE),
  );
}

function withEngine(command: Command): Command {
  return withSandbox(command)
    .addOption(
      new Option(
        '--config <file>',
        'config JSON (default: $SPOKEFLEET_CONFIG, or the sandbox config with --sandbox)',
      ),
    )
    .option('--json', 'print JSON instead of a table')
    .option('-v, --verbose', 'write the engine log lines (JSON) to stderr');
}

function scopeOf(flags: ScopeFlags): { cluster?: ClusterRef; project?: string; fleet?: boolean } {
  return { cluster: flags.cluster, project: flags.project, fleet: flags.fleet };
}

/** A positive whole number of seconds, at most a day. */
function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds < 1 || seconds > 86_400)
    throw new UsageError(`must be a whole number of seconds from 1 to 86400, got "${value}"`);
  return seconds;
}

export function defaultRequestId(): string {
  return `cli-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The program, wired to `handlers`; `done` receives the handler's exit code. */
export function buildProgram(io: Io, handlers: Handlers, done: (code: number) => void): Command {
  const program = new Command('spokefleet')
    .description(
      'Onboard GKE clusters in Aviatrix spoke VPCs to a GKE fleet for Multi-Cluster Services: ask for a ' +
        'reconcile, preview one, and see where every cluster stands.',
    )
    .version(version, '-V, --version')
    // Set before the subcommands are added: they inherit it.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError(USAGE_HINT)
    .showSuggestionAfterError(true);
  examples(program, [
    ['where every cluster stands, against the local sandbox', 'spokefleet status --sandbox'],
    [
      'what a reconcile of one project would change',
      'spokefleet plan --project my-spokes --config config.json',
    ],
    [
      'ask the deployed function to reconcile the fleet and wait for it',
      'spokefleet reconcile --fleet --topic projects/my-hub/topics/spokefleet-reconcile --wait',
    ],
    [
      'JSON for scripts (npx or npm run -s keep npm banners off stdout)',
      'npx spokefleet status --sandbox --json | jq .fleet',
    ],
  ]);

  withSandbox(
    withScope(
      program
        .command('reconcile')
        .summary('ask onReconcileRequest to reconcile a cluster, a project or the fleet')
        .description(
          'Publishes {"scope": …} to the reconcile topic with @google-cloud/pubsub and prints the message id. ' +
            'With --sandbox: to the emulator when the sandbox runs one, else straight to the function as a binary ' +
            'CloudEvent, waiting for its answer. With --wait: then follows the request by its request id in Cloud ' +
            'Logging until every cluster it fanned out to has answered for good.',
        ),
      'reconcile',
    ),
  )
    .addOption(
      new Option(
        '--topic <topic>',
        'the reconcile topic: projects/P/topics/T, or its id with --project P or $CLOUDSDK_CORE_PROJECT ' +
          '(default: $SPOKEFLEET_RECONCILE_TOPIC)',
      ).argParser(argument(parseTopicArg)),
    )
    .option('--dry-run', 'the function only plans: every write is recorded as planned, nothing is written')
    .option('--request-id <id>', 'correlates the request with its log lines (default: cli-<time>-<random>)')
    .option(
      '--wait',
      'follow the request to its end by its request id (Cloud Logging): every fanned-out cluster request answered',
    )
    .addOption(
      new Option('--wait-timeout <seconds>', 'with --wait: give up after this long (exit 1)')
        .default(900)
        .argParser(argument(parseSeconds)),
    )
    .addOption(
      new Option(
        '--log-project <P>',
        "with --wait: the project of the functions' logs (default: the topic's)",
      ),
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      exampleText([
        [
          'reconcile one cluster in the sandbox and print what it did',
          'spokefleet reconcile --cluster spokefleet-demo/us-east4/gke-us-east4-cluster-1 --sandbox',
        ],
        [
          'the whole fleet, waiting until every cluster has answered',
          'spokefleet reconcile --fleet --sandbox --wait',
        ],
        [
          'one project, topic given by its id (its project is the --project given)',
          'spokefleet reconcile --project my-hub --topic spokefleet-reconcile',
        ],
        [
          'a dry run by the deployed function',
          'spokefleet reconcile --fleet --topic projects/my-hub/topics/spokefleet-reconcile --dry-run',
        ],
      ]),
    )
    .action(
      async (
        flags: ScopeFlags &
          CommonFlags & {
            topic?: string;
            dryRun?: boolean;
            requestId?: string;
            wait?: boolean;
            waitTimeout: number;
            logProject?: string;
          },
      ) => {
        const request = buildRequest(scopeOf(flags), {
          dryRun: flags.dryRun,
          requestId: flags.requestId ?? defaultRequestId(),
        });
        const fromEnv = io.env.SPOKEFLEET_RECONCILE_TOPIC;
        const given = flags.topic ?? (fromEnv ? parseTopicArg(fromEnv) : undefined);
        const topic = given ? resolveTopic(given, flags.project, io.env) : undefined;
        if (!topic && !flags.sandbox) {
          throw new UsageError('--topic projects/PROJECT/topics/TOPIC is required (or --sandbox)');
        }
        const wait = flags.wait
          ? { timeoutSeconds: flags.waitTimeout, logProject: flags.logProject }
          : undefined;
        done(
          await handlers.reconcile(
            { request, topic, sandbox: flags.sandbox, json: flags.json === true, wait },
            io,
          ),
        );
      },
    );

  withEngine(
    withScope(
      program
        .command('plan')
        .summary('show what a reconcile would do, computed locally in dry run; writes nothing')
        .description(
          'Runs the reconcile engine in this process in dry run, with Application Default Credentials (or the ' +
            'sandbox), and prints the action records: step, target, outcome, reason. Exit 1 when any is failed or ' +
            'refused.',
        ),
      'plan',
    ),
  )
    .option('--all', 'list unchanged and skipped rows too (default: changes and problems only)')
    .addHelpText(
      'after',
      exampleText([
        ['what a reconcile of the fleet would change, in the sandbox', 'spokefleet plan --fleet --sandbox'],
        [
          'every row, unchanged included',
          'spokefleet plan --cluster my-spokes/us-east4/gke-1 --config config.json --all',
        ],
        [
          'the planned writes only, as JSON',
          'npx spokefleet plan --fleet --sandbox --json | jq \'.records[] | select(.outcome == "planned")\'',
        ],
      ]),
    )
    .action(async (flags: ScopeFlags & CommonFlags & { all?: boolean }) => {
      const request = buildRequest(scopeOf(flags));
      done(await handlers.plan({ request, ...engineFlags(flags), all: flags.all === true }, io));
    });

  withEngine(
    program
      .command('status')
      .summary(
        'one row per cluster: spoke, VPC-native, workload identity, membership, peering, namespaces, exports',
      )
      .description(
        'Derived read-only from a dry-run reconcile of the fleet (or of --project / --cluster): nothing is written. ' +
          'Exit 1 when a cluster has problems (refused or failed steps).',
      )
      .addOption(
        new Option('--cluster <P/L/C>', 'only this cluster: PROJECT/LOCATION/CLUSTER').argParser(
          argument(parseClusterArg),
        ),
      )
      .addOption(new Option('--project <P>', 'only the clusters of this project'))
      .addOption(
        new Option('-o, --output <format>', 'wide: every column, whole names, problems spelled out').choices([
          'wide',
        ]),
      )
      .addOption(
        new Option(
          '--services',
          'one row per exported Service of the fleet: exporting and importing clusters, DNS name, conditions, problems',
        ).conflicts(['cluster', 'project']),
      ),
  )
    .addHelpText(
      'after',
      [
        '',
        'With --services: one row per exported Service (exporting and importing clusters, clusterset DNS name,',
        'conditions, problems); without it, a summary of exported and imported Services follows the clusters.',
        '',
        'Columns: NAME, LOCATION (PROJECT when the rows span projects), SPOKE, WI (workload identity), FLEET',
        '(membership: yes, no, no-wi), PEERING (custom routes exported), ADVERT (aviatrix.advertise only), NS',
        '(managed namespaces present/configured), EXPORTS, DRIFT (changes a reconcile would make), PROBLEMS',
        '(count; -o wide spells them out). ? is unknown (a read failed), - is not checked.',
        exampleText([
          ['every cluster of the sandbox', 'spokefleet status --sandbox'],
          ['one project, every column', 'spokefleet status --project my-spokes --config config.json -o wide'],
          ['every exported Service, where it is imported', 'spokefleet status --services --sandbox'],
          [
            'clusters that are not members, from JSON',
            "npx spokefleet status --sandbox --json | jq '.clusters[] | select(.member == false) | .name'",
          ],
        ]),
      ].join('\n'),
    )
    .action(async (flags: ScopeFlags & CommonFlags & { output?: string; services?: boolean }) => {
      if (flags.services) {
        done(await handlers.services(engineFlags(flags), io));
        return;
      }
      const request = buildRequest(scopeOf(flags), { defaultFleet: true });
      done(await handlers.status({ request, ...engineFlags(flags), wide: flags.output === 'wide' }, io));
    });

  const config = program.command('config').description('work with Spokefleet config files');
  examples(config, [['check a config file', 'spokefleet config validate config.json']]);
  withSandbox(
    config
      .command('validate')
      .argument(
        '[file]',
        'config JSON file (default: the sandbox config with --sandbox, else $SPOKEFLEET_CONFIG)',
      )
      .description('validate a config as the functions do at cold start, listing every problem'),
  )
    .option('--json', 'print JSON')
    .addOption(
      new Option(
        '--function-timeout <seconds>',
        'the timeout the functions are deployed with (Terraform function_settings.*.timeout_seconds); ' +
          'invocationBudgetSeconds must stay below it',
      )
        .default(540)
        .argParser(argument(parseSeconds)),
    )
    .addHelpText(
      'after',
      exampleText([
        ['a file, before deploying it', 'spokefleet config validate config.json'],
        ['the config the sandbox runs with', 'spokefleet config validate --sandbox'],
        [
          'what the deployed functions have',
          'SPOKEFLEET_CONFIG="$(cat config.json)" spokefleet config validate',
        ],
      ]),
    )
    .action(async (file: string | undefined, flags: CommonFlags & { functionTimeout: number }) => {
      if (!file && !flags.sandbox && io.env.SPOKEFLEET_CONFIG === undefined) {
        throw new UsageError('nothing to validate: give FILE, use --sandbox, or set SPOKEFLEET_CONFIG');
      }
      done(
        await handlers.configValidate(
          {
            file,
            sandbox: flags.sandbox,
            json: flags.json === true,
            functionTimeoutSeconds: flags.functionTimeout,
          },
          io,
        ),
      );
    });

  return program;
}

/** An `Examples:` block for --help: a comment line, then the command. */
function exampleText(list: ReadonlyArray<[string, string]>): string {
  return ['', 'Examples:', ...list.flatMap(([what, command]) => [`  # ${what}`, `  $ ${command}`])].join(
    '\n',
  );
}

function examples(command: Command, list: ReadonlyArray<[string, string]>): void {
  command.addHelpText('after', exampleText(list));
}

function engineFlags(flags: CommonFlags) {
  return {
    config: flags.config,
    sandbox: flags.sandbox,
    json: flags.json === true,
    verbose: flags.verbose === true,
  };
}

/** Parses `argv` (without node and the script), runs the command, and returns its exit code. */
export async function run(
  argv: readonly string[],
  io: Io,
  handlers: Handlers = defaultHandlers,
): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(io, handlers, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed the message (and the hint) already; help and --version end with exitCode 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      println(io.stderr, `error: ${error.message}`);
      println(io.stderr, USAGE_HINT);
      return EXIT_USAGE;
    }
    if (error instanceof ProblemsError) {
      println(io.stderr, `error: ${error.message}:`);
      for (const problem of error.problems) println(io.stderr, `  - ${problem}`);
      return EXIT_FAILURES;
    }
    println(io.stderr, `error: ${describeError(error)}`);
    if (io.env.SPOKEFLEET_DEBUG && error instanceof Error && error.stack) println(io.stderr, error.stack);
    return EXIT_FAILURES;
  }
}
