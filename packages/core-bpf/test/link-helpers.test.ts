// Pure translation functions of the link and system-helper modules, table-tested (no privileges).
import { describe, expect, it } from 'vitest';
import { netnsPath } from '../src/netns.js';
import { cgroup2Mounts, findCgroup2Mount, resolveCgroupPath } from '../src/cgroup.js';
import { prefixLengthOf, validateIfname } from '../src/interfaces.js';
import { decodeRights, encodeRights, rightsSpace } from '../src/fd-passing.js';
import { netlinkTcHandle, tcHook, tcOpts } from '../src/netlink-tc-link.js';
import { linkTypeName } from '../src/link.js';
import { BPF } from '../src/ffi/bpf-constants.js';
import { bpfProgInfoCodec, decodeLinkInfo } from '../src/object-info.js';
import { decodeValue } from '../src/codec/codec.js';
import { bpfFdKindOf, validatePinPath } from '../src/bpffs.js';
import { parseTcOptions } from '../src/attach-tc.js';
import { CGROUP_ATTACH } from '../src/attach-cgroup.js';
import { validateFd } from '../src/socket-options.js';
import { InvalidArgumentError } from '../src/errors.js';

describe('netnsPath', () => {
  it.each([
    ['lab1', '/var/run/netns/lab1'],
    ['a.b-c_d', '/var/run/netns/a.b-c_d'],
    ['/proc/1/ns/net', '/proc/1/ns/net'],
  ])('%s -> %s', (input, out) => expect(netnsPath(input)).toBe(out));
  it.each(['', '..', 'a/b', 'a b', '-x', 'x'.repeat(256)])('refuses %j', (bad) => expect(() => netnsPath(bad)).toThrow(InvalidArgumentError));
});

describe('findCgroup2Mount', () => {
  const v1 = '30 25 0:26 / /sys/fs/cgroup/cpu rw,nosuid shared:10 - cgroup cgroup rw,cpu';
  const v2 = '31 25 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:11 - cgroup2 cgroup2 rw,nsdelegate';
  const spaced = '32 25 0:28 / /mnt/my\\040cg rw - cgroup2 none rw';
  const optional = '33 25 0:29 / /c rw shared:1 master:2 - cgroup2 none rw';
  it.each([
    [[v1, v2].join('\n'), '/sys/fs/cgroup/unified'],
    [v1, undefined],
    [spaced, '/mnt/my cg'],
    [optional, '/c'],
    ['', undefined],
  ])('case %#', (text, out) => expect(findCgroup2Mount(text)).toBe(out));
});

describe('cgroup2Mounts', () => {
  it('lists every cgroup2 mount with its root in the hierarchy (a pod\'s own view and a hostPath of the whole)', () => {
    const own = '40 30 0:27 /kubepods/pod1/c1 /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw';
    const host = '41 30 0:27 / /host/sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw';
    const v1 = '42 30 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu';
    expect(cgroup2Mounts([own, v1, host].join('\n'))).toEqual([
      { mountPoint: '/sys/fs/cgroup', root: '/kubepods/pod1/c1' },
      { mountPoint: '/host/sys/fs/cgroup', root: '/' },
    ]);
  });
});

describe('resolveCgroupPath', () => {
  const root = '/sys/fs/cgroup/unified';
  it.each([
    ['bpfsteer/a', `${root}/bpfsteer/a`],
    ['bpfsteer/a/', `${root}/bpfsteer/a`],
    [`${root}/x`, `${root}/x`],
    [root, root],
  ])('%s', (input, out) => expect(resolveCgroupPath(input, root)).toBe(out));
  it.each(['', '../x', 'a/../../b', '/sys/fs/cgroup/unified2/x', '/tmp'])('refuses %j', (bad) =>
    expect(() => resolveCgroupPath(bad, root)).toThrow(InvalidArgumentError),
  );
});

