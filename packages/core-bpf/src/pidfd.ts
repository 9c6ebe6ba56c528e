/**
 * Taking a file descriptor out of another process: pidfd_open(2) + pidfd_getfd(2) (Linux >= 5.6;
 * the caller needs ptrace rights over the target, i.e. CAP_SYS_PTRACE or the same user without
 * Yama restrictions).
 */
import { closeSync } from 'node:fs';
import { lastErrno } from './ffi/lib.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SK } from './ffi/socket-constants.js';
import { ERRNO, InvalidArgumentError, NotSupportedError, SyscallError } from './errors.js';
import { validateFd } from './socket-options.js';

function validatePid(pid: unknown): number {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1 || pid > 0x3fffffff) {
    throw new InvalidArgumentError(`invalid pid ${String(pid)}: expected a positive integer process id`);
  }
  return pid;
}

function fail(call: string, context: string): never {
  const errno = lastErrno();
  if (errno === ERRNO.ENOSYS) throw new NotSupportedError(call, '5.6');
  throw new SyscallError(call, errno, context);
}

/** A pidfd (close-on-exec) referring to process `pid`; ESRCH when there is none. */
export function pidfdOpen(pid: number): number {
  validatePid(pid);
  const fd = Number(libcSocket.syscall(SK.SYS_pidfd_open, 'int', pid, 'unsigned int', 0));
  if (fd < 0) fail('pidfd_open', `open a pidfd of process ${pid}`);
  return fd;
}

/** A duplicate (close-on-exec) of fd `targetFd` of the process behind `pidfd`. */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  validateFd(pidfd, 'pidfd');
  validateFd(targetFd, 'target fd');
  const fd = Number(libcSocket.syscall(SK.SYS_pidfd_getfd, 'int', pidfd, 'int', targetFd, 'unsigned int', 0));
  if (fd < 0) fail('pidfd_getfd', `take fd ${targetFd} through pidfd ${pidfd}`);
  return fd;
}

/** A duplicate of fd `targetFd` of process `pid` (pidfd_open, pidfd_getfd, close the pidfd). */
export function duplicateFdFromProcess(pid: number, targetFd: number): number {
  const pidfd = pidfdOpen(pid);
  try {
    return pidfdGetfd(pidfd, targetFd);
  } finally {
    closeSync(pidfd);
  }
}
