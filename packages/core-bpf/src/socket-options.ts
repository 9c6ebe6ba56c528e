/**
 * Socket options Node's `net`/`dgram` cannot set, applied to raw socket fds (a Node socket's fd, or
 * one created elsewhere and adopted with `new net.Socket({ fd })`).
 */
import { C, check, libcRaw } from './ffi/libc.js';
import { InvalidArgumentError } from './errors.js';

/** A file descriptor argument: a non-negative integer. */
export function validateFd(fd: unknown, what = 'fd'): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new InvalidArgumentError(`invalid ${what} ${String(fd)}: expected a non-negative integer file descriptor`);
  }
  return fd;
}

function u32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value >>> 0);
  return buf;
}

/** SO_MARK: the firewall mark of every packet the socket sends (CAP_NET_ADMIN). */
export function setSocketMark(fd: number, mark: number): void {
  validateFd(fd);
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) {
    throw new InvalidArgumentError(`setSocketMark: invalid mark ${mark}: expected an integer 0..0xffffffff`);
  }
  check('setsockopt', libcRaw.setsockopt(fd, C.SOL_SOCKET, C.SO_MARK, u32(mark), 4), `set SO_MARK ${mark} on fd ${fd}`);
}

/** The socket's SO_MARK. */
export function getSocketMark(fd: number): number {
  validateFd(fd);
  const v = Buffer.alloc(4);
  const len = new Uint32Array([4]);
  check('getsockopt', libcRaw.getsockopt(fd, C.SOL_SOCKET, C.SO_MARK, v, len), `read SO_MARK of fd ${fd}`);
  return v.readUInt32LE(0);
}

/**
 * IP_TRANSPARENT / IPV6_TRANSPARENT: lets the socket bind to and answer from non-local addresses
 * (needed for packets delivered by policy routing or bpf_sk_assign to a non-local destination).
 */
export function setIpTransparent(fd: number, family: 4 | 6, on: boolean): void {
  validateFd(fd);
  if (family !== 4 && family !== 6) {
    throw new InvalidArgumentError(`setIpTransparent: invalid family ${String(family)}: expected 4 or 6`);
  }
  if (typeof on !== 'boolean') throw new InvalidArgumentError(`setIpTransparent: 'on' must be a boolean`);
  const [level, name] = family === 4 ? [C.IPPROTO_IP, C.IP_TRANSPARENT] : [C.IPPROTO_IPV6, C.IPV6_TRANSPARENT];
  check(
    'setsockopt',
    libcRaw.setsockopt(fd, level, name, u32(on ? 1 : 0), 4),
    `set ${family === 4 ? 'IP_TRANSPARENT' : 'IPV6_TRANSPARENT'} on fd ${fd}`,
  );
}
