import type { Command } from 'commander';
import type { ContainerModule } from '@bpfsteer/agent-kernel';

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
  /** set by the command that ran */
  exitCode: number;
}

/** A command module: registers one command on the program. */
export type CommandRegistration = (program: Command, context: CliContext) => void;
