// cgroup attachments: cgroup_skb ingress/egress see the SO_MARK a child process in a fresh cgroup set
// with setSocketMark; connect4 rewrites that child's connect; sockops sees its connection.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import net from 'node:net';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachCgroup } from '../src/attach-cgroup.js';
import { openPinnedLink } from '../src/open-pinned-link.js';
import { cgroup2Root, createCgroup, findCgroup2Mount, moveToCgroup, removeCgroup } from '../src/cgroup.js';
import { setSocketMark } from '../src/socket-options.js';
import { AlreadyAttachedError, NotFoundError, SyscallError } from '../src/errors.js';
import type { Link } from '../src/link.js';
import { CL, counter, loadCoreLinks, markCount, u32, type Fixture } from './support/load-fixture.js';
import { exited, Lab, openFdCount, tsChild, unique, waitForLine } from './support/lab.js';
import { closeSync } from 'node:fs';
import { sendto4, socket4, SOCK_DGRAM } from './support/raw-socket.js';

/** statfs f_type of a cgroup2 filesystem (linux/magic.h) */
const CGROUP2_SUPER_MAGIC = 0x63677270;

const lab = new Lab();
let fx: Fixture;
let cg: string;
let server: net.Server;
let toPort: number;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  fx = loadCoreLinks();
  cg = createCgroup(unique('bpfsteer-test'));
  server = net.createServer((s) => s.on('data', (d) => s.end(`echo:${d}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  toPort = (server.address() as net.AddressInfo).port;
});

/** Kill a child that is still running (it may sit in the test cgroup) and wait until it is gone. */
async function reap(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await exited(child);
}

/** Remove the test cgroup; a process that just left it may keep it busy for a moment. */
async function removeTestCgroup(path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      removeCgroup(path);
      return;
    } catch (err) {
      if (!(err instanceof SyscallError && err.errno === 'EBUSY') || attempt >= 50) throw err;
      await sleep(100);
    }
  }
}

afterAll(async () => {
  try {
    await new Promise((resolve) => server?.close(resolve));
    fx?.close();
    if (cg !== undefined && existsSync(cg)) await removeTestCgroup(cg);
  } finally {
    lab.cleanup();
  }
});

describe('attachCgroup', () => {
  it('creates the test cgroup inside the cgroup2 hierarchy', () => {
    // wherever this system mounts cgroup2 (found in mountinfo, never assumed)
    const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
    expect(mount, 'a cgroup2 mount in /proc/self/mountinfo').toMatch(/^\//);
    expect(cgroup2Root()).toBe(mount);
    expect(statfsSync(cg).type).toBe(CGROUP2_SUPER_MAGIC);
    expect(dirname(cg)).toBe(mount);
    expect(basename(cg)).toMatch(/^bpfsteer-test-/);
  });

  it('cgroup_skb, connect4 and sockops see the traffic of a child moved into the cgroup', async () => {
    const MARK = 0x5eed0000 + (process.pid & 0xffff);
    const OUTSIDE_MARK = MARK + 1;
    const fromPort = await freePort();
    const redirect = Buffer.alloc(4);
    redirect.writeUInt16BE(fromPort, 0);
    redirect.writeUInt16BE(toPort, 2);
    fx.update('connect_redirect', u32(0), redirect);

    const before = {
      ing: counter(fx, CL.CG_INGRESS),
      eg: counter(fx, CL.CG_EGRESS),
      rewrite: counter(fx, CL.CONNECT4_REWRITE),
      estab: counter(fx, CL.SOCKOPS_ESTAB),
    };
    const links: Link[] = [
      attachCgroup(fx.program('cg_skb_ingress'), { cgroup: cg, attachType: 'cgroup_skb-ingress' }),
      attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-egress' }),
      attachCgroup(fx.program('cg_connect4'), { cgroup: cg, attachType: 'connect4' }),
      attachCgroup(fx.program('sockops_count'), { cgroup: cg.slice(cgroup2Root().length + 1), attachType: 'sockops' }),
    ];
    let child: ChildProcess | undefined;
    try {
      expect(links.map((l) => l.type)).toEqual(['cgroup_skb-ingress', 'cgroup_skb-egress', 'cgroup-connect4', 'sockops']);
      expect(links[0].target).toBe(`cgroup ${cg}`);

      child = tsChild('cgroup-traffic.ts', [String(MARK), String(fromPort)]);
      await waitForLine(child, /waiting/, 20000);
      moveToCgroup(cg, child.pid as number);
      child.stdin?.write('go\n');
      const line = await waitForLine(child, /^\{/, 20000);
      expect(await exited(child)).toBe(0);
      const seen = JSON.parse(line);
      expect(seen.readBack).toBe(MARK);
      expect(seen.got).toBe('marked');
      expect(seen.tcp).toEqual({ text: 'echo:ping', remotePort: toPort });

      expect(markCount(fx, 'egress_marks', MARK)).toBeGreaterThanOrEqual(1n);
      // over loopback the mark survives to the receiving socket's cgroup_skb ingress
      expect(markCount(fx, 'ingress_marks', MARK)).toBeGreaterThanOrEqual(1n);
      expect(counter(fx, CL.CG_EGRESS) - before.eg).toBeGreaterThanOrEqual(3n);
      expect(counter(fx, CL.CG_INGRESS) - before.ing).toBeGreaterThanOrEqual(3n);
      expect(counter(fx, CL.CONNECT4_REWRITE) - before.rewrite).toBe(1n);
      expect(counter(fx, CL.SOCKOPS_ESTAB) - before.estab).toBeGreaterThanOrEqual(1n);

      // this process is outside the cgroup: its marked datagram and its connect are not seen
      const tx = socket4(SOCK_DGRAM);
      setSocketMark(tx, OUTSIDE_MARK);
      sendto4(tx, Buffer.from('x'), '127.0.0.1', 9);
      closeSync(tx);
      expect(markCount(fx, 'egress_marks', OUTSIDE_MARK)).toBe(0n);
      await expect(
        new Promise((resolve, reject) => net.connect(fromPort, '127.0.0.1').on('connect', resolve).on('error', reject)),
      ).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await reap(child);
      for (const l of links) l.close();
    }
  });

  it('refuses duplicates, re-adopts a pin, re-opens and detaches', () => {
    const before = openFdCount();
    const pin = lab.pinPath();
    const link = attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-egress', pinPath: pin });
    expect(() => attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-egress' })).toThrow(AlreadyAttachedError);
    // the same program on another attach type is a different hook
    const ingress = attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-ingress' });
    ingress.close();
    const again = attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-egress', pinPath: pin });
    expect(again.pinnedPath).toBe(pin);
    again.close();
    link.close();
    const reopened = openPinnedLink(pin);
    expect(reopened.type).toBe('cgroup_skb-egress');
    expect(reopened.target).toMatch(/^cgroup id \d+$/);
    expect(() => reopened.update(fx.program('sockops_count'))).toThrow(/sock_ops.*cgroup_skb/);
    reopened.detach();
    expect(existsSync(pin)).toBe(false);
    // detached: attaching again works without a duplicate error
    attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'cgroup_skb-egress' }).close();
    expect(openFdCount()).toBe(before);
  });

  it('bad input gets a clear error', () => {
    expect(() => attachCgroup(fx.program('cg_skb_egress'), { cgroup: 'no-such-cgroup-here', attachType: 'cgroup_skb-egress' })).toThrow(NotFoundError);
    expect(() => attachCgroup(fx.program('cg_skb_egress'), { cgroup: '../etc', attachType: 'cgroup_skb-egress' })).toThrow(/'\.\.' is not allowed/);
    expect(() => attachCgroup(fx.program('cg_skb_egress'), { cgroup: '/tmp', attachType: 'cgroup_skb-egress' })).toThrow(/outside the cgroup2 hierarchy/);
    expect(() => attachCgroup(fx.program('cg_skb_egress'), { cgroup: cg, attachType: 'connect4' })).toThrow(/cgroup_skb.*cgroup_sock_addr/);
    expect(() => moveToCgroup(cg, -1)).toThrow(/positive integer/);
    expect(() => removeCgroup('/')).toThrow(/outside|root/);
  });
});
