import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NetLab } from '../src/index.js';

describe('NetLab', () => {
  const lab = NetLab.create('nlt');
  afterAll(() => lab.destroy());

  it('builds two netns joined by a veth and carries TCP, UDP and ICMP over IPv4 and IPv6', async () => {
    const a = lab.addNetns('a');
    const b = lab.addNetns('b');
    lab.addVeth(
      { netns: a, ifname: 'eth0', addresses: ['10.77.0.1/24', 'fd77::1/64'] },
      { netns: b, ifname: 'eth0', addresses: ['10.77.0.2/24', 'fd77::2/64'] },
    );
    expect(lab.ping(a, '10.77.0.2')).toBe(true);
    expect(lab.ping(a, 'fd77::2')).toBe(true);
    for (const proto of ['tcp', 'udp'] as const) {
      for (const host of ['10.77.0.2', 'fd77::2']) {
        const l = await lab.listen(b, proto, host, 0);
        const r = await lab.exchange(a, proto, host, l.port);
        l.close();
        expect(r, `${proto} ${host}`).toMatchObject({ ok: true });
      }
    }
    const closed = await lab.exchange(a, 'tcp', '10.77.0.2', 1, { timeoutMs: 1000 });
    expect(closed.ok).toBe(false);
  });

  it('removes exactly the netns it created', async () => {
    const mine = lab.addNetns('keep');
    const other = NetLab.create('nlt');
    try {
      const n = other.addNetns('x');
      expect(n).not.toBe(mine);
      expect(existsSync(`/var/run/netns/${n}`)).toBe(true);
      await other.destroy();
      expect(existsSync(`/var/run/netns/${n}`)).toBe(false);
      expect(existsSync(lab.nsPath(mine))).toBe(true); // another lab's netns stays
    } finally {
      await other.destroy();
    }
  });

  it('rejects a bad prefix', () => {
    expect(() => NetLab.create('Bad-Prefix')).toThrow(/lower-case/);
  });
});
