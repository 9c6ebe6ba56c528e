/**
 * What a socket fd is: family, type, protocol, whether it listens, its local address and port, its
 * inode and the inode of its network namespace. Used to check a socket received from another
 * process before relying on it.
 */
import { fstatSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { cOffsets } from './ffi/ffi-structs.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SK, UCRED } from './ffi/socket-constants.js';
import { formatIpv4, formatIpv6 } from '@bpfsteer/ip';
import { socketNetnsInode } from './netns-fd.js';
import { validateFd } from './socket-options.js';
import { SyscallError } from './errors.js';

export type SocketFamily = 'unix' | 'inet' | 'inet6' | 'netlink' | 'other';
export type SocketType = 'stream' | 'dgram' | 'seqpacket' | 'raw' | 'other';

export interface SocketInfo {
  readonly family: SocketFamily;
  readonly type: SocketType;
  /** IPPROTO_* number (6 = TCP, 17 = UDP; 0 for unix sockets) */
  readonly protocol: number;
  /** SO_ACCEPTCONN: listen() was called */
  readonly listening: boolean;
  /** inet6 only: IPV6_V6ONLY (false = a dual-stack socket that also takes IPv4) */
  readonly v6Only?: boolean;
  /** inet/inet6 only: the bound address (text) and port */
  readonly local?: { readonly address: string; readonly port: number };
  /** the socket's inode (what /proc/PID/fd links name as socket:[inode]) */
  readonly inode: bigint;
  /** inode of the network namespace the socket belongs to */
  readonly netnsInode: bigint;
}

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

function intOption(fd: number, name: number, label: string, level: number = C.SOL_SOCKET): number {
  const v = Buffer.alloc(4);
  const len = new Uint32Array([4]);
  check('getsockopt', libcRaw.getsockopt(fd, level, name, v, len), `read ${label} of fd ${fd}`);
  return v.readInt32LE(0);
}

const families: Record<number, SocketFamily> = { [C.AF_UNIX]: 'unix', [C.AF_INET]: 'inet', [C.AF_INET6]: 'inet6', [C.AF_NETLINK]: 'netlink' };
const types: Record<number, SocketType> = { [C.SOCK_STREAM]: 'stream', [C.SOCK_DGRAM]: 'dgram', [SK.SOCK_SEQPACKET]: 'seqpacket', [C.SOCK_RAW]: 'raw' };

/** Decodes a sockaddr_in / sockaddr_in6 (as getsockname fills it) into address text and port. */
export function decodeInetSockaddr(buf: Uint8Array): { address: string; port: number } | undefined {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length < 2) return undefined;
  const family = view.readUInt16LE(0);
  if (family === C.AF_INET && view.length >= 8) {
    return { address: formatIpv4(view, cOffsets.sockaddrIn4Addr), port: view.readUInt16BE(2) };
  }
  if (family === C.AF_INET6 && view.length >= 24) {
    return { address: formatIpv6(view, cOffsets.sockaddrIn6Addr), port: view.readUInt16BE(2) };
  }
  return undefined;
}

/** Inspect socket `fd` (throws SyscallError ENOTSOCK for anything that is not a socket). */
export function socketInfo(fd: number): SocketInfo {
  validateFd(fd, 'socket fd');
  const domain = intOption(fd, SK.SO_DOMAIN, 'SO_DOMAIN');
  const family = families[domain] ?? 'other';
  const typeNumber = intOption(fd, SK.SO_TYPE, 'SO_TYPE');
  const protocol = intOption(fd, SK.SO_PROTOCOL, 'SO_PROTOCOL');
  const listening = intOption(fd, SK.SO_ACCEPTCONN, 'SO_ACCEPTCONN') !== 0;
  let local: { address: string; port: number } | undefined;
  if (family === 'inet' || family === 'inet6') {
    const addr = Buffer.alloc(128);
    const len = new Uint32Array([addr.length]);
    check('getsockname', libcSocket.getsockname(fd, addr, len), `local address of fd ${fd}`);
    local = decodeInetSockaddr(addr.subarray(0, Math.min(len[0], addr.length)));
  }
  return {
    family,
    type: types[typeNumber] ?? 'other',
    protocol,
    listening,
    ...(family === 'inet6' ? { v6Only: intOption(fd, SK.IPV6_V6ONLY, 'IPV6_V6ONLY', C.IPPROTO_IPV6) !== 0 } : {}),
    ...(local ? { local } : {}),
    inode: fstatSync(fd, { bigint: true }).ino,
    netnsInode: socketNetnsInode(fd),
  };
}

/** netfilter's SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST: both 80 */
const SO_ORIGINAL_DST = 80;
const SOL_IP = 0;

/**
 * The original destination of a connection redirected to the listener that accepted `fd` (an
 * accepted TCP socket of family `family`), as iptables REDIRECT or a cgroup/getsockopt program
 * answers getsockopt(SOL_IP, SO_ORIGINAL_DST) / getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST);
 * undefined when none is known (ENOENT, ENOPROTOOPT: the connection was not redirected).
 */
export function originalDestination(fd: number, family: 4 | 6): { address: string; port: number } | undefined {
  validateFd(fd, 'socket fd');
  const v = Buffer.alloc(28);
  const len = new Uint32Array([family === 4 ? 16 : 28]);
  try {
    check('getsockopt', libcRaw.getsockopt(fd, family === 4 ? SOL_IP : C.IPPROTO_IPV6, SO_ORIGINAL_DST, v, len), `read the original destination of fd ${fd}`);
  } catch (err) {
    if (err instanceof SyscallError && (err.errno === 'ENOENT' || err.errno === 'ENOPROTOOPT')) return undefined;
    throw err;
  }
  return decodeInetSockaddr(v.subarray(0, Math.min(len[0], v.length)));
}

/** SO_PEERCRED of a connected unix socket: the peer's pid, uid and gid at connect time. */
export function peerCredentials(fd: number): PeerCredentials {
  validateFd(fd, 'socket fd');
  const v = Buffer.alloc(UCRED.size);
  const len = new Uint32Array([UCRED.size]);
  check('getsockopt', libcRaw.getsockopt(fd, C.SOL_SOCKET, SK.SO_PEERCRED, v, len), `read SO_PEERCRED of fd ${fd}`);
  return { pid: v.readInt32LE(UCRED.pid), uid: v.readUInt32LE(UCRED.uid), gid: v.readUInt32LE(UCRED.gid) };
}
