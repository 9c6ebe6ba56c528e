/**
 * Removes a cgroup that a test or bench created, with its child cgroups, once the processes it put
 * there are gone. A process killed a moment ago can still be listed in `cgroup.procs` (it is still
 * exiting, or not yet reaped), and the kernel refuses to remove a populated cgroup (EBUSY): so the
 * processes left are killed (`cgroup.kill`, kernel 5.14+; else SIGKILL to each), and the removal waits
 * until the cgroup is empty.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `path`: the absolute directory of the cgroup (as createCgroup returns it); missing is fine. */
export async function removeOwnCgroup(path: string, timeoutMs = 5000): Promise<void> {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeOwnCgroup(join(path, entry.name), timeoutMs);
  }
  const procs = () => readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  if (procs().length > 0) {
    if (existsSync(join(path, 'cgroup.kill'))) writeFileSync(join(path, 'cgroup.kill'), '1');
    else for (const pid of procs()) killQuietly(pid);
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (procs().length === 0) return rmdirSync(path);
    } catch (err) {
      // a task that left cgroup.procs may still be exiting
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    }
    if (Date.now() > until) throw new Error(`cgroup ${path} still holds processes [${procs().join(', ')}] after ${timeoutMs} ms`);
    await pause(20);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
