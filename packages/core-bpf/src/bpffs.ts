/**
 * Checks of bpffs pin paths and of what kind of BPF object an fd is.
 */
import { readlinkSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, normalize } from 'node:path';
import { InvalidArgumentError } from './errors.js';

export const BPFFS_MAGIC = 0xcafe4a11;

/** Whether `dir` is on a bpf filesystem. */
export function isOnBpffs(dir: string): boolean {
  try {
    return statfsSync(dir).type === BPFFS_MAGIC;
  } catch {
    return false;
  }
}

/** A pin path: absolute, normalized, its directory on a bpf filesystem. Returns the normalized path. */
export function validatePinPath(path: unknown, what = 'pin path'): string {
  if (typeof path !== 'string' || !isAbsolute(path) || path.endsWith('/')) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(path)}: expected an absolute file path on bpffs (e.g. /sys/fs/bpf/NAME)`);
  }
  const p = normalize(path);
  if (!isOnBpffs(dirname(p))) {
    throw new InvalidArgumentError(`invalid ${what} ${p}: its directory ${dirname(p)} is missing or not on a bpf filesystem`);
  }
  return p;
}

export type BpfFdKind = 'link' | 'prog' | 'map' | 'other';

/** Map the /proc/self/fd link text of an fd to the BPF object kind ("anon_inode:bpf-link", ...). */
export function bpfFdKindOf(linkText: string): BpfFdKind {
  switch (linkText) {
    case 'anon_inode:bpf-link':
      return 'link';
    case 'anon_inode:bpf-prog':
      return 'prog';
    case 'anon_inode:bpf-map':
      return 'map';
    default:
      return 'other';
  }
}

export function bpfFdKind(fd: number): BpfFdKind {
  try {
    return bpfFdKindOf(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return 'other';
  }
}
