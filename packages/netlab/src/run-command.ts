import { spawnSync } from 'node:child_process';

export class LabCommandError extends Error {
  readonly code = 'ERR_NETLAB_COMMAND';
  constructor(
    readonly argv: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: exited ${status}: ${stderr.trim()}`);
    this.name = 'LabCommandError';
  }
}

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command synchronously; never throws for a non-zero exit. */
export function tryRun(argv: readonly string[], timeoutMs = 15_000): CommandResult {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) return { status: -1, stdout: '', stderr: String(r.error.message) };
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command synchronously and returns its stdout; throws LabCommandError on a non-zero exit. */
export function run(argv: readonly string[], timeoutMs = 15_000): string {
  const r = tryRun(argv, timeoutMs);
  if (r.status !== 0) throw new LabCommandError(argv, r.status, r.stderr);
  return r.stdout;
}
