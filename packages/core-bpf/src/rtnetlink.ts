/**
 * A minimal rtnetlink client: encode one request (header + fixed part + attributes), send it on a
 * fresh NETLINK_ROUTE socket of the current network namespace, and collect the replies until the
 * ACK or the end of a dump. A NLMSG_ERROR reply with a non-zero code becomes SyscallError naming
 * the request and the errno (plus the kernel's extended-ack text when it gave one).
 * Synchronous: callers run it inside `inNetns` to act on another namespace.
 */
import { closeSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { NL } from './ffi/netlink-constants.js';
import { BpfError, SyscallError } from './errors.js';

const align4 = (n: number): number => (n + 3) & ~3;
const RECV_BUFFER = 64 * 1024;
const RECV_TIMEOUT_SEC = 5;

export interface NetlinkAttr {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** everything after the 16-byte header */
  readonly payload: Buffer;
}

/** One attribute, padded to 4 bytes. */
export function encodeAttr(type: number, data: Uint8Array): Buffer {
  const buf = Buffer.alloc(align4(NL.ATTR_HDR_LEN + data.length));
  buf.writeUInt16LE(NL.ATTR_HDR_LEN + data.length, 0);
  buf.writeUInt16LE(type, 2);
  buf.set(data, NL.ATTR_HDR_LEN);
  return buf;
}

export const u8Attr = (type: number, v: number): Buffer => encodeAttr(type, Uint8Array.of(v));
export function u32Attr(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return encodeAttr(type, b);
}

/** A whole request message: header, fixed part (already padded), attributes. */
export function encodeMessage(type: number, flags: number, seq: number, fixed: Uint8Array, attrs: readonly Uint8Array[] = []): Buffer {
  const body = Buffer.concat([fixed, ...attrs]);
  const hdr = Buffer.alloc(NL.HDR_LEN);
  hdr.writeUInt32LE(NL.HDR_LEN + body.length, 0);
  hdr.writeUInt16LE(type, 4);
  hdr.writeUInt16LE(flags, 6);
  hdr.writeUInt32LE(seq >>> 0, 8);
  hdr.writeUInt32LE(0, 12);
  return Buffer.concat([hdr, body]);
}

/** Splits a datagram into its messages (stops at a malformed length). */
export function decodeMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  for (let off = 0; off + NL.HDR_LEN <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < NL.HDR_LEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      payload: buf.subarray(off + NL.HDR_LEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The attributes in `buf` (nested attributes are left as raw data). */
export function decodeAttrs(buf: Uint8Array): NetlinkAttr[] {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkAttr[] = [];
  for (let off = 0; off + NL.ATTR_HDR_LEN <= view.length; ) {
    const len = view.readUInt16LE(off);
    if (len < NL.ATTR_HDR_LEN || off + len > view.length) break;
    out.push({ type: view.readUInt16LE(off + 2) & 0x3fff, data: view.subarray(off + NL.ATTR_HDR_LEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** The errno (positive; 0 = ACK) and the extended-ack message of an NLMSG_ERROR reply. */
export function decodeError(msg: NetlinkMessage): { errno: number; text?: string } {
  const errno = -msg.payload.readInt32LE(0) | 0; // | 0: no -0 for an ACK
  if (!(msg.flags & NL.F_ACK_TLVS)) return { errno };
  // nlmsgerr = error + the request's header (and, without CAPPED, the whole request)
  const origLen = msg.payload.length >= 8 ? msg.payload.readUInt32LE(4) : 0;
  const tlvStart = 4 + (msg.flags & NL.F_CAPPED ? NL.HDR_LEN : align4(origLen));
  const text = decodeAttrs(msg.payload.subarray(tlvStart)).find((a) => a.type === NL.NLMSGERR_ATTR_MSG);
  const s = text ? Buffer.from(text.data).toString('utf8').replace(/\0.*$/s, '') : '';
  return s ? { errno, text: s } : { errno };
}

let nextSeq = (Date.now() & 0xffff) << 8;

/**
 * Sends `message` (built with sequence number `seq` by `build`) on a new NETLINK_ROUTE socket of
 * the current namespace and returns the data messages of the reply. `call` names the request in
 * errors (e.g. "RTM_NEWNEIGH").
 */
export function rtnetlinkRequest(call: string, context: string, build: (seq: number) => Buffer): NetlinkMessage[] {
  const seq = (nextSeq = (nextSeq + 1) >>> 0);
  const message = build(seq);
  const fd = check('socket', libcRaw.socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC, NL.NETLINK_ROUTE), context);
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1, 0);
    // best effort: the kernel's error text and short ACKs (both present since 4.12)
    libcRaw.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_EXT_ACK, one, 4);
    libcRaw.setsockopt(fd, NL.SOL_NETLINK, NL.NETLINK_CAP_ACK, one, 4);
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(RECV_TIMEOUT_SEC), 0);
    check('setsockopt', libcRaw.setsockopt(fd, C.SOL_SOCKET, C.SO_RCVTIMEO, tv, 16), `${context}: SO_RCVTIMEO`);
    const sent = check('send', libcRaw.send(fd, message, message.length, 0), context);
    if (sent !== message.length) throw new BpfError('ERR_BPF_SYSCALL', `${context}: ${call}: short netlink send (${sent} of ${message.length} bytes)`);

    const data: NetlinkMessage[] = [];
    const buf = Buffer.alloc(RECV_BUFFER);
    for (;;) {
      const n = check('recv', libcRaw.recv(fd, buf, buf.length, 0), `${context}: waiting for the ${call} reply`);
      for (const msg of decodeMessages(Buffer.from(buf.subarray(0, n)))) {
        if (msg.seq !== seq) continue;
        if (msg.type === NL.NLMSG_DONE) return data;
        if (msg.type === NL.NLMSG_ERROR) {
          const { errno, text } = decodeError(msg);
          if (errno !== 0) throw new SyscallError(call, errno, context, text);
          return data;
        }
        data.push(msg);
        if (!(msg.flags & NL.F_MULTI)) return data;
      }
    }
  } finally {
    closeSync(fd);
  }
}
