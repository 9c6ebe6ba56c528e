/**
 * Test-only raw IPv4 sockets through libc (socket/bind/listen/sendto/recv), for sockets that must be
 * created inside a netns section or carry options Node cannot set.
 */
import { lazyFn, libcLib, lastErrno } from '../../src/ffi/lib.js';
import { C, libcRaw } from '../../src/ffi/libc.js';

const c = {
  socket: lazyFn<(d: number, t: number, p: number) => number>(libcLib, 'int socket(int domain, int type, int protocol)'),
  bind: lazyFn<(fd: number, addr: Buffer, len: number) => number>(libcLib, 'int bind(int fd, const void *addr, uint32_t len)'),
  listen: lazyFn<(fd: number, backlog: number) => number>(libcLib, 'int listen(int fd, int backlog)'),
  connect: lazyFn<(fd: number, addr: Buffer, len: number) => number>(libcLib, 'int connect(int fd, const void *addr, uint32_t len)'),
  sendto: lazyFn<(fd: number, buf: Buffer, n: number, flags: number, addr: Buffer, len: number) => number>(
    libcLib,
    'intptr_t sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len)',
  ),
  recv: lazyFn<(fd: number, buf: Buffer, n: number, flags: number) => number>(libcLib, 'intptr_t recv(int fd, void *buf, size_t n, int flags)'),
  getsockname: lazyFn<(fd: number, addr: Buffer, len: Uint32Array) => number>(libcLib, 'int getsockname(int fd, void *addr, uint32_t *len)'),
};

const SO_REUSEADDR = 2;
export const SOCK_STREAM = C.SOCK_STREAM;
export const SOCK_DGRAM = C.SOCK_DGRAM;

function ok(call: string, ret: number): number {
  if (ret < 0) throw new Error(`${call} failed: errno ${lastErrno()}`);
  return ret;
}

export function sockaddrIn(ip: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(C.AF_INET, 0);
  b.writeUInt16BE(port, 2);
  ip.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
  return b;
}

export function socket4(type: number): number {
  return ok('socket', c.socket(C.AF_INET, type | C.SOCK_CLOEXEC, 0));
}

export function socket6(type: number): number {
  return ok('socket', c.socket(C.AF_INET6, type | C.SOCK_CLOEXEC, 0));
}

export function bind4(fd: number, ip: string, port: number): void {
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  libcRaw.setsockopt(fd, C.SOL_SOCKET, SO_REUSEADDR, one, 4);
  ok('bind', c.bind(fd, sockaddrIn(ip, port), 16));
}

export function listen(fd: number): void {
  ok('listen', c.listen(fd, 16));
}

export function connect4(fd: number, ip: string, port: number): void {
  ok('connect', c.connect(fd, sockaddrIn(ip, port), 16));
}

export function sendto4(fd: number, data: Buffer, ip: string, port: number): void {
  ok('sendto', c.sendto(fd, data, data.length, 0, sockaddrIn(ip, port), 16));
}

export function recv(fd: number, max = 2048): Buffer {
  const b = Buffer.alloc(max);
  const n = ok('recv', c.recv(fd, b, max, 0));
  return b.subarray(0, n);
}

export function localPort(fd: number): number {
  const b = Buffer.alloc(16);
  ok('getsockname', c.getsockname(fd, b, new Uint32Array([16])));
  return b.readUInt16BE(2);
}

/** A TCP listener on ip:port created in the caller's current netns. */
export function tcpListener(ip: string, port: number): number {
  const fd = socket4(SOCK_STREAM);
  bind4(fd, ip, port);
  listen(fd);
  return fd;
}
