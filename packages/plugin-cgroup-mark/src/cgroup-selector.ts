/**
 * Where the mesh proxy's cgroup is: a cgroup2 path given in the config, or found from the proxy
 * process (by pid, or by its command name in /proc/<pid>/comm). The cgroup2 hierarchy is found, or
 * mounted when missing, by core-bpf's cgroup2Root(). A process outside this one's cgroup namespace
 * (the agent in a Kubernetes pod, ztunnel in another: /proc/<pid>/cgroup reads "/../..") is looked
 * up from the host's cgroup namespace, in the mount of the host's whole hierarchy (core-bpf's
 * cgroup-namespace.ts; the DaemonSet mounts the host's /sys/fs/cgroup).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError, cgroup2Root, inHostCgroupNamespace, wholeCgroup2Mount } from '@bpfsteer/core-bpf';

/** A cgroup path (relative to the cgroup2 root or absolute inside it), or the process to take it from. */
export type CgroupSelector = string | { readonly pid: number } | { readonly process: string };

/** The kernel truncates a task's comm to 15 characters. */
const COMM_LEN = 15;

/** The cgroup2 path ("0::/a/b" line) of a /proc/<pid>/cgroup text, or undefined (no cgroup2 line). */
export function cgroup2PathOf(procCgroup: string): string | undefined {
  for (const line of procCgroup.split('\n')) {
    if (line.startsWith('0::')) {
      const path = line.slice(3).trim();
      // "(deleted)" suffix: the process is in a removed cgroup
      return path.startsWith('/') && !path.endsWith(' (deleted)') ? path : undefined;
    }
  }
  return undefined;
}

/** Joins a cgroup2-relative path ("/a/b") to the hierarchy's mount point. */
export function underRoot(root: string, path: string): string {
  const rel = path.replace(/^\/+/, '');
  const base = root.replace(/\/+$/, '');
  return rel === '' ? base : `${base}/${rel}`;
}

/** A short human description of a selector, for logs and status. */
export function describeSelector(sel: CgroupSelector): string {
  if (typeof sel === 'string') return `cgroup ${sel}`;
  return 'pid' in sel ? `the cgroup of pid ${sel.pid}` : `the cgroup of process ${JSON.stringify(sel.process)}`;
}

/** Whether a cgroup path lies outside the reader's cgroup namespace ("/../a": relative to the namespace's root). */
const outsideNamespace = (path: string): boolean => path === '/..' || path.startsWith('/../');

/** Finds cgroups from the host's cgroup namespace (replaceable for tests). */
export interface HostView {
  /** runs `read` where cgroup paths read whole, and gives the mount of the whole hierarchy there */
  run<T>(read: () => T): { readonly value: T; readonly root: string };
}

export const hostView: HostView = {
  run: (read) => inHostCgroupNamespace(() => ({ value: read(), root: wholeCgroup2Mount() })),
};

/** The cgroup2 paths of `pids` (no cgroup2 line: left out), with the mount they are under. */
function cgroupsOf(pids: readonly number[], proc: ProcReader, root: string, host: HostView): string[] {
  const read = () => pids.flatMap((pid) => cgroup2PathOf(proc.read(pid, 'cgroup') ?? '') ?? []);
  const paths = read();
  if (!paths.some(outsideNamespace)) return paths.map((p) => underRoot(root, p));
  const whole = host.run(read);
  return whole.value.map((p) => underRoot(whole.root, p));
}

export interface ProcReader {
  /** pids in /proc */
  pids(): number[];
  /** /proc/<pid>/<file> text, undefined when the process is gone */
  read(pid: number, file: 'comm' | 'cgroup'): string | undefined;
}

export const procfs: ProcReader = {
  pids: () => readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number),
  read: (pid, file) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/**
 * The absolute cgroup directories `sel` designates (several when several processes of that name
 * run in different cgroups, e.g. during a proxy upgrade). Throws NotFoundError when there is none.
 */
export function resolveCgroups(sel: CgroupSelector, proc: ProcReader = procfs, root: string = cgroup2Root(), host: HostView = hostView): string[] {
  if (typeof sel === 'string') {
    if (sel.length === 0 || sel.split('/').includes('..')) {
      throw new InvalidArgumentError(`cgroup ${JSON.stringify(sel)}: expected a path relative to the cgroup2 root (${root}) or absolute inside it, without '..'`);
    }
    const abs = sel.startsWith('/') ? sel.replace(/\/+$/, '') : underRoot(root, sel);
    if (sel.startsWith('/') && abs !== root.replace(/\/+$/, '') && !abs.startsWith(`${root.replace(/\/+$/, '')}/`)) {
      throw new InvalidArgumentError(`cgroup ${sel} is outside the cgroup2 hierarchy mounted at ${root}`);
    }
    if (!existsSync(join(abs, 'cgroup.procs'))) throw new NotFoundError(`cgroup ${abs}`);
    return [abs];
  }
  if (sel !== null && typeof sel === 'object' && 'pid' in sel) {
    if (!Number.isInteger(sel.pid) || sel.pid <= 0) throw new InvalidArgumentError(`cgroup of pid ${String(sel.pid)}: expected a positive integer pid`);
    const found = cgroupsOf([sel.pid], proc, root, host);
    if (found.length === 0) throw new NotFoundError(`a cgroup2 cgroup of pid ${sel.pid} (no such process, or it has no cgroup2 membership)`);
    return found;
  }
  if (sel !== null && typeof sel === 'object' && 'process' in sel) {
    const name = sel.process;
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
      throw new InvalidArgumentError(`cgroup of process ${JSON.stringify(name)}: expected a command name as in /proc/<pid>/comm`);
    }
    const want = name.slice(0, COMM_LEN);
    const pids = proc.pids().filter((pid) => proc.read(pid, 'comm')?.trim() === want);
    const found = new Set(cgroupsOf(pids, proc, root, host));
    if (found.size === 0) throw new NotFoundError(`a running process named ${JSON.stringify(name)} with a cgroup2 cgroup`);
    return [...found].sort();
  }
  throw new InvalidArgumentError(`cgroup selector ${JSON.stringify(sel)}: expected a path, { pid } or { process }`);
}
