/**
 * The libc calls of core-bpf's unix-socket, socket-inspection, fd and pidfd helpers, declared once
 * and lazily (the general ones — socket, sendmsg, recvmsg, setsockopt, ioctl — are in libc.ts).
 * fcntl and syscall are variadic: each extra argument is passed as a koffi type name and a value.
 */
import { lazyFn, libcLib } from './lib.js';
import { declareFfiStructs } from './ffi-structs.js';

function fn<F extends (...args: any[]) => any>(signature: string): F {
  return lazyFn<F>(() => {
    declareFfiStructs();
    return libcLib();
  }, signature);
}

export const libcSocket = {
  bind: fn<(fd: number, addr: Buffer, len: number) => number>('int bind(int fd, const void *addr, uint32_t len)'),
  connect: fn<(fd: number, addr: Buffer, len: number) => number>('int connect(int fd, const void *addr, uint32_t len)'),
  listen: fn<(fd: number, backlog: number) => number>('int listen(int fd, int backlog)'),
  accept4: fn<(fd: number, addr: null, len: null, flags: number) => number>('int accept4(int fd, void *addr, uint32_t *len, int flags)'),
  getsockname: fn<(fd: number, addr: Buffer, len: Uint32Array) => number>(
    'int getsockname(int fd, _Out_ void *addr, _Inout_ uint32_t *len)',
  ),
  /** fcntl(fd, cmd, 'int', arg) */
  fcntl: fn<(fd: number, cmd: number, ...typedArgs: unknown[]) => number>('int fcntl(int fd, int cmd, ...)'),
  /** syscall(nr, 'int', a, 'unsigned int', b, ...) */
  syscall: fn<(nr: number, ...typedArgs: unknown[]) => number | bigint>('long syscall(long nr, ...)'),
};
