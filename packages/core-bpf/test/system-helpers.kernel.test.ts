// netns helpers, interface lookups, socket options on raw fds, fd passing (in-process and to a child
// process) and feature probes, on the real system.
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsHandle, withNetns } from '../src/netns.js';
import { ifIndex, ifName, interfaceAddresses, interfaceNames } from '../src/interfaces.js';
import { getSocketMark, setIpTransparent, setSocketMark } from '../src/socket-options.js';
import { receiveFds, sendFds, socketPair } from '../src/fd-passing.js';
import { knownFeatures, probeFeature, requireFeature } from '../src/features.js';
import { ClosedError, InvalidArgumentError, NotFoundError, SyscallError } from '../src/errors.js';
import { C, libcRaw } from '../src/ffi/libc.js';
import { cgroup2Root, findCgroup2Mount, PRIVATE_CGROUP2_DIR } from '../src/cgroup.js';
import { exited, Lab, openFdCount, run, tsChild } from './support/lab.js';
import { socket4, socket6, SOCK_DGRAM } from './support/raw-socket.js';

const lab = new Lab();
let ns: string;
let other: string;
let tmp: string;

/** statfs f_type of a cgroup2 filesystem (linux/magic.h) */
const CGROUP2_SUPER_MAGIC = 0x63677270;
/** every cgroup2 mount point of this process's mount namespace, one mountinfo line at a time */
const cgroup2Mounts = (): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .flatMap((line) => findCgroup2Mount(line) ?? []);

const currentNetnsInode = (): bigint => statSync('/proc/thread-self/ns/net', { bigint: true }).ino;

beforeAll(() => {
  ns = lab.addNetns('cbtN');
  other = lab.addNetns('cbtO');
  lab.veth(ns, 'v0', '10.90.0.1/24', other, 'w0', '10.90.0.2/24');
  run('ip', ['-n', ns, 'addr', 'add', 'fd00:90::1/64', 'dev', 'v0', 'nodad']);
  tmp = mkdtempSync(join(tmpdir(), 'cbt-fd-'));
});

