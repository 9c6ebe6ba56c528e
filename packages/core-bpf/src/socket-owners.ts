/**
 * Which processes hold a socket: every /proc/PID/fd/N link that reads `socket:[INODE]`. Processes
 * that exit or deny access while being scanned are skipped.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { InvalidArgumentError } from './errors.js';

export interface SocketOwner {
  readonly pid: number;
  /** the fd number inside that process */
  readonly fd: number;
}

export interface SocketOwnersOptions {
  /** only look at these processes (default: every process in /proc) */
  readonly pids?: readonly number[];
  /** the proc mount to read; default /proc */
  readonly procRoot?: string;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // the process exited, or no permission
  }
}

/** The (pid, fd) pairs that refer to the socket with inode `inode`, ordered by pid then fd. */
export function socketOwners(inode: bigint | number, options: SocketOwnersOptions = {}): SocketOwner[] {
  const ino = typeof inode === 'bigint' ? inode : BigInt(inode);
  if (ino <= 0n) throw new InvalidArgumentError(`socketOwners: invalid inode ${String(inode)}: expected a positive socket inode`);
  const proc = options.procRoot ?? '/proc';
  const pids = options.pids
    ? [...options.pids]
    : list(proc)
        .filter((name) => /^[0-9]+$/.test(name))
        .map(Number);
  const target = `socket:[${ino}]`;
  const owners: SocketOwner[] = [];
  for (const pid of pids.sort((a, b) => a - b)) {
    const dir = `${proc}/${pid}/fd`;
    for (const name of list(dir)) {
      let link: string;
      try {
        link = readlinkSync(`${dir}/${name}`);
      } catch {
        continue;
      }
      if (link === target) owners.push({ pid, fd: Number(name) });
    }
  }
  return owners.sort((a, b) => a.pid - b.pid || a.fd - b.fd);
}
