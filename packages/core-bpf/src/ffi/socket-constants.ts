/**
 * Numbers and fixed layouts of the uapi / glibc socket headers used by core-bpf's unix-socket,
 * sock_diag and pidfd helpers (x86-64 and arm64 agree on all of them; syscalls >= 424 have the same
 * number on every architecture). test/socket-layouts.test.ts compiles a C program against the
 * headers and compares every value here with it.
 */
export const SK = {
  SOCK_SEQPACKET: 5,
  SOCK_NONBLOCK: 0o4000,
  SO_TYPE: 3,
  SO_PEERCRED: 17,
  SO_ACCEPTCONN: 30,
  SO_PROTOCOL: 38,
  SO_DOMAIN: 39,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPV6_V6ONLY: 26,
  F_GETFD: 1,
  F_DUPFD_CLOEXEC: 1030,
  /** ioctl on a socket: a new fd of the network namespace the socket belongs to */
  SIOCGSKNS: 0x894c,
  SYS_pidfd_open: 434,
  SYS_pidfd_getfd: 438,
  NETLINK_SOCK_DIAG: 4,
  SOCK_DIAG_BY_FAMILY: 20,
  /** TCP state number of a listening socket (enum in netinet/tcp.h) */
  TCP_LISTEN: 10,
  /** the state inet_diag reports for a bound, unconnected UDP socket */
  TCP_CLOSE: 7,
} as const;

/** struct sockaddr_un: sun_family u16, then sun_path[108]. */
export const SOCKADDR_UN = { size: 110, pathOffset: 2, pathMax: 108 } as const;

/** struct ucred (SO_PEERCRED): pid, uid, gid, 4 bytes each. */
export const UCRED = { size: 12, pid: 0, uid: 4, gid: 8 } as const;

/**
 * struct inet_diag_req_v2 (request) and struct inet_diag_msg (reply), with the inet_diag_sockid
 * inside both: sport/dport are big-endian u16, src/dst four big-endian u32 (an IPv4 address uses
 * the first one), if u32, cookie two u32.
 */
export const INET_DIAG = {
  reqSize: 56,
  req: { family: 0, protocol: 1, ext: 2, states: 4, id: 8 },
  msgSize: 72,
  msg: { family: 0, state: 1, id: 4, uid: 64, inode: 68 },
  sockid: { sport: 0, dport: 2, src: 4, dst: 20, if: 36, cookie: 40, size: 48 },
} as const;
