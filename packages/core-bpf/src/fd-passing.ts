/**
 * Passing file descriptors between processes over a unix socket (SCM_RIGHTS), which Node's `net`
 * cannot do. Both calls are synchronous system calls on a raw fd: on a blocking socket they wait,
 * on a non-blocking one with nothing to do they throw SyscallError EAGAIN.
 */
import { closeSync } from 'node:fs';
import { koffi } from './ffi/lib.js';
import { C, check, libcRaw } from './ffi/libc.js';
import { cOffsets } from './ffi/ffi-structs.js';
import { ERRNO, InvalidArgumentError, SyscallError } from './errors.js';
import { validateFd } from './socket-options.js';

/** Most fds one message may carry (SCM_MAX_FD). */
export const MAX_FDS_PER_MESSAGE = 253;

const HDR = cOffsets.cmsgData; // sizeof(struct cmsghdr) on LP64, also CMSG_DATA's offset
const align8 = (n: number): number => (n + 7) & ~7;

/** CMSG_SPACE for `count` fds. */
export function rightsSpace(count: number): number {
  return HDR + align8(4 * count);
}

/** One SCM_RIGHTS control message carrying `fds`, CMSG_SPACE bytes long. */
export function encodeRights(fds: readonly number[]): Buffer {
  const buf = Buffer.alloc(rightsSpace(fds.length));
  buf.writeBigUInt64LE(BigInt(HDR + 4 * fds.length), 0); // cmsg_len = CMSG_LEN
  buf.writeInt32LE(C.SOL_SOCKET, 8);
  buf.writeInt32LE(C.SCM_RIGHTS, 12);
  fds.forEach((fd, i) => buf.writeInt32LE(fd, HDR + 4 * i));
  return buf;
}

/** The fds of every SCM_RIGHTS message in the first `length` bytes of a control buffer. */
export function decodeRights(control: Buffer, length: number): number[] {
  const fds: number[] = [];
  for (let off = 0; off + HDR <= length; ) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < HDR || off + len > length) break;
    if (control.readInt32LE(off + 8) === C.SOL_SOCKET && control.readInt32LE(off + 12) === C.SCM_RIGHTS) {
      for (let p = off + HDR; p + 4 <= off + len; p += 4) fds.push(control.readInt32LE(p));
    }
    off += align8(len);
  }
  return fds;
}

/** Native memory for one call: koffi pointer + a Buffer view onto it. */
function nativeBlock(size: number): { ptr: bigint; view: Buffer } {
  const ptr = koffi.alloc('uint8_t', Math.max(size, 1)) as bigint;
  return { ptr, view: Buffer.from(koffi.view(ptr, Math.max(size, 1))) };
}

/**
 * Send `fds` (with `payload`, at least one byte; default a single 0 byte) over the unix socket
 * `socketFd`. The receiver gets its own duplicates; the caller's fds stay open. Returns the payload
 * bytes sent (all of them).
 */
export function sendFds(socketFd: number, fds: readonly number[], payload?: Uint8Array): number {
  validateFd(socketFd, 'socket fd');
  if (!Array.isArray(fds) || fds.length === 0 || fds.length > MAX_FDS_PER_MESSAGE) {
    throw new InvalidArgumentError(`sendFds: expected 1..${MAX_FDS_PER_MESSAGE} fds, got ${Array.isArray(fds) ? fds.length : String(fds)}`);
  }
  fds.forEach((fd) => validateFd(fd, 'fd to send'));
  const data = payload === undefined ? Buffer.alloc(1) : Buffer.from(payload);
  if (data.length === 0) throw new InvalidArgumentError('sendFds: payload must be at least one byte (a stream socket drops fds sent without data)');

  const control = encodeRights(fds);
  const iovSize = 16;
  const block = nativeBlock(iovSize + control.length + data.length);
  try {
    const iov = block.ptr;
    const ctrl = block.ptr + BigInt(iovSize);
    const body = ctrl + BigInt(control.length);
    control.copy(block.view, iovSize);
    data.copy(block.view, iovSize + control.length);
    let sent = 0;
    while (sent < data.length) {
      block.view.writeBigUInt64LE(body + BigInt(sent), 0); // iov_base
      block.view.writeBigUInt64LE(BigInt(data.length - sent), 8); // iov_len
      const first = sent === 0;
      const msg = {
        msg_name: null,
        msg_namelen: 0,
        msg_iov: iov,
        msg_iovlen: 1,
        msg_control: first ? ctrl : null,
        msg_controllen: first ? control.length : 0,
        msg_flags: 0,
      };
      const n = check('sendmsg', libcRaw.sendmsg(socketFd, msg, C.MSG_NOSIGNAL), `send ${fds.length} fd(s) over fd ${socketFd}`);
      if (n === 0) throw new SyscallError('sendmsg', ERRNO.EPIPE, `send fds over fd ${socketFd}`);
      sent += n;
    }
    return sent;
  } finally {
    koffi.free(block.ptr);
  }
}

