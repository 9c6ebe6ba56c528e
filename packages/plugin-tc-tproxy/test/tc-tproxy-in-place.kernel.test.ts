/**
 * The dataplane fed as a plugin thread feeds it: the same rules array from one apply to the next,
 * changed in place, with `changes` saying where (plugin-worker.ts). Each change must be planned from
 * the changes alone (`plan: 'changes'`), write exactly its entries, and real TCP must follow it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { Intent } from '@bpfsteer/agent-kernel';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTproxyDataplane } from '../src/open-tproxy-dataplane.js';
import type { TproxyDataplane } from '../src/tproxy-dataplane.js';
import { type RouterLab, routerLab } from './support/router-lab.js';

const N = 1000;
const rule = (i: number, tproxyPort: number): Intent => ({
  kind: TPROXY_RULE_KIND,
  destination: `10.64.${i >> 8}.${i & 255}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 2000, high: 2000 },
  action: 'divert',
  tproxyPort,
});

describe('rules changed in place (as in a plugin thread)', () => {
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tctpi-${process.pid}-${randomBytes(3).toString('hex')}`;
  let net: RouterLab | undefined;
  let dp: TproxyDataplane | undefined;

  beforeAll(async () => {
    net = await routerLab('tctpi', '10.64.0.0/10');
  });
  afterAll(async () => {
    try {
      dp?.close({ keepPinned: false });
      if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
    } finally {
      await net?.close();
    }
  });

  it('plans each change from the changes alone and steers traffic by the changed list', async () => {
    const { lab, client, router, ziti } = net!;
    dp = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns: router, pinRoot, addressRefreshMs: 0 });
    const rules = Array.from({ length: N }, (_, i) => rule(i, ziti.tcp4));
    expect(dp.apply({ rules })).toMatchObject({ added: N, plan: 'all' });
    const reaches = async (i: number) =>
      (await lab.exchange(client, 'tcp', `10.64.${i >> 8}.${i & 255}`, 2000, { payload: 'x', timeoutMs: 800 })).reply !== undefined;

    // one more, at the end (the array grows)
    rules.push(rule(N, ziti.tcp4));
    expect(dp.apply({ rules }, { rules: { before: N, positions: [N] } })).toMatchObject({ added: 1, removed: 0, plan: 'changes' });
    expect(await reaches(N)).toBe(true);

    // swap-remove of rule 5: the last takes its place, the array shrinks
    rules[5] = rules.pop()!;
    expect(dp.apply({ rules }, { rules: { before: N + 1, positions: [5] } })).toMatchObject({ added: 0, removed: 1, plan: 'changes' });
    expect(await reaches(5)).toBe(false);
    expect(await reaches(N)).toBe(true);
    expect(dp.status().maps.find((m) => m.name === 'tctp_rules')?.entries).toBe(N);
  });

  it('reads the interface addresses again at the apply after they changed (the netlink watch), and keeps the rules', async () => {
    const { lab, router } = net!;
    dp?.close({ keepPinned: false }); // (the programs of the test before)
    dp = undefined;
    const rules = Array.from({ length: 10 }, (_, i) => rule(i, net!.ziti.tcp4));
    const fresh = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns: router, addressRefreshMs: 0 });
    try {
      expect(fresh.apply({ rules })).toMatchObject({ added: 10, plan: 'all' });
      const addresses = () => fresh.status().maps.find((m) => m.name === 'tctp_if_addrs')!.entries;
      const before = addresses();
      lab.ip(router, 'addr', 'add', '10.63.0.9/32', 'dev', 'eth-c');
      try {
        expect(fresh.apply({ rules }, { rules: { before: 10, positions: [] } })).toMatchObject({ added: 0, removed: 0, plan: 'changes' });
        expect(addresses()).toBe(before + 1);
      } finally {
        lab.ip(router, 'addr', 'del', '10.63.0.9/32', 'dev', 'eth-c');
      }
      expect(fresh.apply({ rules }, { rules: { before: 10, positions: [] } })).toMatchObject({ plan: 'changes' });
      expect(addresses()).toBe(before);
      // the link going down and up again keeps its ifindex: the rules stay planned by their changes
      lab.ip(router, 'link', 'set', 'eth-c', 'down');
      lab.ip(router, 'link', 'set', 'eth-c', 'up');
      rules.push(rule(10, net!.ziti.tcp4));
      expect(fresh.apply({ rules }, { rules: { before: 10, positions: [10] } })).toMatchObject({ added: 1, plan: 'changes' });
    } finally {
      fresh.close({ keepPinned: false });
    }
  });
});
