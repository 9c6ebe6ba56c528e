import { afterAll, describe, expect, it } from 'vitest';
import { buildAsymmetricRoutingLab, NetLab } from '../src/index.js';

// Proves the lab itself without BPF: replies are lost by default, and a policy route by source
// address (what the tc-nexthop plugin does in BPF) makes ping and TCP work.
describe('asymmetric-routing lab', () => {
  const lab = NetLab.create('nla');
  afterAll(() => lab.destroy());
  const l = buildAsymmetricRoutingLab(lab);

  for (const family of ['v4', 'v6'] as const) {
    it(`${family}: fails without a fix, works with a source policy route`, async () => {
      const plan = l[family];
      const srv = await lab.listen(l.netns.server, 'tcp', plan.service, 0);
      expect(lab.ping(l.netns.client, plan.service)).toBe(false);
      expect((await lab.exchange(l.netns.client, 'tcp', plan.service, srv.port, { timeoutMs: 1500 })).ok).toBe(false);

      const fam = family === 'v4' ? '-4' : '-6';
      lab.ip(l.netns.server, fam, 'rule', 'add', 'from', plan.service, 'table', '100');
      lab.ip(l.netns.server, fam, 'route', 'add', 'default', 'via', plan.routerOnServerLink, 'table', '100');
      try {
        expect(lab.ping(l.netns.client, plan.service, { timeoutSec: 2 })).toBe(true);
        expect(await lab.exchange(l.netns.client, 'tcp', plan.service, srv.port)).toMatchObject({ ok: true });
      } finally {
        lab.ip(l.netns.server, fam, 'rule', 'del', 'from', plan.service, 'table', '100');
        srv.close();
      }
    });
  }
});
