/**
 * The `bpfsteer` command line: builds the commander program from the command modules. It imports
 * commander and the command declarations only (`--help` and `--version` load nothing else); the
 * built-in plugins and sources, and agent-kernel, are imported by the command that uses them.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import type { ConfigFactories } from '@bpfsteer/agent-kernel';
import { type CliContext, type CommandRegistration, ExitCode } from './cli-context.js';
import * as commands from './commands/index.js';

export interface MainOptions {
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** factories configs may select, instead of the built-in plugins and sources */
  readonly factories?: ConfigFactories;
}

function version(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return pkg.version;
}

export function buildProgram(context: CliContext): Command {
  const program = new Command('bpfsteer')
    .description('steers Linux traffic with eBPF from the intents of control planes')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => context.stdout.write(s),
      writeErr: (s) => context.stderr.write(s),
    });
  for (const register of Object.values(commands) as CommandRegistration[]) register(program, context);
  return program;
}

/** Runs the CLI on `args` (without node and script); resolves to the exit code. */
export async function main(args: readonly string[], options: MainOptions = {}): Promise<number> {
  const context: CliContext = {
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    modulesFor: async (document) => {
      if (!options.factories) return (await import('./builtins.js')).builtinModulesFor(document);
      const { pluginModule, sourceModule } = await import('@bpfsteer/agent-kernel');
      return [pluginModule(...options.factories.plugins), sourceModule(...options.factories.sources)];
    },
    factoriesFor: async (document) => options.factories ?? (await import('./builtin-factories.js')).builtinFactoriesFor(document),
    exitCode: ExitCode.ok,
  };
  const program = buildProgram(context);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const fine = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      return fine ? ExitCode.ok : ExitCode.usage;
    }
    context.stderr.write(`bpfsteer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.failure;
  }
  return context.exitCode;
}
