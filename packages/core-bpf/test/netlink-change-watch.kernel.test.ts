// NetlinkChangeWatch on real namespaces: quiet when nothing changes, a change after an address or
// link change in its namespace (IPv4 and IPv6), quiet again once drained, deaf to other namespaces.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError } from '../src/errors.js';
import { NetlinkChangeWatch } from '../src/netlink-change-watch.js';
import { Lab, openFdCount, run } from './support/lab.js';

const lab = new Lab();
let watched: string;
let other: string;
let dir: string;

beforeAll(() => {
  watched = lab.addNetns('cbw');
  other = lab.addNetns('cbo');
  lab.veth(watched, 'w0', '10.79.0.1/24', other, 'o0', '10.79.0.2/24');
  dir = mkdtempSync(join(tmpdir(), 'cbw-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  lab.cleanup();
});

describe('NetlinkChangeWatch', () => {
  it('says nothing changed while nothing does, and once after each change in its namespace', () => {
    using watch = NetlinkChangeWatch.open({ netns: watched });
    expect(watch.changed()).toBe(false);
    expect(watch.changed()).toBe(false);

    run('ip', ['-n', watched, 'addr', 'add', '10.79.1.1/32', 'dev', 'w0']);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);

    run('ip', ['-n', watched, 'addr', 'add', 'fd79::1/128', 'dev', 'w0', 'nodad']);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);

    run('ip', ['-n', watched, 'addr', 'del', '10.79.1.1/32', 'dev', 'w0']);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);

    run('ip', ['-n', watched, 'link', 'add', 'cbwd0', 'type', 'veth', 'peer', 'name', 'cbwp0']);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);
    run('ip', ['-n', watched, 'link', 'set', 'cbwd0', 'name', 'cbwd1']);
    expect(watch.changed()).toBe(true);
    run('ip', ['-n', watched, 'link', 'del', 'cbwd1']);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);
  });

  it('does not hear changes in another namespace', () => {
    using watch = NetlinkChangeWatch.open({ netns: watched });
    run('ip', ['-n', other, 'addr', 'add', '10.79.2.1/32', 'dev', 'o0']);
    run('ip', ['-n', other, 'link', 'add', 'cbod0', 'type', 'veth', 'peer', 'name', 'cbop0']);
    run('ip', ['-n', other, 'link', 'del', 'cbod0']);
    expect(watch.changed()).toBe(false);
  });

  it('counts a burst (more than its queue may hold) as a change, and is quiet once drained', () => {
    using watch = NetlinkChangeWatch.open({ netns: watched });
    // likely more notifications than the socket's receive queue holds (the kernel then drops some
    // and recv reports ENOBUFS): either way a change
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`addr add 10.80.${i >> 8}.${i & 255}/32 dev w0`);
    const batch = join(dir, 'addrs');
    writeFileSync(batch, `${lines.join('\n')}\n`);
    run('ip', ['-n', watched, '-batch', batch]);
    expect(watch.changed()).toBe(true);
    expect(watch.changed()).toBe(false);
    run('ip', ['-n', watched, 'addr', 'flush', 'dev', 'w0', 'to', '10.80.0.0/16']);
    expect(watch.changed()).toBe(true);
  });

  it('closes once, refuses to be asked after close, and leaks no fd', () => {
    const before = openFdCount();
    const watch = NetlinkChangeWatch.open({ netns: watched });
    expect(openFdCount()).toBe(before + 1);
    watch.close();
    watch.close();
    expect(watch.closed).toBe(true);
    expect(() => watch.changed()).toThrow(ClosedError);
    expect(openFdCount()).toBe(before);
  });
});