export interface ReceivedFds {
  /** received descriptors, close-on-exec, owned by the caller */
  fds: number[];
  /** the bytes that came with them (empty with no fds when the peer closed the socket) */
  payload: Buffer;
}

/**
 * Receive one message with up to `max` fds from the unix socket `socketFd`. If the sender sent more
 * fds than `max`, or (datagram/seqpacket sockets) a payload longer than `maxPayload` (default
 * 64 KiB), the received fds are closed and SyscallError EMSGSIZE is thrown. On a stream socket the
 * payload is whatever bytes were readable, at most `maxPayload`.
 */
export function receiveFds(socketFd: number, max: number, maxPayload = 65536): ReceivedFds {
  validateFd(socketFd, 'socket fd');
  if (!Number.isInteger(max) || max < 1 || max > MAX_FDS_PER_MESSAGE) {
    throw new InvalidArgumentError(`receiveFds: invalid max ${max}: expected an integer 1..${MAX_FDS_PER_MESSAGE}`);
  }
  if (!Number.isInteger(maxPayload) || maxPayload < 1) {
    throw new InvalidArgumentError(`receiveFds: invalid maxPayload ${maxPayload}: expected a positive integer`);
  }
  const space = rightsSpace(max);
  const iovSize = 16;
  const block = nativeBlock(iovSize + space + maxPayload);
  try {
    const ctrl = block.ptr + BigInt(iovSize);
    const body = ctrl + BigInt(space);
    block.view.writeBigUInt64LE(body, 0);
    block.view.writeBigUInt64LE(BigInt(maxPayload), 8);
    const msg: Record<string, unknown> = {
      msg_name: null,
      msg_namelen: 0,
      msg_iov: block.ptr,
      msg_iovlen: 1,
      msg_control: ctrl,
      msg_controllen: space,
      msg_flags: 0,
    };
    const n = check('recvmsg', libcRaw.recvmsg(socketFd, msg, C.MSG_CMSG_CLOEXEC), `receive fds on fd ${socketFd}`);
    const controlLength = Number(msg.msg_controllen);
    const fds = decodeRights(block.view.subarray(iovSize, iovSize + space), Math.min(controlLength, space));
    const flags = Number(msg.msg_flags);
    if (flags & (C.MSG_CTRUNC | C.MSG_TRUNC)) {
      for (const fd of fds) closeSync(fd);
      const why = flags & C.MSG_CTRUNC ? `the sender sent more than ${max} fd(s)` : `the message is longer than ${maxPayload} bytes`;
      throw new SyscallError('recvmsg', ERRNO.EMSGSIZE, `receive fds on fd ${socketFd}: ${why}`);
    }
    const payload = Buffer.from(block.view.subarray(iovSize + space, iovSize + space + n));
    return { fds, payload };
  } finally {
    koffi.free(block.ptr);
  }
}

/** A connected pair of unix stream sockets (blocking, close-on-exec): [a, b]. */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  check('socketpair', libcRaw.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0, sv), 'create a unix socket pair');
  return [sv[0], sv[1]];
}
