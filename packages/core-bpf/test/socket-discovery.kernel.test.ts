// Finding and taking another process's listening socket inside a network namespace: sock_diag lists
// the TCP listeners of the netns, /proc names the process holding the socket, pidfd_getfd takes a
// duplicate; socketInfo / socketNetnsInode confirm what was taken. Also the netns-fd checks and the
// fd lifetime helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpListeners, udpListeners } from '../src/sock-diag.js';
import { socketOwners } from '../src/socket-owners.js';
import { duplicateFdFromProcess, pidfdGetfd, pidfdOpen } from '../src/pidfd.js';
import { socketInfo } from '../src/socket-info.js';
import { isNetnsFd, netnsFdInode, socketNetnsInode } from '../src/netns-fd.js';
import { dupFd, fdInode, fdPath, isFdOpen, OwnedFd } from '../src/fd-lifetime.js';
import { NetnsHandle } from '../src/netns.js';
import { ClosedError, InvalidArgumentError, NotFoundError, SyscallError } from '../src/errors.js';
import { Lab } from './support/lab.js';

const LISTENER = `
const net = require('node:net');
const dgram = require('node:dgram');
const servers = [['0.0.0.0', 15008], ['::', 15008, true], ['127.0.0.1', 8080]];
const expected = servers.length + 3;
let ready = 0;
const up = () => { if (++ready === expected) console.log(JSON.stringify({ pid: process.pid })); };
for (const [host, port, ipv6Only] of servers) {
  const s = net.createServer((c) => c.end('from-child\\n'));
  s.listen({ host, port, ipv6Only: !!ipv6Only }, up);
}
// UDP: two bound and unconnected (what a tproxy listener is), one connected (not one)
dgram.createSocket('udp4').bind(5353, '127.0.0.1', up);
dgram.createSocket({ type: 'udp6', ipv6Only: true }).bind(5353, '::1', up);
const connected = dgram.createSocket('udp4');
connected.bind(0, '127.0.0.1', () => connected.connect(9, '127.0.0.1', up));
setTimeout(() => process.exit(3), 60000).unref();
`;

const lab = new Lab();
let ns: string;
let child: ChildProcess;
let childPid: number;

beforeAll(async () => {
  ns = lab.addNetns('cbtdiag');
  lab.veth(ns, 'pod0', '10.77.0.2/24', ns, 'peer0', '10.77.0.3/24');
  child = spawn('nsenter', [`--net=/var/run/netns/${ns}`, '--', process.execPath, '-e', LISTENER], { stdio: ['ignore', 'pipe', 'pipe'] });
  childPid = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).pid));
    child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
  });
});

afterAll(() => {
  child?.kill('SIGKILL');
  lab.cleanup();
});

describe('tcpListeners (sock_diag)', () => {
  it('lists the listeners of another netns, by port and family', () => {
    const all = tcpListeners({ netns: ns });
    expect(all.map((l) => `${l.family} ${l.address} ${l.port}`).sort()).toEqual(['4 0.0.0.0 15008', '4 127.0.0.1 8080', '6 :: 15008']);
    const hbone = tcpListeners({ netns: ns, port: 15008 });
    expect(hbone).toHaveLength(2);
    for (const l of hbone) expect(l.inode).toBeGreaterThan(0n);
    expect(tcpListeners({ netns: ns, port: 15008, family: 6 })).toEqual([hbone.find((l) => l.family === 6)]);
    // the namespace of the test itself has none of these
    expect(tcpListeners({ port: 15008 }).filter((l) => hbone.some((h) => h.inode === l.inode))).toEqual([]);
    const handle = NetnsHandle.open(ns);
    try {
      expect(tcpListeners({ netns: handle, port: 8080 })).toHaveLength(1);
    } finally {
      handle.close();
    }
  });

  it('udpListeners: the bound, unconnected UDP sockets of another netns (not the connected one)', () => {
    expect(udpListeners({ netns: ns }).map((l) => `${l.family} ${l.address} ${l.port}`).sort()).toEqual(['4 127.0.0.1 5353', '6 ::1 5353']);
    expect(udpListeners({ netns: ns, family: 6 })).toHaveLength(1);
    expect(() => udpListeners({ port: 70000 })).toThrow(/udpListeners: invalid port 70000/);
  });

  it('refuses bad arguments and a missing netns', () => {
    expect(() => tcpListeners({ port: 0 })).toThrow(/invalid port 0/);
    expect(() => tcpListeners({ family: 5 as 4 })).toThrow(/invalid family 5/);
    expect(() => tcpListeners({ netns: `${ns}-missing` })).toThrow(NotFoundError);
  });
});

