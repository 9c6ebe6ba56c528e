/**
 * The host's view of the cgroup2 hierarchy from inside a container. A Kubernetes pod gets a private
 * cgroup namespace (containerd, CRI-O on cgroup v2): /proc/<pid>/cgroup of another pod's process then
 * reads as a path outside this process's namespace ("/../../kubepods/..."), and the container's own
 * /sys/fs/cgroup shows only its own cgroup. With the host's PID namespace (pid 1 is the host's init)
 * and CAP_SYS_ADMIN, the calling thread can enter the host's cgroup namespace (setns(2) acts on the
 * thread), read paths from there and come back; a cgroup2 mount of the host's hierarchy (a hostPath
 * mount of the host's /sys/fs/cgroup) is the one whose mountinfo root reads "/" from there.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { cgroup2Mounts, fsError } from './cgroup.js';
import { NotFoundError } from './errors.js';

/**
 * Runs `fn` on the calling thread inside the cgroup namespace of process `hostPid` (default 1: the
 * host's init, with the host's PID namespace), and comes back.
 */
export function inHostCgroupNamespace<T>(fn: () => T, hostPid = 1): T {
  const own = openSync('/proc/thread-self/ns/cgroup', 'r');
  try {
    let host: number;
    try {
      host = openSync(`/proc/${hostPid}/ns/cgroup`, 'r');
    } catch (err) {
      throw fsError('open', err, `open the cgroup namespace of pid ${hostPid} (the host's: needs the host PID namespace and CAP_SYS_PTRACE)`);
    }
    try {
      check('setns', libcRaw.setns(host, C.CLONE_NEWCGROUP), `enter the cgroup namespace of pid ${hostPid} (needs CAP_SYS_ADMIN)`);
    } finally {
      closeSync(host);
    }
    try {
      return fn();
    } finally {
      check('setns', libcRaw.setns(own, C.CLONE_NEWCGROUP), 'return to this thread\'s cgroup namespace');
    }
  } finally {
    closeSync(own);
  }
}

/**
 * The mount point of a cgroup2 mount showing the whole hierarchy of the cgroup namespace the
 * calling thread is in (its root "/"); call it inside inHostCgroupNamespace for the host's.
 */
export function wholeCgroup2Mount(): string {
  const found = cgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.root === '/');
  if (found === undefined) {
    throw new NotFoundError(
      'a cgroup2 mount of the whole hierarchy (this process sees only part of it, from a cgroup namespace of its own: mount the host\'s /sys/fs/cgroup, e.g. a hostPath volume)',
    );
  }
  return found.mountPoint;
}
