// The struct layouts and numbers of the link/system-helper FFI, checked against the system headers:
// a small C program compiled with clang prints sizeof/offsetof/constant values, compared with ours.
// (The tcx attach/link types, newer than these 6.1 headers, are checked by the kernel tests, which
// attach and re-adopt tcx links with them.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infoOffsets, linkStructLayouts } from '../src/ffi/link-structs.js';
import { BPF } from '../src/ffi/libbpf-link.js';
import { C } from '../src/ffi/libc.js';
import { rightsSpace } from '../src/fd-passing.js';

const PROGRAM = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <net/if.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <linux/nsfs.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>

#define S(t) printf("\"size %s\": %zu,\n", #t, sizeof(struct t))
#define O(t, m) printf("\"off %s.%s\": %zu,\n", #t, #m, offsetof(struct t, m))
#define V(n) printf("\"val %s\": %lld,\n", #n, (long long)(n))

int main(void) {
  printf("{\n");
  S(bpf_tc_hook); O(bpf_tc_hook, sz); O(bpf_tc_hook, ifindex); O(bpf_tc_hook, attach_point); O(bpf_tc_hook, parent);
  S(bpf_tc_opts); O(bpf_tc_opts, sz); O(bpf_tc_opts, prog_fd); O(bpf_tc_opts, flags); O(bpf_tc_opts, prog_id);
  O(bpf_tc_opts, handle); O(bpf_tc_opts, priority);
  S(msghdr); O(msghdr, msg_name); O(msghdr, msg_namelen); O(msghdr, msg_iov); O(msghdr, msg_iovlen);
  O(msghdr, msg_control); O(msghdr, msg_controllen); O(msghdr, msg_flags);
  S(iovec); O(iovec, iov_base); O(iovec, iov_len);
  S(cmsghdr); O(cmsghdr, cmsg_len); O(cmsghdr, cmsg_level); O(cmsghdr, cmsg_type);
  S(ifaddrs); O(ifaddrs, ifa_next); O(ifaddrs, ifa_name); O(ifaddrs, ifa_flags); O(ifaddrs, ifa_addr);
  O(ifaddrs, ifa_netmask); O(ifaddrs, ifa_ifu); O(ifaddrs, ifa_data);
  S(if_nameindex); O(if_nameindex, if_index); O(if_nameindex, if_name);
  O(bpf_prog_info, type); O(bpf_prog_info, id); O(bpf_prog_info, name);
  printf("\"size bpf_prog_info.name\": %zu,\n", sizeof(((struct bpf_prog_info *)0)->name));
  printf("\"end bpf_prog_info.name\": %zu,\n", offsetof(struct bpf_prog_info, name) + sizeof(((struct bpf_prog_info *)0)->name));
  O(bpf_link_info, type); O(bpf_link_info, id); O(bpf_link_info, prog_id);
  O(bpf_link_info, netns.netns_ino); O(bpf_link_info, netns.attach_type);
  O(bpf_link_info, cgroup.cgroup_id); O(bpf_link_info, cgroup.attach_type);
  O(bpf_link_info, xdp.ifindex);
  O(sockaddr_in, sin_addr); O(sockaddr_in6, sin6_addr);
  struct { struct cmsghdr h; int fds[3]; } c;
  printf("\"val CMSG_DATA\": %zu,\n", (size_t)((char *)CMSG_DATA(&c.h) - (char *)&c.h));
  printf("\"val CMSG_SPACE1\": %zu,\n\"val CMSG_SPACE2\": %zu,\n\"val CMSG_SPACE3\": %zu,\n",
         (size_t)CMSG_SPACE(4), (size_t)CMSG_SPACE(8), (size_t)CMSG_SPACE(12));
  V(CLONE_NEWNET); V(NS_GET_NSTYPE); V(AF_UNIX); V(AF_INET); V(AF_INET6); V(SOCK_STREAM); V(SOCK_DGRAM);
  V(SOCK_CLOEXEC); V(SOL_SOCKET); V(SO_MARK); V(SCM_RIGHTS); V(IPPROTO_IP); V(IPPROTO_IPV6); V(IP_TRANSPARENT);
  V(IPV6_TRANSPARENT); V(MSG_CTRUNC); V(MSG_TRUNC); V(MSG_CMSG_CLOEXEC); V(MSG_NOSIGNAL); V(IF_NAMESIZE);
  V(BPF_CGROUP_INET_INGRESS); V(BPF_CGROUP_INET_EGRESS); V(BPF_CGROUP_SOCK_OPS); V(BPF_CGROUP_INET4_CONNECT);
  V(BPF_SK_LOOKUP); V(BPF_PROG_TYPE_SCHED_CLS); V(BPF_PROG_TYPE_CGROUP_SKB); V(BPF_PROG_TYPE_SOCK_OPS);
  V(BPF_PROG_TYPE_CGROUP_SOCK_ADDR); V(BPF_PROG_TYPE_SK_LOOKUP); V(BPF_MAP_TYPE_LPM_TRIE); V(BPF_MAP_TYPE_SOCKMAP);
  V(BPF_MAP_TYPE_SOCKHASH); V(BPF_MAP_TYPE_RINGBUF); V(BPF_LINK_TYPE_CGROUP); V(BPF_LINK_TYPE_NETNS);
  V(BPF_TC_INGRESS); V(BPF_TC_EGRESS); V(BPF_TC_F_REPLACE);
  printf("\"end\": 0\n}\n");
  return 0;
}
`;

let dir: string;
let c: Record<string, number>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cbt-layout-'));
  writeFileSync(join(dir, 'layout.c'), PROGRAM);
  execFileSync('clang', ['-O0', '-w', '-o', join(dir, 'layout'), join(dir, 'layout.c')]);
  c = JSON.parse(execFileSync(join(dir, 'layout'), { encoding: 'utf8' }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('link FFI layouts match the system headers', () => {
  it('koffi structs have the C sizes and offsets', () => {
    for (const s of linkStructLayouts()) {
      expect(s.size, `sizeof ${s.name}`).toBe(c[`size ${s.name}`]);
      for (const m of s.members) expect(m.offset, `${s.name}.${m.name}`).toBe(c[`off ${s.name}.${m.name}`]);
    }
  });

  it('info buffer offsets match bpf_prog_info / bpf_link_info / sockaddr', () => {
    const p = infoOffsets.prog;
    expect([p.type, p.id, p.name, p.nameLength]).toEqual([
      c['off bpf_prog_info.type'],
      c['off bpf_prog_info.id'],
      c['off bpf_prog_info.name'],
      c['size bpf_prog_info.name'],
    ]);
    expect(p.size).toBeGreaterThanOrEqual(c['end bpf_prog_info.name']);
    const l = infoOffsets.link;
    expect(l.type).toBe(c['off bpf_link_info.type']);
    expect(l.id).toBe(c['off bpf_link_info.id']);
    expect(l.progId).toBe(c['off bpf_link_info.prog_id']);
    expect(l.netnsIno).toBe(c['off bpf_link_info.netns.netns_ino']);
    expect(l.netnsAttachType).toBe(c['off bpf_link_info.netns.attach_type']);
    expect(l.cgroupId).toBe(c['off bpf_link_info.cgroup.cgroup_id']);
    expect(l.cgroupAttachType).toBe(c['off bpf_link_info.cgroup.attach_type']);
    // tcx {ifindex, attach_type} is a union member like xdp {ifindex}: same start
    expect(l.tcxIfindex).toBe(c['off bpf_link_info.xdp.ifindex']);
    expect(l.tcxAttachType).toBe(l.tcxIfindex + 4);
    expect(infoOffsets.sockaddrIn4Addr).toBe(c['off sockaddr_in.sin_addr']);
    expect(infoOffsets.sockaddrIn6Addr).toBe(c['off sockaddr_in6.sin6_addr']);
    expect(infoOffsets.cmsgData).toBe(c['val CMSG_DATA']);
    expect([1, 2, 3].map(rightsSpace)).toEqual([c['val CMSG_SPACE1'], c['val CMSG_SPACE2'], c['val CMSG_SPACE3']]);
  });

  it('libc constants match', () => {
    for (const [name, value] of Object.entries(C)) expect(value, name).toBe(c[`val ${name}`]);
  });

  it('bpf constants match', () => {
    const a = BPF.attach;
    expect([a.CGROUP_INET_INGRESS, a.CGROUP_INET_EGRESS, a.CGROUP_SOCK_OPS, a.CGROUP_INET4_CONNECT, a.SK_LOOKUP]).toEqual([
      c['val BPF_CGROUP_INET_INGRESS'],
      c['val BPF_CGROUP_INET_EGRESS'],
      c['val BPF_CGROUP_SOCK_OPS'],
      c['val BPF_CGROUP_INET4_CONNECT'],
      c['val BPF_SK_LOOKUP'],
    ]);
    // upstream uapi: ..., BPF_STRUCT_OPS (44), BPF_NETFILTER (45), BPF_TCX_INGRESS, BPF_TCX_EGRESS
    expect([a.TCX_INGRESS, a.TCX_EGRESS]).toEqual([46, 47]);
    const p = BPF.prog;
    expect([p.SCHED_CLS, p.CGROUP_SKB, p.SOCK_OPS, p.CGROUP_SOCK_ADDR, p.SK_LOOKUP]).toEqual([
      c['val BPF_PROG_TYPE_SCHED_CLS'],
      c['val BPF_PROG_TYPE_CGROUP_SKB'],
      c['val BPF_PROG_TYPE_SOCK_OPS'],
      c['val BPF_PROG_TYPE_CGROUP_SOCK_ADDR'],
      c['val BPF_PROG_TYPE_SK_LOOKUP'],
    ]);
    const m = BPF.map;
    expect([m.LPM_TRIE, m.SOCKMAP, m.SOCKHASH, m.RINGBUF]).toEqual([
      c['val BPF_MAP_TYPE_LPM_TRIE'],
      c['val BPF_MAP_TYPE_SOCKMAP'],
      c['val BPF_MAP_TYPE_SOCKHASH'],
      c['val BPF_MAP_TYPE_RINGBUF'],
    ]);
    expect([BPF.link.CGROUP, BPF.link.NETNS, BPF.link.TCX]).toEqual([c['val BPF_LINK_TYPE_CGROUP'], c['val BPF_LINK_TYPE_NETNS'], 11]);
    expect([BPF.tc.INGRESS, BPF.tc.EGRESS, BPF.tc.F_REPLACE]).toEqual([
      c['val BPF_TC_INGRESS'],
      c['val BPF_TC_EGRESS'],
      c['val BPF_TC_F_REPLACE'],
    ]);
  });
});
