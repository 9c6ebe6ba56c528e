/**
 * Which sockets another process still holds: one pass over /proc/<pid>/fd of every process,
 * looking for `socket:[inode]` links. A listener that only this agent still holds (its proxy exited)
 * keeps accepting connections nobody will ever serve; the agent must let go of it.
 */
import { readdirSync, readlinkSync } from 'node:fs';

export interface SocketHoldersOptions {
  /** default /proc */
  readonly procRoot?: string;
  /** the process not to count (default: this one) */
  readonly selfPid?: number;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // the process went, or its fds are not ours to read
  }
}

/** The inodes of `inodes` that some process other than `selfPid` has an fd of. */
export function socketsHeldElsewhere(inodes: ReadonlySet<bigint>, options: SocketHoldersOptions = {}): Set<bigint> {
  const held = new Set<bigint>();
  if (inodes.size === 0) return held;
  const proc = options.procRoot ?? '/proc';
  const self = String(options.selfPid ?? process.pid);
  const wanted = new Map<string, bigint>([...inodes].map((ino) => [`socket:[${ino}]`, ino]));
  for (const pid of list(proc)) {
    if (pid === self || !/^[0-9]+$/.test(pid)) continue;
    const dir = `${proc}/${pid}/fd`;
    for (const fd of list(dir)) {
      let link: string;
      try {
        link = readlinkSync(`${dir}/${fd}`);
      } catch {
        continue;
      }
      const ino = wanted.get(link);
      if (ino === undefined) continue;
      held.add(ino);
      wanted.delete(link);
      if (wanted.size === 0) return held;
    }
  }
  return held;
}
