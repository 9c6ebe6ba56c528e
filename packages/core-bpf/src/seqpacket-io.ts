/**
 * One message in, one message out, on a non-blocking SOCK_SEQPACKET (or datagram) unix socket, with
 * SCM_RIGHTS fds. Never waits: "again" when the kernel would block. The SeqpacketSocket class puts
 * an event loop around these.
 */
import { closeSync } from 'node:fs';
import { koffi, lastErrno } from './ffi/lib.js';
import { C, libcRaw } from './ffi/libc.js';
import { ERRNO, InvalidArgumentError, SyscallError } from './errors.js';
import { decodeRights, encodeRights, MAX_FDS_PER_MESSAGE, rightsSpace } from './fd-passing.js';

const IOV_SIZE = 16;
const AGAIN = new Set<number>([ERRNO.EAGAIN, ERRNO.EINTR]);

export interface Packet {
  readonly payload: Buffer;
  /** fds that came with the message: close-on-exec, owned by the receiver */
  readonly fds: number[];
  /** the sender attached more fds than could be taken: the rest were closed by the kernel */
  readonly fdsTruncated: boolean;
  /** the message was longer than the buffer: the rest is lost */
  readonly payloadTruncated: boolean;
}

function block(size: number): { ptr: bigint; view: Buffer } {
  const ptr = koffi.alloc('uint8_t', size) as bigint;
  return { ptr, view: Buffer.from(koffi.view(ptr, size)) };
}

/**
 * Send `payload` (at least one byte) with `fds` (0..253) as one message. Returns "again" when the
 * socket's buffer is full; throws SyscallError for anything else (EPIPE once the peer is gone).
 */
export function sendPacket(fd: number, payload: Uint8Array, fds: readonly number[], context: string): 'sent' | 'again' {
  if (payload.length === 0) {
    throw new InvalidArgumentError(`${context}: a message needs at least one byte (an empty one reads as end of stream)`);
  }
  if (fds.length > MAX_FDS_PER_MESSAGE) throw new InvalidArgumentError(`${context}: at most ${MAX_FDS_PER_MESSAGE} fds per message, got ${fds.length}`);
  const control = fds.length > 0 ? encodeRights(fds) : Buffer.alloc(0);
  const mem = block(IOV_SIZE + control.length + payload.length);
  try {
    const ctrl = mem.ptr + BigInt(IOV_SIZE);
    const body = ctrl + BigInt(control.length);
    control.copy(mem.view, IOV_SIZE);
    mem.view.set(payload, IOV_SIZE + control.length);
    mem.view.writeBigUInt64LE(body, 0);
    mem.view.writeBigUInt64LE(BigInt(payload.length), 8);
    const msg = {
      msg_name: null,
      msg_namelen: 0,
      msg_iov: mem.ptr,
      msg_iovlen: 1,
      msg_control: control.length > 0 ? ctrl : null,
      msg_controllen: control.length,
      msg_flags: 0,
    };
    const n = Number(libcRaw.sendmsg(fd, msg, C.MSG_NOSIGNAL));
    if (n < 0) {
      const errno = lastErrno();
      if (AGAIN.has(errno)) return 'again';
      throw new SyscallError('sendmsg', errno, context);
    }
    if (n !== payload.length) throw new SyscallError('sendmsg', ERRNO.EMSGSIZE, `${context}: short send (${n} of ${payload.length} bytes)`);
    return 'sent';
  } finally {
    koffi.free(mem.ptr);
  }
}

/**
 * Receive one message with up to `maxFds` fds (more are closed and flagged) and `maxPayload` bytes. "again" when none is queued,
 * "eof" when the peer closed the connection (a zero-byte read).
 */
export function receivePacket(fd: number, maxFds: number, maxPayload: number, context: string): Packet | 'again' | 'eof' {
  const space = rightsSpace(maxFds);
  const mem = block(IOV_SIZE + space + maxPayload);
  try {
    const ctrl = mem.ptr + BigInt(IOV_SIZE);
    const body = ctrl + BigInt(space);
    mem.view.writeBigUInt64LE(body, 0);
    mem.view.writeBigUInt64LE(BigInt(maxPayload), 8);
    const msg: Record<string, unknown> = {
      msg_name: null,
      msg_namelen: 0,
      msg_iov: mem.ptr,
      msg_iovlen: 1,
      msg_control: ctrl,
      msg_controllen: space,
      msg_flags: 0,
    };
    const n = Number(libcRaw.recvmsg(fd, msg, C.MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const errno = lastErrno();
      if (AGAIN.has(errno)) return 'again';
      throw new SyscallError('recvmsg', errno, context);
    }
    const all = decodeRights(mem.view.subarray(IOV_SIZE, IOV_SIZE + space), Math.min(Number(msg.msg_controllen), space));
    if (n === 0 && all.length === 0) return 'eof';
    // CMSG_SPACE rounds up, so the buffer may hold one fd more than asked: close what is over
    const fds = all.slice(0, maxFds);
    closeAll(all.slice(maxFds));
    const flags = Number(msg.msg_flags);
    return {
      payload: Buffer.from(mem.view.subarray(IOV_SIZE + space, IOV_SIZE + space + Math.min(n, maxPayload))),
      fds,
      fdsTruncated: (flags & C.MSG_CTRUNC) !== 0 || all.length > maxFds,
      payloadTruncated: (flags & C.MSG_TRUNC) !== 0,
    };
  } finally {
    koffi.free(mem.ptr);
  }
}

/** Close fds, ignoring ones already closed (cleanup paths). */
export function closeAll(fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}
