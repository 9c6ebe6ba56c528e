/**
 * Every libc function core-bpf calls (namespaces, interfaces, socket options, fd passing, mounts,
 * formatting libbpf's messages, copying ring buffer records), declared once and lazily, with the libc numbers they take. `check`
 * turns a -1 return into SyscallError naming the call and the errno.
 */
import { lazyFn, libcLib, lastErrno, type Ptr } from './lib.js';
import { declareFfiStructs } from './ffi-structs.js';
import { SyscallError } from '../errors.js';

function fn<F extends (...args: any[]) => any>(signature: string): F {
  return lazyFn<F>(() => {
    declareFfiStructs(); // sendmsg/recvmsg name struct msghdr
    return libcLib();
  }, signature);
}

export const libcRaw = {
  setns: fn<(fd: number, nstype: number) => number>('int setns(int fd, int nstype)'),
  ioctl: fn<(fd: number, request: number) => number>('int ioctl(int fd, unsigned long request)'),
  if_nametoindex: fn<(name: string) => number>('unsigned int if_nametoindex(const char *ifname)'),
  if_indextoname: fn<(index: number, buf: Buffer) => Ptr | null>(
    'void *if_indextoname(unsigned int ifindex, void *ifname)',
  ),
  if_nameindex: fn<() => Ptr | null>('void *if_nameindex(void)'),
  if_freenameindex: fn<(p: Ptr) => void>('void if_freenameindex(void *ptr)'),
  getifaddrs: fn<(out: [Ptr | null]) => number>('int getifaddrs(_Out_ void **ifap)'),
  freeifaddrs: fn<(p: Ptr) => void>('void freeifaddrs(void *ifa)'),
  setsockopt: fn<(fd: number, level: number, name: number, value: Buffer, len: number) => number>(
    'int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)',
  ),
  getsockopt: fn<(fd: number, level: number, name: number, value: Buffer, len: Uint32Array) => number>(
    'int getsockopt(int fd, int level, int optname, void *optval, uint32_t *optlen)',
  ),
  sendmsg: fn<(fd: number, msg: Record<string, unknown>, flags: number) => number | bigint>(
    'intptr_t sendmsg(int fd, const bpfsteer_msghdr *msg, int flags)',
  ),
  recvmsg: fn<(fd: number, msg: Record<string, unknown>, flags: number) => number | bigint>(
    'intptr_t recvmsg(int fd, _Inout_ bpfsteer_msghdr *msg, int flags)',
  ),
  socket: fn<(domain: number, type: number, protocol: number) => number>('int socket(int domain, int type, int protocol)'),
  send: fn<(fd: number, buf: Buffer, len: number, flags: number) => number | bigint>(
    'intptr_t send(int fd, const void *buf, size_t len, int flags)',
  ),
  recv: fn<(fd: number, buf: Buffer, len: number, flags: number) => number | bigint>(
    'intptr_t recv(int fd, _Out_ void *buf, size_t len, int flags)',
  ),
  socketpair: fn<(domain: number, type: number, protocol: number, sv: Int32Array) => number>(
    'int socketpair(int domain, int type, int protocol, int *sv)',
  ),
  // va_list is an array type on x86-64 and arm64 Linux, so libbpf's print callback gets it as a pointer
  vsnprintf: fn<(buf: Buffer, n: number, fmt: Ptr, args: Ptr) => number>('int vsnprintf(void *buf, size_t n, void *fmt, void *args)'),
  // copies `n` bytes from native memory (a ring buffer record) into a Buffer
  memcpy: fn<(dst: Buffer, src: Ptr, n: number) => Ptr>('void *memcpy(void *dst, const void *src, size_t n)'),
  mount: fn<(source: string, target: string, fstype: string, flags: number, data: null) => number>(
    'int mount(const char *source, const char *target, const char *filesystemtype, unsigned long mountflags, const void *data)',
  ),
};

/** Numbers from the Linux uapi / glibc headers (x86-64 and arm64 agree on all of them). */
export const C = {
  CLONE_NEWNET: 0x40000000,
  CLONE_NEWCGROUP: 0x02000000,
  NS_GET_NSTYPE: 0xb703, // _IO(0xb7, 0x3)
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_CLOEXEC: 0o2000000,
  AF_NETLINK: 16,
  SO_RCVTIMEO: 20, // struct timeval (16 bytes on LP64)
  SOL_SOCKET: 1,
  SO_MARK: 36,
  SCM_RIGHTS: 1,
  IPPROTO_IP: 0,
  IPPROTO_IPV6: 41,
  IP_TRANSPARENT: 19,
  IPV6_TRANSPARENT: 75,
  MSG_CTRUNC: 0x8,
  MSG_TRUNC: 0x20,
  MSG_CMSG_CLOEXEC: 0x40000000,
  MSG_NOSIGNAL: 0x4000,
  IF_NAMESIZE: 16,
} as const;

/** Throw SyscallError when a libc call returned -1 (errno read right after the call). */
export function check(call: string, ret: number | bigint, context?: string): number {
  const n = Number(ret);
  if (n < 0) throw new SyscallError(call, lastErrno(), context);
  return n;
}
