import { Option } from 'commander';
import type { LogLevel } from '@bpfsteer/agent-kernel';
import type { CommandRegistration } from '../cli-context.js';
import type { RunOptions } from './run-agent.js';

/**
 * agent-kernel's `logLevels`, here so that `--help` loads no agent-kernel (its config schemas, zod):
 * `SameLevels` fails to compile when the two lists name different levels.
 */
const logLevelChoices = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LogLevel[];
type SameLevels = [Exclude<LogLevel, (typeof logLevelChoices)[number]>] extends [never] ? true : false;
const sameLevels: SameLevels = true;
void sameLevels;

/** `bpfsteer run -c <file>`: runs until SIGTERM/SIGINT (clean shutdown, exit 0); SIGHUP reloads. */
export const runCommand: CommandRegistration = (program, context) => {
  program
    .command('run')
    .description('run the agent until SIGTERM/SIGINT; SIGHUP re-reads the sources (e.g. the config file)')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .addOption(new Option('--log-format <format>', 'log lines on stderr').choices(['json', 'pretty']).default('json'))
    .addOption(new Option('--log-level <level>', 'overrides agent.logLevel').choices(logLevelChoices))
    .option('--keep-pinned', 'on exit keep pinned maps and links in force, for a restart without a traffic gap')
    .option(
      '--take-over',
      'start while an agent runs on the same config, with no moment in which its sockets do not answer: take its sockets, ' +
        'let it stop keeping its pins, then adopt them (without a running agent: start as usual)',
    )
    .option(
      '--kubernetes',
      "in a Kubernetes pod: report to the API server through the pod's service account (Events on the Node: started, " +
        'plugin or source failed, Istiod unreachable; the Node condition BpfsteerDegraded)',
    )
    .option('--kubernetes-node <name>', 'the Node to report on (default: $NODE_NAME, which the DaemonSet sets from spec.nodeName)')
    .option('--kubernetes-root <dir>', 'the root the service-account files are read under', '/')
    .action(async (opts: RunOptions) => {
      const { runAgent } = await import('./run-agent.js');
      context.exitCode = await runAgent(opts, context);
    });
};
