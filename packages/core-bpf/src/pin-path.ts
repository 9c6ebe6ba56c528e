/** Pin locations that libbpf creates (parents may be missing), and removing a pin. */
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, normalize } from 'node:path';
import { isOnBpffs, validatePinPath } from './bpffs.js';
import { InvalidArgumentError, NotFoundError } from './errors.js';

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
