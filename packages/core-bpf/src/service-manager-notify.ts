/**
 * Telling systemd (or any service manager speaking its notify protocol) how the service is doing:
 * one datagram of `KEY=value` lines to the unix socket $NOTIFY_SOCKET names (a path, or "@name" in
 * the abstract namespace), sent by this process itself, so `NotifyAccess=main` is enough. Used by
 * `bpfsteer run` for Type=notify units: READY=1 once the agent runs, STOPPING=1 when it stops.
 */
import { closeSync } from 'node:fs';
import { lastErrno } from './ffi/lib.js';
import { C, libcRaw } from './ffi/libc.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SOCKADDR_UN } from './ffi/socket-constants.js';
import { InvalidArgumentError, SyscallError } from './errors.js';
import { encodeUnixAddress } from './unix-address.js';

/** sockaddr_un of the notify socket: a path, or "@name" for the abstract namespace (no NUL after the name). */
function notifyAddress(socket: string): { addr: Buffer; length: number } {
  if (!socket.startsWith('@')) return encodeUnixAddress(socket);
  const name = Buffer.from(socket.slice(1), 'utf8');
  if (name.length === 0 || name.length >= SOCKADDR_UN.pathMax) {
    throw new InvalidArgumentError(`invalid NOTIFY_SOCKET ${JSON.stringify(socket)}: an abstract name of 1..${SOCKADDR_UN.pathMax - 1} bytes`);
  }
  const addr = Buffer.alloc(SOCKADDR_UN.size);
  addr.writeUInt16LE(C.AF_UNIX, 0);
  name.copy(addr, SOCKADDR_UN.pathOffset + 1); // sun_path[0] stays 0: the abstract namespace
  return { addr, length: SOCKADDR_UN.pathOffset + 1 + name.length };
}

/**
 * Sends `state` (e.g. "READY=1") to the service manager. Returns false when no manager listens for
 * it ($NOTIFY_SOCKET unset); throws SyscallError when the socket refuses it.
 */
export function notifyServiceManager(state: string, socket: string | undefined = process.env.NOTIFY_SOCKET): boolean {
  if (socket === undefined || socket === '') return false;
  const { addr, length } = notifyAddress(socket);
  const fd = libcRaw.socket(C.AF_UNIX, C.SOCK_DGRAM | C.SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SyscallError('socket', lastErrno(), `notify socket ${socket}`);
  try {
    if (libcSocket.connect(fd, addr, length) < 0) throw new SyscallError('connect', lastErrno(), `notify socket ${socket}`);
    const message = Buffer.from(state, 'utf8');
    if (Number(libcRaw.send(fd, message, message.length, C.MSG_NOSIGNAL)) < 0) throw new SyscallError('send', lastErrno(), `notify socket ${socket}`);
    return true;
  } finally {
    closeSync(fd);
  }
}