describe('socketOwners + pidfd_getfd', () => {
  it('finds the process holding the listener and takes a working duplicate', async () => {
    const [v4] = tcpListeners({ netns: ns, port: 15008, family: 4 });
    const owners = socketOwners(v4.inode);
    expect(owners.map((o) => o.pid)).toEqual([childPid]);
    expect(socketOwners(v4.inode, { pids: [process.pid] })).toEqual([]);
    const fd = duplicateFdFromProcess(childPid, owners[0].fd);
    const handle = NetnsHandle.open(ns);
    try {
      expect(fdInode(fd)).toBe(v4.inode);
      const info = socketInfo(fd);
      expect(info).toMatchObject({ family: 'inet', type: 'stream', protocol: 6, listening: true, local: { address: '0.0.0.0', port: 15008 } });
      expect(info.netnsInode).toBe(handle.inode);
      expect(info.v6Only).toBeUndefined();
      const [v6] = tcpListeners({ netns: ns, port: 15008, family: 6 });
      const v6fd = duplicateFdFromProcess(childPid, socketOwners(v6.inode)[0].fd);
      expect(socketInfo(v6fd)).toMatchObject({ family: 'inet6', v6Only: true, local: { address: '::', port: 15008 } });
      closeSync(v6fd);
      expect(socketNetnsInode(fd)).toBe(handle.inode);
      // the duplicate keeps the socket alive after its owner is gone
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      await sleep(20);
      expect(tcpListeners({ netns: ns, port: 15008, family: 4 }).map((l) => l.inode)).toEqual([v4.inode]);
      expect(socketOwners(v4.inode).map((o) => o.pid)).toEqual([process.pid]);
    } finally {
      closeSync(fd);
      handle.close();
    }
    expect(tcpListeners({ netns: ns, port: 15008 })).toEqual([]);
  });

  it('reports a gone process and a missing fd as syscall errors', () => {
    expect(() => pidfdOpen(0x3ffffff0)).toThrow(/pidfd_open: ESRCH/);
    const pidfd = pidfdOpen(process.pid);
    try {
      expect(() => pidfdGetfd(pidfd, 99999)).toThrow(SyscallError);
      expect(() => pidfdGetfd(pidfd, 99999)).toThrow(/pidfd_getfd: EBADF/);
      const own = pidfdGetfd(pidfd, 0); // our own stdin, through our own pidfd
      expect(fdInode(own)).toBe(fdInode(0));
      closeSync(own);
    } finally {
      closeSync(pidfd);
    }
    expect(() => pidfdOpen(-1)).toThrow(InvalidArgumentError);
    expect(() => socketOwners(0)).toThrow(/invalid inode 0/);
  });
});

describe('netns fds', () => {
  it('tells a netns fd from other fds', () => {
    const handle = NetnsHandle.open(ns);
    const file = openSync('/proc/self/status', 'r');
    const uts = openSync('/proc/self/ns/uts', 'r');
    try {
      expect(isNetnsFd(handle.fd)).toBe(true);
      expect(netnsFdInode(handle.fd)).toBe(handle.inode);
      expect(isNetnsFd(file)).toBe(false);
      expect(() => netnsFdInode(file, 'the Add fd')).toThrow(/the Add fd is not a network namespace fd: it is not a namespace file/);
      expect(() => netnsFdInode(uts)).toThrow(/a namespace fd, but not of a network namespace/);
      expect(() => netnsFdInode(99999)).toThrow(/it is not open/);
      // /proc/self/fd/N names an open netns fd: it can be opened again by path
      const again = NetnsHandle.open(fdPath(handle.fd));
      expect(again.inode).toBe(handle.inode);
      again.close();
    } finally {
      closeSync(file);
      closeSync(uts);
      handle.close();
    }
  });
});

describe('fd lifetimes', () => {
  it('dupFd / isFdOpen / OwnedFd close exactly once and leak nothing', () => {
    const before = readdirSync('/proc/self/fd').length;
    const fd = openSync('/dev/null', 'r');
    const copy = dupFd(fd);
    expect(copy).toBeGreaterThanOrEqual(3);
    expect(fdInode(copy)).toBe(fdInode(fd));
    closeSync(fd);
    expect(isFdOpen(fd)).toBe(false);
    const owned = new OwnedFd(copy, 'dev-null');
    const second = owned.dup();
    expect(owned.path).toBe(`/proc/self/fd/${copy}`);
    owned.close();
    owned.close();
    expect(owned.closed).toBe(true);
    expect(() => owned.fd).toThrow(ClosedError);
    expect(isFdOpen(copy)).toBe(false);
    const released = second.release();
    expect(isFdOpen(released)).toBe(true);
    second.close(); // released: does not close
    expect(isFdOpen(released)).toBe(true);
    {
      using scoped = new OwnedFd(released);
      expect(scoped.fd).toBe(released);
    }
    expect(isFdOpen(released)).toBe(false);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
    expect(() => dupFd(99999)).toThrow(/F_DUPFD_CLOEXEC.*EBADF/);
    expect(() => new OwnedFd(-1)).toThrow(InvalidArgumentError);
  });
});
