/**
 * cgroup v2 helpers: find (or mount) the cgroup2 hierarchy, create and remove cgroups, move
 * processes. A cgroup is named by a path relative to the cgroup2 root ("bpfsteer/agent") or by an
 * absolute path inside it.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { check, libcRaw } from './ffi/libc.js';
import { InvalidArgumentError, NotFoundError, SyscallError } from './errors.js';

/** Where cgroup2 is mounted when the system has no cgroup2 mount. */
export const PRIVATE_CGROUP2_DIR = '/run/bpfsteer/cgroup2';

/** Undo mountinfo's octal escapes (\040 for a space, ...). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Every cgroup2 mount of a /proc/self/mountinfo text: its mount point and its root in the hierarchy (as the reading thread's cgroup namespace shows it). */
export function cgroup2Mounts(mountinfo: string): { readonly mountPoint: string; readonly root: string }[] {
  const out: { mountPoint: string; root: string }[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'cgroup2') continue;
    const fields = line.slice(0, sep).split(' ');
    if (fields.length >= 5) out.push({ mountPoint: unescapeMountinfo(fields[4]!), root: unescapeMountinfo(fields[3]!) });
  }
  return out;
}

/** The mount point of the first cgroup2 filesystem in /proc/self/mountinfo text, if any. */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  return cgroup2Mounts(mountinfo)[0]?.mountPoint;
}

let root: string | undefined;

/**
 * The cgroup2 mount point, discovered from /proc/self/mountinfo; when cgroup2 is not mounted it is
 * mounted at PRIVATE_CGROUP2_DIR (a mount, so it needs CAP_SYS_ADMIN).
 */
export function cgroup2Root(): string {
  if (root !== undefined) return root;
  const found = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (found !== undefined) {
    root = found;
    return root;
  }
  mkdirSync(PRIVATE_CGROUP2_DIR, { recursive: true });
  check('mount', libcRaw.mount('none', PRIVATE_CGROUP2_DIR, 'cgroup2', 0, null), `mount cgroup2 at ${PRIVATE_CGROUP2_DIR}`);
  root = PRIVATE_CGROUP2_DIR;
  return root;
}

/**
 * Absolute path of a cgroup given relative to `rootDir` or absolute inside it. Refuses '..' and
 * paths outside the root.
 */
export function resolveCgroupPath(path: string, rootDir: string): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError('cgroup: expected a path relative to the cgroup2 root or absolute inside it, got an empty value');
  }
  if (path.split('/').includes('..')) {
    throw new InvalidArgumentError(`cgroup ${JSON.stringify(path)}: '..' is not allowed in a cgroup path`);
  }
  const base = normalize(rootDir).replace(/\/+$/, '');
  if (isAbsolute(path)) {
    const abs = normalize(path).replace(/\/+$/, '');
    if (abs !== base && !abs.startsWith(`${base}/`)) {
      throw new InvalidArgumentError(`cgroup ${path} is outside the cgroup2 hierarchy at ${base}`);
    }
    return abs;
  }
  return normalize(`${base}/${path}`).replace(/\/+$/, '');
}

/** A failed node:fs call as a SyscallError naming `call` and its errno (other errors as they are). */
export function fsError(call: string, err: unknown, context: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno === 'number') return new SyscallError(call, -e.errno, context);
  return err as Error;
}

/** Create a cgroup (and missing parents); returns its absolute path. Existing cgroups are fine. */
export function createCgroup(path: string): string {
  const abs = resolveCgroupPath(path, cgroup2Root());
  try {
    mkdirSync(abs, { recursive: true });
  } catch (err) {
    throw fsError('mkdir', err, `create cgroup ${abs}`);
  }
  return abs;
}

/** Remove an empty cgroup (no processes, no children: the kernel refuses otherwise with EBUSY). */
export function removeCgroup(path: string): void {
  const abs = resolveCgroupPath(path, cgroup2Root());
  if (abs === normalize(cgroup2Root()).replace(/\/+$/, '')) {
    throw new InvalidArgumentError('removeCgroup: refusing to remove the cgroup2 root');
  }
  try {
    rmdirSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`cgroup ${abs}`);
    throw fsError('rmdir', err, `remove cgroup ${abs} (it must have no processes and no child cgroups)`);
  }
}

/** Move process `pid` (all its threads) into the cgroup. */
export function moveToCgroup(path: string, pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new InvalidArgumentError(`moveToCgroup: invalid pid ${pid}: expected a positive integer`);
  }
  const abs = resolveCgroupPath(path, cgroup2Root());
  if (!existsSync(`${abs}/cgroup.procs`)) throw new NotFoundError(`cgroup ${abs}`);
  try {
    writeFileSync(`${abs}/cgroup.procs`, `${pid}\n`);
  } catch (err) {
    throw fsError('write', err, `move pid ${pid} into cgroup ${abs}`);
  }
}

/** The cgroup id (the inode number of its directory, what bpf_link_info reports). */
export function cgroupId(absPath: string): bigint {
  return statSync(absPath, { bigint: true }).ino;
}
