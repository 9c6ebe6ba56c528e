/**
 * Checks on a file descriptor said to be a network namespace (one received from another process,
 * e.g. over SCM_RIGHTS), and the namespace a socket lives in.
 */
import { closeSync, fstatSync } from 'node:fs';
import { C, libcRaw } from './ffi/libc.js';
import { lastErrno } from './ffi/lib.js';
import { SK } from './ffi/socket-constants.js';
import { ERRNO, errnoName, InvalidArgumentError, SyscallError } from './errors.js';
import { validateFd } from './socket-options.js';

/** Whether `fd` refers to a network namespace (ioctl NS_GET_NSTYPE). */
export function isNetnsFd(fd: number): boolean {
  validateFd(fd);
  return libcRaw.ioctl(fd, C.NS_GET_NSTYPE) === C.CLONE_NEWNET;
}

/**
 * The inode of the network namespace `fd` refers to; InvalidArgumentError (naming `what`) when it
 * is not an open network namespace fd.
 */
export function netnsFdInode(fd: number, what = `fd ${fd}`): bigint {
  validateFd(fd, what);
  const type = libcRaw.ioctl(fd, C.NS_GET_NSTYPE);
  if (type < 0) {
    const errno = lastErrno();
    const why =
      errno === ERRNO.EBADF ? 'it is not open' : errno === ERRNO.ENOTTY ? 'it is not a namespace file' : `ioctl NS_GET_NSTYPE: ${errnoName(errno)}`;
    throw new InvalidArgumentError(`${what} is not a network namespace fd: ${why}`);
  }
  if (type !== C.CLONE_NEWNET) throw new InvalidArgumentError(`${what} is a namespace fd, but not of a network namespace`);
  return fstatSync(fd, { bigint: true }).ino;
}

/** The inode of the network namespace socket `fd` belongs to (ioctl SIOCGSKNS). */
export function socketNetnsInode(fd: number): bigint {
  validateFd(fd, 'socket fd');
  const ns = libcRaw.ioctl(fd, SK.SIOCGSKNS);
  if (ns < 0) throw new SyscallError('ioctl(SIOCGSKNS)', lastErrno(), `netns of socket fd ${fd}`);
  try {
    return fstatSync(ns, { bigint: true }).ino;
  } finally {
    closeSync(ns);
  }
}
