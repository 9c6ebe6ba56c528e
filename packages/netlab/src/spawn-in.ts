/**
 * A process started inside a network namespace (nsenter --net), and optionally inside a cgroup: a
 * shell moves itself there, then becomes the program, so every socket it opens is charged to that
 * cgroup from the start.
 */
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';

export interface SpawnInOptions {
  /** absolute cgroup directory */
  readonly cgroup?: string;
  /** default: stdout piped, stderr inherited */
  readonly stdio?: StdioOptions;
}

export function spawnIn(netnsPath: string, argv: readonly string[], options: SpawnInOptions = {}): ChildProcess {
  const inNs = ['nsenter', `--net=${netnsPath}`, '--', ...argv];
  const stdio = options.stdio ?? ['ignore', 'pipe', 'inherit'];
  return options.cgroup
    ? spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', options.cgroup, ...inNs], { stdio })
    : spawn(inNs[0]!, inNs.slice(1), { stdio });
}

/** Resolves once `child` printed a line starting with `prefix` on stdout (that line); rejects if it exits first. */
export function untilLine(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (line !== undefined) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.slice(0, 6).join(' ')} exited ${code} before it printed "${prefix}"`)));
  });
}
