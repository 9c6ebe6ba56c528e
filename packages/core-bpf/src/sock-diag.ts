/**
 * The kernel's socket table through NETLINK_SOCK_DIAG (inet_diag): every TCP socket in LISTEN state
 * of a network namespace, with its local address, port and inode (the inode names the socket in
 * /proc/PID/fd, see socket-owners.ts). Synchronous; the netlink socket is created inside the
 * namespace asked for, which is what selects the namespace's sockets.
 */
import { closeSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { NL } from './ffi/netlink-constants.js';
import { INET_DIAG, SK } from './ffi/socket-constants.js';
import { formatIpv4, formatIpv6 } from '@bpfsteer/ip';
import { BpfError, InvalidArgumentError, SyscallError } from './errors.js';
import { inNetns, type NetnsHandle, netnsLabel } from './netns.js';
import { decodeError, decodeMessages, encodeMessage } from './rtnetlink.js';

export interface TcpListenerSocket {
  readonly family: 4 | 6;
  /** local address as text ("0.0.0.0" / "::" for a wildcard bind) */
  readonly address: string;
  readonly port: number;
  /** the socket's inode (0 for a socket without one) */
  readonly inode: bigint;
  /** owner uid of the socket */
  readonly uid: number;
  /** bound to this interface index (0 = any) */
  readonly ifindex: number;
}

export interface TcpListenersOptions {
  /** the namespace to look into (name, path or open handle); default the current one */
  readonly netns?: string | NetnsHandle;
  /** only listeners on this port */
  readonly port?: number;
  /** only this family; default both */
  readonly family?: 4 | 6;
}

const RECV_BUFFER = 64 * 1024;
const RECV_TIMEOUT_SEC = 5;

/** The fixed part of a SOCK_DIAG_BY_FAMILY dump request for TCP (or UDP) sockets in the `states` bitmask. */
export function encodeInetDiagRequest(family: 4 | 6, states: number, protocol: number = SK.IPPROTO_TCP): Buffer {
  const req = Buffer.alloc(INET_DIAG.reqSize);
  req.writeUInt8(family === 4 ? C.AF_INET : C.AF_INET6, INET_DIAG.req.family);
  req.writeUInt8(protocol, INET_DIAG.req.protocol);
  req.writeUInt8(0, INET_DIAG.req.ext);
  req.writeUInt32LE(states >>> 0, INET_DIAG.req.states);
  return req;
}

/** One inet_diag_msg (the payload of a dump reply message), or undefined when too short. */
export function decodeInetDiagMessage(payload: Uint8Array): (TcpListenerSocket & { state: number }) | undefined {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (view.length < INET_DIAG.msgSize) return undefined;
  const familyNumber = view.readUInt8(INET_DIAG.msg.family);
  if (familyNumber !== C.AF_INET && familyNumber !== C.AF_INET6) return undefined;
  const id = INET_DIAG.msg.id;
  const src = id + INET_DIAG.sockid.src;
  const family = familyNumber === C.AF_INET ? 4 : 6;
  return {
    family,
    state: view.readUInt8(INET_DIAG.msg.state),
    address: family === 4 ? formatIpv4(view, src) : formatIpv6(view, src),
    port: view.readUInt16BE(id + INET_DIAG.sockid.sport),
    ifindex: view.readUInt32LE(id + INET_DIAG.sockid.if),
    uid: view.readUInt32LE(INET_DIAG.msg.uid),
    inode: BigInt(view.readUInt32LE(INET_DIAG.msg.inode)),
  };
}

let nextSeq = ((Date.now() & 0xffff) << 8) ^ 0x5d;

/** One inet_diag dump on a NETLINK_SOCK_DIAG socket of the current namespace. */
function dumpInet(family: 4 | 6, protocol: number, states: number, context: string): TcpListenerSocket[] {
  const seq = (nextSeq = (nextSeq + 1) >>> 0);
  const message = encodeMessage(SK.SOCK_DIAG_BY_FAMILY, NL.F_REQUEST | NL.F_DUMP, seq, encodeInetDiagRequest(family, states, protocol));
  const fd = check('socket', libcRaw.socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC, SK.NETLINK_SOCK_DIAG), context);
  try {
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(RECV_TIMEOUT_SEC), 0);
    check('setsockopt', libcRaw.setsockopt(fd, C.SOL_SOCKET, C.SO_RCVTIMEO, tv, 16), `${context}: SO_RCVTIMEO`);
    const sent = check('send', libcRaw.send(fd, message, message.length, 0), context);
    if (sent !== message.length) throw new BpfError('ERR_BPF_SYSCALL', `${context}: short netlink send (${sent} of ${message.length} bytes)`);
    const out: TcpListenerSocket[] = [];
    const buf = Buffer.alloc(RECV_BUFFER);
    for (;;) {
      const n = check('recv', libcRaw.recv(fd, buf, buf.length, 0), `${context}: waiting for the dump`);
      for (const msg of decodeMessages(Buffer.from(buf.subarray(0, n)))) {
        if (msg.seq !== seq) continue;
        if (msg.type === NL.NLMSG_DONE) return out;
        if (msg.type === NL.NLMSG_ERROR) {
          const { errno, text } = decodeError(msg);
          if (errno !== 0) throw new SyscallError('SOCK_DIAG_BY_FAMILY', errno, context, text);
          return out;
        }
        if (msg.type !== SK.SOCK_DIAG_BY_FAMILY) continue;
        const entry = decodeInetDiagMessage(msg.payload);
        if (entry) {
          const { state: _state, ...socket } = entry;
          out.push(socket);
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The sockets of `protocol` in `states` of the namespace (filtered by `port` / `family` when given). */
function inetSockets(what: string, protocol: number, states: number, options: TcpListenersOptions): TcpListenerSocket[] {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`${what}: options must be an object`);
  const { port, family, netns } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new InvalidArgumentError(`${what}: invalid port ${String(port)}: expected an integer 1..65535`);
  }
  if (family !== undefined && family !== 4 && family !== 6) {
    throw new InvalidArgumentError(`${what}: invalid family ${String(family)}: expected 4 or 6`);
  }
  const where = netns === undefined ? 'the current netns' : `netns ${netnsLabel(netns)}`;
  const families: Array<4 | 6> = family ? [family] : [4, 6];
  const all = inNetns(netns, () => families.flatMap((f) => dumpInet(f, protocol, states, `${what} (IPv${f}) in ${where}`)));
  return port === undefined ? all : all.filter((s) => s.port === port);
}

/** Every listening TCP socket of the namespace (filtered by `port` / `family` when given). */
export function tcpListeners(options: TcpListenersOptions = {}): TcpListenerSocket[] {
  return inetSockets('tcpListeners', SK.IPPROTO_TCP, 1 << SK.TCP_LISTEN, options);
}

/**
 * Every bound, unconnected UDP socket of the namespace (the kernel reports them in state
 * TCP_CLOSE), as a UDP tproxy listener is (filtered by `port` / `family` when given).
 */
export function udpListeners(options: TcpListenersOptions = {}): TcpListenerSocket[] {
  return inetSockets('udpListeners', SK.IPPROTO_UDP, 1 << SK.TCP_CLOSE, options);
}