afterAll(() => {
  lab.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('netns', () => {
  it('NetnsHandle opens by name and by path, and closes', () => {
    const byName = NetnsHandle.open(ns);
    const byPath = NetnsHandle.open(`/var/run/netns/${ns}`);
    expect(byName.path).toBe(`/var/run/netns/${ns}`);
    expect(byName.inode).toBe(byPath.inode);
    expect(byName.inode).not.toBe(currentNetnsInode());
    byName.close();
    byName.close();
    expect(() => byName.fd).toThrow(ClosedError);
    byPath[Symbol.dispose]();
    expect(byPath.closed).toBe(true);
    expect(() => NetnsHandle.open('no-such-ns-zz')).toThrow(NotFoundError);
    expect(() => NetnsHandle.open('/proc/self/ns/mnt')).toThrow(/not a network namespace/);
    expect(() => NetnsHandle.open('../x')).toThrow(InvalidArgumentError);
  });

  it('withNetns runs inside and always switches back', () => {
    const home = currentNetnsInode();
    using handle = NetnsHandle.open(ns);
    expect(withNetns(ns, currentNetnsInode)).toBe(handle.inode);
    expect(withNetns(handle, () => withNetns(other, currentNetnsInode))).not.toBe(handle.inode);
    expect(withNetns(handle, () => [withNetns(other, () => 1), currentNetnsInode()][1])).toBe(handle.inode);
    expect(currentNetnsInode()).toBe(home);
    expect(() =>
      withNetns(ns, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentNetnsInode()).toBe(home);
    expect(() => withNetns(ns, async () => 1)).toThrow(/synchronous/);
    expect(currentNetnsInode()).toBe(home);
    expect(() => withNetns('no-such-ns-zz', () => 1)).toThrow(NotFoundError);
    expect(currentNetnsInode()).toBe(home);
  });

  it('leaks no fds', () => {
    const before = openFdCount();
    for (let i = 0; i < 20; i++) {
      withNetns(ns, () => ifIndex('v0'));
      NetnsHandle.open(ns).close();
      try {
        withNetns(ns, () => {
          throw new Error('x');
        });
      } catch {
        // expected
      }
    }
    expect(openFdCount()).toBe(before);
  });
});

describe('interfaces', () => {
  it('looks interfaces up in another netns', () => {
    const index = ifIndex('v0', ns);
    expect(index).toBeGreaterThan(1);
    expect(ifIndex('lo', ns)).toBe(1);
    expect(ifName(index, ns)).toBe('v0');
    expect(withNetns(ns, () => interfaceNames()).sort()).toEqual(['lo', 'v0']);
    expect(() => ifIndex('v0')).toThrow(NotFoundError);
    expect(() => ifIndex('nope0', ns)).toThrow(/interface nope0 in netns .* \(interfaces there: lo, v0\)/);
    expect(() => ifIndex('x'.repeat(16), ns)).toThrow(InvalidArgumentError);
  });

  it('lists IPv4 and IPv6 addresses with prefix lengths, also when the link is down', () => {
    const expected = [
      { family: 4, address: '10.90.0.1', prefixLength: 24 },
      { family: 6, address: 'fd00:90::1', prefixLength: 64 },
    ];
    const addrs = interfaceAddresses('v0', ns);
    for (const e of expected) expect(addrs).toContainEqual(e);
    expect(addrs.some((a) => a.family === 6 && a.address.startsWith('fe80::'))).toBe(true);
    run('ip', ['-n', ns, 'link', 'set', 'v0', 'down']);
    try {
      const down = interfaceAddresses('v0', ns);
      expect(down).toContainEqual(expected[0]);
    } finally {
      run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
    }
    expect(interfaceAddresses('lo', ns)).toContainEqual({ family: 4, address: '127.0.0.1', prefixLength: 8 });
    expect(() => interfaceAddresses('nope0', ns)).toThrow(NotFoundError);
  });
});

describe('socket options', () => {
  it('sets and reads SO_MARK', () => {
    const fd = socket4(SOCK_DGRAM);
    try {
      setSocketMark(fd, 0xfeedbeef);
      expect(getSocketMark(fd)).toBe(0xfeedbeef);
      expect(() => setSocketMark(fd, -1)).toThrow(InvalidArgumentError);
      expect(() => setSocketMark(fd, 2 ** 32)).toThrow(/0\.\.0xffffffff/);
    } finally {
      closeSync(fd);
    }
    const err = (() => {
      try {
        setSocketMark(fd, 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errno).toBe('EBADF');
  });

  it('sets IP_TRANSPARENT and IPV6_TRANSPARENT', () => {
    const read = (fd: number, level: number, name: number): number => {
      const v = Buffer.alloc(4);
      expect(libcRaw.getsockopt(fd, level, name, v, new Uint32Array([4]))).toBe(0);
      return v.readUInt32LE(0);
    };
    const v4 = socket4(SOCK_DGRAM);
    const v6 = socket6(SOCK_DGRAM);
    try {
      setIpTransparent(v4, 4, true);
      expect(read(v4, C.IPPROTO_IP, C.IP_TRANSPARENT)).toBe(1);
      setIpTransparent(v4, 4, false);
      expect(read(v4, C.IPPROTO_IP, C.IP_TRANSPARENT)).toBe(0);
      setIpTransparent(v6, 6, true);
      expect(read(v6, C.IPPROTO_IPV6, C.IPV6_TRANSPARENT)).toBe(1);
      expect(() => setIpTransparent(v4, 5 as 4, true)).toThrow(/expected 4 or 6/);
      expect(() => setIpTransparent(v4, 6, true)).toThrow(SyscallError); // an IPv4 socket has no IPV6 options
    } finally {
      closeSync(v4);
      closeSync(v6);
    }
  });
});

describe('fd passing', () => {
  it('passes fds with a payload within one process', () => {
    const before = openFdCount();
    const [a, b] = socketPair();
    const file = join(tmp, 'inproc');
    const fd = openSync(file, 'w+');
    try {
      expect(sendFds(a, [fd, fd], Buffer.from('two'))).toBe(3);
      const got = receiveFds(b, 4);
      expect(got.payload.toString()).toBe('two');
      expect(got.fds).toHaveLength(2);
      for (const r of got.fds) {
        expect(r).not.toBe(fd);
        expect(fstatSync(r).ino).toBe(fstatSync(fd).ino);
      }
      writeSync(got.fds[0], 'via received fd\n');
      got.fds.forEach((r) => closeSync(r));
      expect(readFileSync(file, 'utf8')).toBe('via received fd\n');

      // more fds than the receiver takes: received ones are closed, EMSGSIZE
      sendFds(a, [fd, fd, fd]);
      const mid = openFdCount();
      expect(() => receiveFds(b, 2)).toThrow(/more than 2 fd/);
      expect(openFdCount()).toBe(mid);

      expect(() => sendFds(a, [])).toThrow(/1\.\.253 fds/);
      expect(() => sendFds(a, [fd], new Uint8Array())).toThrow(/at least one byte/);
      expect(() => receiveFds(b, 0)).toThrow(InvalidArgumentError);
    } finally {
      closeSync(fd);
      closeSync(a);
      closeSync(b);
    }
    expect(openFdCount()).toBe(before);
  });

  it('passes fds to and from a child process', async () => {
    const [a, b] = socketPair();
    const mine = join(tmp, 'parent-file');
    const childFile = join(tmp, 'child-file');
    const fd = openSync(mine, 'w+');
    try {
      const child = tsChild('fd-exchange.ts', [childFile], { stdio: ['ignore', 'inherit', 'inherit', b] });
      closeSync(b);
      sendFds(a, [fd], Buffer.from('hello child'));
      const back = receiveFds(a, 1); // blocks until the child answers
      expect(await exited(child)).toBe(0);
      expect(back.payload.toString()).toBe('back');
      expect(back.fds).toHaveLength(1);
      const buf = Buffer.alloc(100);
      const n = readSync(back.fds[0], buf, 0, 100, 0);
      closeSync(back.fds[0]);
      expect(buf.toString('utf8', 0, n)).toBe('written by the child\n');
      expect(readFileSync(mine, 'utf8')).toBe('child got 1 fd(s) with "hello child"\n');
      // the child closed its end: EOF reads as an empty message
      expect(receiveFds(a, 1)).toEqual({ fds: [], payload: Buffer.alloc(0) });
    } finally {
      closeSync(fd);
      closeSync(a);
    }
  });
});

describe('cgroup2Root', () => {
  it('finds the cgroup2 mount of this system', () => {
    const root = cgroup2Root(); // found, or mounted privately on a system without one
    expect(statfsSync(root).type).toBe(CGROUP2_SUPER_MAGIC);
    expect(cgroup2Mounts()).toContain(root);
  });

  it('mounts cgroup2 privately when no cgroup2 is mounted', () => {
    // a private mount namespace without this system's cgroup2 mounts (wherever they are) and with a scratch /run
    const mounts = cgroup2Mounts().sort((a, b) => b.length - a.length); // nested ones first
    const hooks = new URL('./support/ts-hooks.mjs', import.meta.url).pathname;
    const script = new URL('./support/children/cgroup2-root.ts', import.meta.url).pathname;
    const out = run('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `for m in "$@"; do umount -l "$m" || exit 1; done && mount -t tmpfs none /run && exec "${process.execPath}" --no-warnings --import "${hooks}" "${script}"`,
      'sh',
      ...mounts,
    ]);
    expect(JSON.parse(out)).toEqual({ before: false, root: PRIVATE_CGROUP2_DIR, procs: true, again: PRIVATE_CGROUP2_DIR });
    // only the private namespace lost them
    expect(cgroup2Mounts().sort((a, b) => b.length - a.length)).toEqual(mounts);
  });
});

describe('features', () => {
  it('probes every feature of this kernel as supported, cached', () => {
    for (const f of knownFeatures()) {
      const r = probeFeature(f);
      expect(r, f).toMatchObject({ supported: true });
      expect(probeFeature(f)).toEqual(r);
      expect(() => requireFeature(f)).not.toThrow();
    }
    expect(probeFeature('cgroup2').detail).toBe(`mounted at ${findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'))}`);
    expect(() => probeFeature('xdp-magic' as 'tcx')).toThrow(/unknown feature "xdp-magic": expected one of .*\btcx\b/);
  });
});
