/** Pinning on bpffs: pin paths libbpf creates (parents may be missing), pinning, opening and removing pins. */
import { existsSync, lstatSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, normalize } from 'node:path';
import { type BpfFdKind, bpfFdKind, isOnBpffs, validatePinPath } from './bpffs.js';
import { ERRNO, InvalidArgumentError, NotFoundError, SyscallError } from './errors.js';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';

/**
 * For paths libbpf pins at itself (map pin paths, the pin root), creating missing directories: the
 * path must be absolute and normalized, and its nearest existing ancestor on bpffs.
 */
export function assertPinPath(path: string, what = 'pin path'): void {
  if (typeof path !== 'string' || !isAbsolute(path) || normalize(path) !== path || path.endsWith('/')) {
    throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(path)}: expected an absolute, normalized path on bpffs (e.g. /sys/fs/bpf/app/name)`);
  }
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  if (!isOnBpffs(dir)) {
    throw new InvalidArgumentError(`invalid ${what} ${path}: ${dir} is not on a bpf filesystem (mount one, e.g. at /sys/fs/bpf)`);
  }
}

/** Whether something is pinned (or exists) at `path`. */
export function pinExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Remove a pin from bpffs (the object lives on while fds or attachments hold it). Throws NotFoundError
 * when nothing is pinned there, unless `missingOk`.
 */
export function removePin(path: string, options: { missingOk?: boolean } = {}): void {
  if (options.missingOk && typeof path === 'string' && isAbsolute(path) && !existsSync(dirname(path))) return;
  const p = validatePinPath(path);
  if (!pinExists(p)) {
    if (options.missingOk) return;
    throw new NotFoundError(`pin ${p}`);
  }
  if (lstatSync(p).isDirectory()) throw new InvalidArgumentError(`remove pin ${p}: is a directory, not a pinned object`);
  rmSync(p);
}

/** Pin the BPF object behind `fd` (a map, program or link) at `path`; EEXIST if something is there. */
export function pinFd(fd: number, path: string, what: string): string {
  const p = validatePinPath(path);
  checkLibbpf('bpf_obj_pin', libbpf.bpf_obj_pin(fd, p), `pin ${what} at ${p}`);
  return p;
}

/** Remove a pin core-bpf made; one that is already gone is fine. */
export function unlinkPin(path: string, context: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') throw new SyscallError('unlink', e.errno ?? ERRNO.EIO, context);
  }
}

/** Open what is pinned at `path`: a new fd (the caller closes it) and the kind of BPF object. */
export function openPin(path: string, context: string): { fd: number; kind: BpfFdKind } {
  const fd = checkLibbpf('bpf_obj_get', libbpf.bpf_obj_get(path), context);
  return { fd, kind: bpfFdKind(fd) };
}
