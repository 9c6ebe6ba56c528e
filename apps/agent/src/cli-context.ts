import type { Command } from 'commander';
import type { ConfigFactories, ContainerModule } from '@bpfsteer/agent-kernel';

/** Exit codes of `bpfsteer`. */
export const ExitCode = {
  ok: 0,
  /** runtime failure (agent failed, no agent answers, invalid config for `validate`) */
  failure: 1,
  /** usage or config error (bad flags, invalid config for `run`) */
  usage: 2,
} as const;

export interface CliContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /**
   * the container modules of the plugins and sources a config document (YAML parsed, not yet
   * validated) selects; the built-in ones are loaded only when selected
   */
  readonly modulesFor: (document: unknown) => Promise<readonly ContainerModule[]>;
  /**
   * the factories of the same plugins and sources, without a container (what `validate` needs):
   * loads neither inversify nor the rest of agent-kernel's main entry
   */
  readonly factoriesFor: (document: unknown) => Promise<ConfigFactories>;
  /** set by the command that ran */
  exitCode: number;
}

/**
 * A command module: registers one command on the program. It imports nothing at run time but
 * commander and light modules of its own (`--help` loads every command module): its action imports
 * the implementation when it runs.
 */
export type CommandRegistration = (program: Command, context: CliContext) => void;