describe('interfaces', () => {
  it.each([
    [[255, 255, 255, 0], 24],
    [[255, 255, 255, 255], 32],
    [[0, 0, 0, 0], 0],
    [[255, 240, 0, 0], 12],
    [[255, 255, 255, 254], 31],
    [[...Array(8).fill(255), ...Array(8).fill(0)], 64],
  ])('prefix of %j is %i', (mask, n) => expect(prefixLengthOf(Uint8Array.from(mask))).toBe(n));

  it.each(['eth0', 'veth-a.1', 'x'.repeat(15)])('accepts ifname %s', (n) => expect(validateIfname(n)).toBe(n));
  it.each(['', 'x'.repeat(16), 'a/b', 'a b', 'a:1', '.', '..', 7])('refuses ifname %j', (n) =>
    expect(() => validateIfname(n)).toThrow(InvalidArgumentError),
  );
});

describe('SCM_RIGHTS encoding', () => {
  it('round-trips fds', () => {
    for (const fds of [[3], [3, 4], [5, 6, 7], Array.from({ length: 253 }, (_, i) => i + 10)]) {
      const buf = encodeRights(fds);
      expect(buf.length).toBe(rightsSpace(fds.length));
      expect(decodeRights(buf, buf.length)).toEqual(fds);
    }
  });
  it('reads several messages and skips foreign ones', () => {
    const other = encodeRights([9]);
    other.writeInt32LE(41, 8); // a non-SOL_SOCKET message
    const joined = Buffer.concat([encodeRights([3]), other, encodeRights([4, 5])]);
    expect(decodeRights(joined, joined.length)).toEqual([3, 4, 5]);
    expect(decodeRights(joined, 0)).toEqual([]);
    expect(decodeRights(joined, 10)).toEqual([]);
  });
  it.each([
    [1, 24],
    [2, 24],
    [3, 32],
  ])('CMSG_SPACE of %i fds is %i', (n, space) => expect(rightsSpace(n)).toBe(space));
});

describe('netlink tc identity', () => {
  it('derives stable, non-zero, distinct handles', () => {
    expect(netlinkTcHandle('tc_count_ingres')).toBe(netlinkTcHandle('tc_count_ingres'));
    expect(netlinkTcHandle('')).toBe(0x811c9dc5);
    expect(netlinkTcHandle('a')).toBe(0xe40c292c); // FNV-1a test vector
    const keys = ['tc_count_ingres', 'tc_count_egress', '/sys/fs/bpf/a', '/sys/fs/bpf/b'];
    expect(new Set(keys.map(netlinkTcHandle)).size).toBe(keys.length);
    for (const k of keys) expect(netlinkTcHandle(k)).toBeGreaterThan(0);
  });
  it('builds hook and option structs', () => {
    expect(tcHook(4, 'ingress')).toEqual({ sz: 24, ifindex: 4, attach_point: 1, parent: 0 });
    expect(tcHook(4, 'egress').attach_point).toBe(2);
    expect(tcOpts({ handle: 7 })).toEqual({ sz: 32, prog_fd: 0, flags: 0, prog_id: 0, handle: 7, priority: 0 });
  });
});

