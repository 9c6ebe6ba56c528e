/**
 * File descriptors owned by JavaScript objects: duplicate (close-on-exec), test whether one is open,
 * name it as a path (`/proc/self/fd/N`, which other code can open or setns through), and an
 * `OwnedFd` that closes its fd exactly once.
 */
import { closeSync, fstatSync } from 'node:fs';
import { lastErrno } from './ffi/lib.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SK } from './ffi/socket-constants.js';
import { ClosedError, ERRNO, SyscallError } from './errors.js';
import { validateFd } from './socket-options.js';

/** Lowest number a duplicate gets: never 0-2 (stdio). */
const MIN_DUP_FD = 3;

/** A close-on-exec duplicate of `fd` (fcntl F_DUPFD_CLOEXEC); the caller owns it. */
export function dupFd(fd: number, context = `duplicate fd ${fd}`): number {
  validateFd(fd);
  const n = libcSocket.fcntl(fd, SK.F_DUPFD_CLOEXEC, 'int', MIN_DUP_FD);
  if (n < 0) throw new SyscallError('fcntl(F_DUPFD_CLOEXEC)', lastErrno(), context);
  return n;
}

/** Whether `fd` is an open descriptor of this process. */
export function isFdOpen(fd: number): boolean {
  validateFd(fd);
  if (libcSocket.fcntl(fd, SK.F_GETFD, 'int', 0) >= 0) return true;
  const errno = lastErrno();
  if (errno === ERRNO.EBADF) return false;
  throw new SyscallError('fcntl(F_GETFD)', errno, `check fd ${fd}`);
}

/** The path that names open fd `fd` of this process (valid while the fd is open). */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${validateFd(fd)}`;
}

/** The inode number of what `fd` refers to (a socket's inode, a namespace's inode, ...). */
export function fdInode(fd: number): bigint {
  return fstatSync(validateFd(fd), { bigint: true }).ino;
}

/** One open fd with one owner: closed exactly once, by close() / dispose, unless released. */
export class OwnedFd implements Disposable {
  readonly what: string;
  #fd: number;

  /** Takes ownership of `fd` (it is closed by close()). */
  constructor(fd: number, what = `fd ${fd}`) {
    this.#fd = validateFd(fd);
    this.what = what;
  }

  /** An OwnedFd of a fresh duplicate of `fd` (the caller keeps `fd`). */
  static dup(fd: number, what?: string): OwnedFd {
    const copy = dupFd(fd, `duplicate ${what ?? `fd ${fd}`}`);
    return new OwnedFd(copy, what ?? `fd ${copy}`);
  }

  get fd(): number {
    if (this.#fd < 0) throw new ClosedError(this.what);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** `/proc/self/fd/N` of this fd. */
  get path(): string {
    return fdPath(this.fd);
  }

  /** Another OwnedFd of a duplicate of this one. */
  dup(what = this.what): OwnedFd {
    return OwnedFd.dup(this.fd, what);
  }

  /** Give the fd up without closing it: the caller owns it now. */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    return fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.what;
  }
}
