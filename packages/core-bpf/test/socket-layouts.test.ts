// The hand-written numbers and layouts of core-bpf's unix-socket, sock_diag and pidfd helpers
// (src/ffi/socket-constants.ts) against the system headers: a small C program compiled with clang
// prints the C values, compared with ours.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INET_DIAG, SK, SOCKADDR_UN, UCRED } from '../src/ffi/socket-constants.js';

const PROGRAM = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

#define V(n) printf("\"%s\": %lld,\n", #n, (long long)(n))
#define S(t) printf("\"sizeof %s\": %zu,\n", #t, sizeof(struct t))
#define O(t, m) printf("\"%s.%s\": %zu,\n", #t, #m, offsetof(struct t, m))

int main(void) {
  printf("{\n");
  V(SOCK_SEQPACKET); V(SOCK_NONBLOCK); V(SO_TYPE); V(SO_PEERCRED); V(SO_ACCEPTCONN); V(SO_PROTOCOL);
  V(SO_DOMAIN); V(IPPROTO_TCP); V(IPV6_V6ONLY); V(F_GETFD); V(F_DUPFD_CLOEXEC); V(SIOCGSKNS); V(SYS_pidfd_open);
  V(SYS_pidfd_getfd); V(NETLINK_SOCK_DIAG); V(SOCK_DIAG_BY_FAMILY); V(TCP_LISTEN); V(IPPROTO_UDP); V(TCP_CLOSE);
  S(sockaddr_un); O(sockaddr_un, sun_path); printf("\"sun_path size\": %zu,\n", sizeof(((struct sockaddr_un *)0)->sun_path));
  S(ucred); O(ucred, pid); O(ucred, uid); O(ucred, gid);
  S(inet_diag_req_v2); O(inet_diag_req_v2, sdiag_family); O(inet_diag_req_v2, sdiag_protocol);
  O(inet_diag_req_v2, idiag_ext); O(inet_diag_req_v2, idiag_states); O(inet_diag_req_v2, id);
  S(inet_diag_msg); O(inet_diag_msg, idiag_family); O(inet_diag_msg, idiag_state); O(inet_diag_msg, id);
  O(inet_diag_msg, idiag_uid); O(inet_diag_msg, idiag_inode);
  S(inet_diag_sockid); O(inet_diag_sockid, idiag_sport); O(inet_diag_sockid, idiag_dport);
  O(inet_diag_sockid, idiag_src); O(inet_diag_sockid, idiag_dst); O(inet_diag_sockid, idiag_if);
  O(inet_diag_sockid, idiag_cookie);
  printf("\"end\": 0\n}\n");
  return 0;
}
`;

let dir: string | undefined;
let c: Record<string, number>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cbt-socklayout-'));
  writeFileSync(join(dir, 'layout.c'), PROGRAM);
  execFileSync('clang', ['-O0', '-w', '-o', join(dir, 'layout'), join(dir, 'layout.c')]);
  c = JSON.parse(execFileSync(join(dir, 'layout'), { encoding: 'utf8' }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('socket constants and layouts match the system headers', () => {
  it('every SK number', () => {
    for (const [name, value] of Object.entries(SK)) expect(value, name).toBe(c[name]);
  });

  it('sockaddr_un and ucred', () => {
    expect(SOCKADDR_UN).toEqual({ size: c['sizeof sockaddr_un'], pathOffset: c['sockaddr_un.sun_path'], pathMax: c['sun_path size'] });
    expect(UCRED).toEqual({ size: c['sizeof ucred'], pid: c['ucred.pid'], uid: c['ucred.uid'], gid: c['ucred.gid'] });
  });

  it('inet_diag_req_v2, inet_diag_msg and inet_diag_sockid', () => {
    expect(INET_DIAG.reqSize).toBe(c['sizeof inet_diag_req_v2']);
    expect(INET_DIAG.req).toEqual({
      family: c['inet_diag_req_v2.sdiag_family'],
      protocol: c['inet_diag_req_v2.sdiag_protocol'],
      ext: c['inet_diag_req_v2.idiag_ext'],
      states: c['inet_diag_req_v2.idiag_states'],
      id: c['inet_diag_req_v2.id'],
    });
    expect(INET_DIAG.msgSize).toBe(c['sizeof inet_diag_msg']);
    expect(INET_DIAG.msg).toEqual({
      family: c['inet_diag_msg.idiag_family'],
      state: c['inet_diag_msg.idiag_state'],
      id: c['inet_diag_msg.id'],
      uid: c['inet_diag_msg.idiag_uid'],
      inode: c['inet_diag_msg.idiag_inode'],
    });
    expect(INET_DIAG.sockid).toEqual({
      sport: c['inet_diag_sockid.idiag_sport'],
      dport: c['inet_diag_sockid.idiag_dport'],
      src: c['inet_diag_sockid.idiag_src'],
      dst: c['inet_diag_sockid.idiag_dst'],
      if: c['inet_diag_sockid.idiag_if'],
      cookie: c['inet_diag_sockid.idiag_cookie'],
      size: c['sizeof inet_diag_sockid'],
    });
  });
});