describe('kernel info decoding', () => {
  it('names link kinds', () => {
    const a = BPF.attach;
    expect(linkTypeName(BPF.link.TCX, a.TCX_INGRESS)).toBe('tcx-ingress');
    expect(linkTypeName(BPF.link.TCX, a.TCX_EGRESS)).toBe('tcx-egress');
    expect(linkTypeName(BPF.link.NETNS, a.SK_LOOKUP)).toBe('sk_lookup');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_INET_INGRESS)).toBe('cgroup_skb-ingress');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_INET_EGRESS)).toBe('cgroup_skb-egress');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_INET4_CONNECT)).toBe('cgroup-connect4');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_INET6_CONNECT)).toBe('cgroup-connect6');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_GETSOCKOPT)).toBe('cgroup-getsockopt');
    expect(linkTypeName(BPF.link.CGROUP, a.CGROUP_SOCK_OPS)).toBe('sockops');
    expect(linkTypeName(BPF.link.CGROUP, 2)).toBeUndefined();
    expect(linkTypeName(BPF.link.TCX, a.SK_LOOKUP)).toBeUndefined();
    expect(linkTypeName(6 /* xdp */, 37)).toBeUndefined();
  });

  it('decodes bpf_prog_info', () => {
    const b = Buffer.alloc(bpfProgInfoCodec.size);
    b.writeUInt32LE(3, 0);
    b.writeUInt32LE(42, 4);
    b.write('tc_count_ingres', 64);
    expect(decodeValue(bpfProgInfoCodec, b)).toMatchObject({ type: 3, id: 42, name: 'tc_count_ingres' });
    b.fill(0x61, 64, 80); // no NUL terminator
    expect(decodeValue(bpfProgInfoCodec, b).name).toBe('a'.repeat(16));
  });

  it('decodes bpf_link_info of each kind', () => {
    const info = (type: number, fill: (b: Buffer) => void) => {
      const b = Buffer.alloc(32);
      b.writeUInt32LE(type, 0);
      b.writeUInt32LE(7, 4);
      b.writeUInt32LE(42, 8);
      fill(b);
      return decodeLinkInfo(b);
    };
    expect(info(BPF.link.TCX, (b) => (b.writeUInt32LE(5, 16), b.writeUInt32LE(46, 20)))).toEqual({
      type: 11,
      id: 7,
      progId: 42,
      targetId: 5n,
      attachType: 46,
    });
    expect(info(BPF.link.NETNS, (b) => (b.writeUInt32LE(4026532000, 16), b.writeUInt32LE(36, 20)))).toMatchObject({
      targetId: 4026532000n,
      attachType: 36,
    });
    expect(info(BPF.link.CGROUP, (b) => (b.writeBigUInt64LE(123456789012n, 16), b.writeUInt32LE(1, 24)))).toMatchObject({
      targetId: 123456789012n,
      attachType: 1,
    });
    expect(info(6, () => undefined)).toMatchObject({ targetId: 0n, attachType: -1 });
  });

  it.each([
    ['anon_inode:bpf-link', 'link'],
    ['anon_inode:bpf-prog', 'prog'],
    ['anon_inode:bpf-map', 'map'],
    ['socket:[123]', 'other'],
  ])('fd kind of %s is %s', (text, kind) => expect(bpfFdKindOf(text)).toBe(kind));
});

describe('option validation', () => {
  it('parses tc options', () => {
    expect(parseTcOptions({ ifname: 'eth0', direction: 'ingress' })).toEqual({
      ifname: 'eth0',
      direction: 'ingress',
      mode: 'auto',
      netns: undefined,
      pinPath: undefined,
    });
    expect(parseTcOptions({ ifname: 'eth0', direction: 'egress', mode: 'netlink', netns: 'lab', pinPath: '/sys/fs/bpf/x' })).toMatchObject({
      mode: 'netlink',
      netns: 'lab',
      pinPath: '/sys/fs/bpf/x',
    });
  });
  it.each([
    [null, /expected options/],
    [{ ifname: 'eth0' }, /direction/],
    [{ ifname: 'eth0', direction: 'in' }, /direction/],
    [{ ifname: 'eth0', direction: 'ingress', mode: 'fast' }, /mode/],
    [{ ifname: '', direction: 'ingress' }, /interface name/],
    [{ ifname: 'eth0', direction: 'ingress', netns: 'a b' }, /netns/],
    [{ ifname: 'eth0', direction: 'ingress', pinPath: 5 }, /pinPath/],
  ])('refuses tc options %j', (opts, msg) => expect(() => parseTcOptions(opts)).toThrow(msg));

  it('maps cgroup attach types to kernel numbers and program types', () => {
    expect(Object.fromEntries(Object.entries(CGROUP_ATTACH).map(([k, v]) => [k, [v.attach, v.progType, v.type]]))).toEqual({
      'cgroup_skb-ingress': [0, 'cgroup_skb', 'cgroup_skb-ingress'],
      'cgroup_skb-egress': [1, 'cgroup_skb', 'cgroup_skb-egress'],
      connect4: [10, 'cgroup_sock_addr', 'cgroup-connect4'],
      connect6: [11, 'cgroup_sock_addr', 'cgroup-connect6'],
      sockops: [3, 'sock_ops', 'sockops'],
      getsockopt: [21, 'cgroup_sockopt', 'cgroup-getsockopt'],
    });
  });

  it.each([['relative'], ['/tmp/x'], ['/sys/fs/bpf/'], [42]])('refuses pin path %j', (p) =>
    expect(() => validatePinPath(p)).toThrow(InvalidArgumentError),
  );

  it.each([-1, 1.5, '3', null, 2 ** 31])('refuses fd %j', (fd) => expect(() => validateFd(fd)).toThrow(InvalidArgumentError));
});
