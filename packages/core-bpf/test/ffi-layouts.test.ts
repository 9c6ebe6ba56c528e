// Every hand-written C layout and number of core-bpf's FFI against the system headers: a small C
// program compiled with clang prints sizeof/offsetof/constant values, compared with ours. (Kernel
// info structs are checked against the kernel's BTF in ffi-layouts.kernel.test.ts; the tcx numbers,
// newer than these headers, by the kernel tests that attach and re-adopt tcx links.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cOffsets, ffiStructLayouts } from '../src/ffi/ffi-structs.js';
import { BPF } from '../src/ffi/bpf-constants.js';
import { C } from '../src/ffi/libc.js';
import { ERRNO } from '../src/errors.js';
import { rightsSpace } from '../src/fd-passing.js';

/** C names of the BPF constants (the tcx ones are checked by the kernel tests). */
const BPF_NAMES: Record<string, number> = {
  BPF_CGROUP_INET_INGRESS: BPF.attach.CGROUP_INET_INGRESS,
  BPF_CGROUP_INET_EGRESS: BPF.attach.CGROUP_INET_EGRESS,
  BPF_CGROUP_SOCK_OPS: BPF.attach.CGROUP_SOCK_OPS,
  BPF_CGROUP_INET4_CONNECT: BPF.attach.CGROUP_INET4_CONNECT,
  BPF_CGROUP_INET6_CONNECT: BPF.attach.CGROUP_INET6_CONNECT,
  BPF_CGROUP_GETSOCKOPT: BPF.attach.CGROUP_GETSOCKOPT,
  BPF_SK_LOOKUP: BPF.attach.SK_LOOKUP,
  BPF_LINK_TYPE_CGROUP: BPF.link.CGROUP,
  BPF_LINK_TYPE_NETNS: BPF.link.NETNS,
  BPF_TC_INGRESS: BPF.tc.INGRESS,
  BPF_TC_EGRESS: BPF.tc.EGRESS,
  BPF_TC_F_REPLACE: BPF.tc.F_REPLACE,
  BPF_ANY: BPF.update.ANY,
  BPF_NOEXIST: BPF.update.NOEXIST,
  BPF_EXIST: BPF.update.EXIST,
  BPF_FUNC_redirect_neigh: BPF.helper.REDIRECT_NEIGH,
};

function program(): string {
  const layouts = ffiStructLayouts().flatMap(({ name, members }) => [
    `S(${name});`,
    ...members.map((m) => `O(${name}, ${m.name});`),
  ]);
  const values = [...Object.keys(C), ...Object.keys(BPF_NAMES), 'ENOENT', 'EINVAL', 'ENOSPC', 'ENOLINK', 'EOPNOTSUPP'].map(
    (n) => `V(${n});`,
  );
  return String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <net/if.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <linux/nsfs.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#define S(t) printf("\"size %s\": %zu,\n", #t, sizeof(struct t))
#define O(t, m) printf("\"off %s.%s\": %zu,\n", #t, #m, offsetof(struct t, m))
#define V(n) printf("\"val %s\": %lld,\n", #n, (long long)(n))

int main(void) {
  printf("{\n");
  ${layouts.join('\n  ')}
  O(sockaddr_in, sin_addr); O(sockaddr_in6, sin6_addr);
  struct { struct cmsghdr h; int fds[3]; } c;
  printf("\"val CMSG_DATA\": %zu,\n", (size_t)((char *)CMSG_DATA(&c.h) - (char *)&c.h));
  printf("\"val CMSG_SPACE1\": %zu,\n\"val CMSG_SPACE2\": %zu,\n\"val CMSG_SPACE3\": %zu,\n",
         (size_t)CMSG_SPACE(4), (size_t)CMSG_SPACE(8), (size_t)CMSG_SPACE(12));
  ${values.join(' ')}
  printf("\"end\": 0\n}\n");
  return 0;
}
`;
}

let dir: string | undefined;
let c: Record<string, number>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cbt-layout-'));
  writeFileSync(join(dir, 'layout.c'), program());
  execFileSync('clang', ['-O0', '-w', '-o', join(dir, 'layout'), join(dir, 'layout.c')]);
  c = JSON.parse(execFileSync(join(dir, 'layout'), { encoding: 'utf8' }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('FFI layouts match the system headers', () => {
  it('every koffi struct has the C size and member offsets', () => {
    const layouts = ffiStructLayouts();
    expect(layouts.length).toBeGreaterThan(10);
    for (const s of layouts) {
      expect(s.size, `sizeof ${s.name}`).toBe(c[`size ${s.name}`]);
      for (const m of s.members) expect(m.offset, `${s.name}.${m.name}`).toBe(c[`off ${s.name}.${m.name}`]);
    }
  });

  it('hand-used offsets match sockaddr and CMSG_*', () => {
    expect(cOffsets.sockaddrIn4Addr).toBe(c['off sockaddr_in.sin_addr']);
    expect(cOffsets.sockaddrIn6Addr).toBe(c['off sockaddr_in6.sin6_addr']);
    expect(cOffsets.cmsgData).toBe(c['val CMSG_DATA']);
    expect([1, 2, 3].map(rightsSpace)).toEqual([c['val CMSG_SPACE1'], c['val CMSG_SPACE2'], c['val CMSG_SPACE3']]);
  });

  it('libc constants match', () => {
    for (const [name, value] of Object.entries(C)) expect(value, name).toBe(c[`val ${name}`]);
  });

  it('bpf constants match', () => {
    for (const [name, value] of Object.entries(BPF_NAMES)) expect(value, name).toBe(c[`val ${name}`]);
    // upstream uapi: ..., BPF_STRUCT_OPS (44), BPF_NETFILTER (45), BPF_TCX_INGRESS, BPF_TCX_EGRESS
    expect([BPF.attach.TCX_INGRESS, BPF.attach.TCX_EGRESS, BPF.link.TCX]).toEqual([46, 47, 11]);
  });

  it('the errno table has the C numbers', () => {
    for (const name of ['ENOENT', 'EINVAL', 'ENOSPC', 'ENOLINK', 'EOPNOTSUPP'] as const) {
      expect(ERRNO[name], name).toBe(c[`val ${name}`]);
    }
  });
});
