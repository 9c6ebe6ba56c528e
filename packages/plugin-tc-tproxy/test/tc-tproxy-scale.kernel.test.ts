/**
 * The dataplane at the scale: 100,000 rules applied, re-applied (nothing written), grown by
 * one rule (only that rule's entries written), and re-adopted after a restart (nothing written:
 * the pinned summary holds, so nothing is read back until the rules are described),
 * with real TCP diverted by one of the 100,000 rules. Timings are printed, not asserted (benchmarks
 * live elsewhere).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { Intent } from '@bpfsteer/agent-kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTproxyDataplane } from '../src/open-tproxy-dataplane.js';
import type { TproxyDataplane } from '../src/tproxy-dataplane.js';
import { type RouterLab, routerLab } from './support/router-lab.js';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';

const N = 100_000;

/**
 * rule i: TCP to 10.(64 + i / 65536).(i / 256 % 256).(i % 256)/32, port 1000 + i % 50000; even rules
 * from any source (inline dst nodes), odd rules from the client's 10.0.0.0/24 (src and port entries)
 */
function manyRules(n: number, tproxyPort: number): Intent[] {
  const out: Intent[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      kind: TPROXY_RULE_KIND,
      destination: `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`,
      source: i % 2 === 0 ? '0.0.0.0/0' : '10.0.0.0/24',
      protocol: 'tcp',
      ports: { low: 1000 + (i % 50_000), high: 1000 + (i % 50_000) },
      action: 'divert',
      tproxyPort,
      service: `svc-${i}`,
    });
  }
  return out;
}

describe(`the dataplane with ${N} rules`, () => {
  let net: RouterLab;
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tctps-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dataplanes: TproxyDataplane[] = [];
  const timings: Record<string, unknown> = {};
  const t = (r: { ms: number; phases: { planMs: number; writeMs: number } }) => `${Math.round(r.ms)} (plan ${Math.round(r.phases.planMs)}, write ${Math.round(r.phases.writeMs)})`;

  const start = () => {
    const t = performance.now();
    const dp = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns: net.router, pinRoot, addressRefreshMs: 0 });
    dataplanes.push(dp);
    return { dp, ms: performance.now() - t };
  };

  beforeAll(async () => {
    net = await routerLab('tctps', '10.64.0.0/10');
  });
  afterAll(async () => {
    try {
      for (const dp of dataplanes) {
        try {
          dp.close({ keepPinned: false });
        } catch {
          // keep cleaning up
        }
      }
      if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
    } finally {
      await net?.close();
      console.log(`tc-tproxy with ${N} rules (ms):`, JSON.stringify(timings));
    }
  });

  it('applies them, re-applies and grows without rewriting, and re-adopts them after a restart', async () => {
    const { lab, client, ziti } = net;
    const rules = manyRules(N, ziti.tcp4);
    const { dp } = start();

    const first = dp.apply({ rules });
    timings.applyAll = t(first);
    expect(first).toMatchObject({ added: N, updated: 0, removed: 0, steps: 1 });
    // an inline rule: rule slot and dst entry; the others: rule slot, port, src and dst entry
    const ENTRIES = (N / 2) * 2 + (N / 2) * 4;
    expect(first.entries).toEqual({ written: ENTRIES, deleted: 0 });
    const maps = Object.fromEntries(dp.status().maps.map((m) => [m.name, m.entries]));
    expect(maps).toMatchObject({ tctp_dst: 0, tctp_dst_host: N, tctp_src: N / 2, tctp_port: N / 2, tctp_rules: N }); // host destinations: the hash

    // real traffic through two of them (through the tries, and inline)
    const target = (k: number) => ({ host: `10.${64 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`, port: 1000 + (k % 50_000) });
    const i = 54_321;
    const { host, port } = target(i);
    for (const t of [target(i), target(76_544)]) {
      const r = await lab.exchange(client, 'tcp', t.host, t.port, { payload: 'scale', timeoutMs: 2000 });
      expect(r.reply).toMatch(new RegExp(`^orig=${t.host.replace(/\./g, '\\.')}:${t.port} `));
      expect((await lab.exchange(client, 'tcp', t.host, t.port + 1, { timeoutMs: 800 })).error).toBe('timeout');
    }

    const again = dp.apply({ rules });
    timings.reapplySame = t(again);
    expect(again).toMatchObject({ added: 0, updated: 0, removed: 0, entries: { written: 0, deleted: 0 } });

    // the same changes twice: planned on the whole set, then from where the lists changed (as the
    // agent hands them over); the maps must get exactly the same writes
    const extra: Intent = { ...rules[0], destination: '10.99.1.1/32', service: 'extra' };
    const grownList = [...rules, extra];
    const changedList = [...rules.slice(0, -1), { ...rules[N - 1], tproxyPort: ziti.tcp4 + 1 === 65536 ? 1 : ziti.tcp4 + 1 }, extra];
    for (const hinted of [false, true]) {
      const grown = dp.apply({ rules: grownList }, hinted ? { rules: { before: N, positions: [N] } } : undefined);
      timings[hinted ? 'addOneByChange' : 'addOne'] = t(grown);
      expect(grown).toMatchObject({ added: 1, updated: 0, removed: 0, entries: { written: 2, deleted: 0 }, plan: hinted ? 'changes' : 'all' }); // inline

      const changed = dp.apply({ rules: changedList }, hinted ? { rules: { before: N + 1, positions: [N - 1] } } : undefined);
      timings[hinted ? 'changeOneByChange' : 'changeOne'] = t(changed);
      expect(changed).toMatchObject({ added: 0, updated: 1, removed: 0, entries: { written: 1, deleted: 0 }, plan: hinted ? 'changes' : 'all' });

      const shrunk = dp.apply({ rules }, hinted ? { rules: { before: N + 1, positions: [N - 1] } } : undefined);
      timings[hinted ? 'removeOneRevertOneByChange' : 'removeOneRevertOne'] = t(shrunk);
      expect(shrunk).toMatchObject({ added: 0, updated: 1, removed: 1, entries: { written: 1, deleted: 2 }, plan: hinted ? 'changes' : 'all' });
    }
    expect((await lab.exchange(client, 'tcp', host, port, { payload: 'changed', timeoutMs: 2000 })).reply).toMatch(/data=changed/);

    // restart: the pinned maps are adopted, the same desired state writes nothing
    dp.close({ keepPinned: true });
    const restarted = start();
    timings.restartLoadSeedAttach = Math.round(restarted.ms);
    expect(restarted.dp.status().rules).toBe(N);
    // the pinned summary written at the stop holds: the first apply checks the rules against it and compiles nothing
    const readopted = restarted.dp.apply({ rules });
    timings.applyAfterRestart = t(readopted);
    expect(readopted).toMatchObject({ added: 0, updated: 0, removed: 0, entries: { written: 0, deleted: 0 }, plan: 'summary' });
    expect((await lab.exchange(client, 'tcp', host, port, { payload: 'again', timeoutMs: 2000 })).reply).toMatch(/data=again/);

    const readBack = performance.now();
    const { rules: described } = restarted.dp.describeRules(); // reads the maps back (once)
    timings.readBackOnDemand = Math.round(performance.now() - readBack);
    expect(described).toHaveLength(N);
    expect(described.find((d) => d.intent.service === `svc-${i}`)!.packets).toBeGreaterThan(0);

    const emptied = restarted.dp.apply({ rules: [] });
    timings.removeAll = t(emptied);
    expect(emptied).toMatchObject({ added: 0, removed: N, entries: { written: 0, deleted: ENTRIES } });
    restarted.dp.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
  }, 300_000);
});
