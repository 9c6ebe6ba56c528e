/** Spawns the built `bpfsteer` binary like a user would (build apps/agent first: nx's test target does). */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin.js');

export interface BpfsteerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedBpfsteer {
  readonly child: ChildProcess;
  readonly done: Promise<BpfsteerResult>;
  /** stderr so far (the process may still run) */
  stderr(): string;
}

/** Starts `bpfsteer ...args` (`env` added to this process's); the child is pushed onto `children` so the test can kill leftovers. */
export function spawnBpfsteer(args: string[], children: ChildProcess[], env: Record<string, string> = {}): SpawnedBpfsteer {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<BpfsteerResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}
