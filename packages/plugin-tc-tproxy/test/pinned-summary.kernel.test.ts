/**
 * The pinned summary at a restart (real maps pinned under a unique bpffs directory per test, one
 * lab netns for the file): a clean stop with keepPinned writes it; the next start invalidates it
 * while it runs and trusts the maps without reading them back only when the summary, the
 * tctp_rules slots and the first desired rules all agree. Anything else is read back in full.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Intent } from '@bpfsteer/agent-kernel';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';
import { BpfMap, TypedMap, codecs } from '@bpfsteer/core-bpf';
import { NetLab } from '@bpfsteer/netlab';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAP, ruleCodec, summaryCodec } from '../src/map-codecs.js';
import { SUMMARY_VERSION } from '../src/tproxy-constants.js';
import { startTproxyDataplane } from '../src/open-tproxy-dataplane.js';
import type { TproxyDataplane } from '../src/tproxy-dataplane.js';

const N = 300;

/** N rules: host destinations (the hash), every third from a source prefix (src and port entries), some port ranges. */
function rules(tproxyPort = 15000): Intent[] {
  return Array.from({ length: N }, (_, i) => ({
    kind: TPROXY_RULE_KIND,
    destination: i % 10 === 0 ? `10.70.${i / 10}.0/24` : `10.71.${i >> 8}.${i & 255}/32`,
    source: i % 3 === 0 ? '10.0.0.0/24' : '0.0.0.0/0',
    protocol: i % 7 === 0 ? 'udp' : 'tcp',
    ports: { low: 1000 + i, high: 1000 + i + (i % 5) },
    action: 'divert',
    tproxyPort,
    service: `svc-${i}`,
  }));
}

describe('the pinned summary at a restart', () => {
  const lab = NetLab.create('tctpsm');
  let netns = '';
  const pinRoots: string[] = [];
  const dataplanes: TproxyDataplane[] = [];

  beforeAll(() => {
    netns = lab.addNetns('r');
    const client = lab.addNetns('c');
    lab.addVeth({ netns: client, ifname: 'eth0', addresses: ['10.0.0.2/24'] }, { netns, ifname: 'eth-c', addresses: ['10.0.0.1/24'] });
  });
  /** each test's dataplanes are closed (detached, pins removed) even when it failed, so the next one can attach */
  afterEach(() => {
    for (const dp of dataplanes.splice(0)) {
      try {
        dp.close({ keepPinned: false });
      } catch {
        // keep cleaning up
      }
    }
    for (const root of pinRoots.splice(0)) if (existsSync(root)) rmSync(root, { recursive: true });
  });
  afterAll(async () => {
    await lab.destroy();
  });

  /** A pin directory of this test's own. */
  const newPinRoot = () => {
    const root = `/sys/fs/bpf/bpfsteer-test-tctpsm-${process.pid}-${randomBytes(3).toString('hex')}`;
    pinRoots.push(root);
    return root;
  };
  const start = (pinRoot: string) => {
    const dp = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns, pinRoot, addressRefreshMs: 0 });
    dataplanes.push(dp);
    return dp;
  };
  const pinned = <V>(pinRoot: string, name: string, value: Parameters<typeof TypedMap.wrap<number, V>>[2]) =>
    TypedMap.wrap(BpfMap.fromPinned(join(pinRoot, 'maps', name)), codecs.u32, value);
  /** The rule maps as the kernel holds them: slots of tctp_rules (id -> value). */
  const slots = (pinRoot: string) => {
    const m = pinned(pinRoot, MAP.rules, ruleCodec);
    try {
      return new Map([...m.entries()].filter(([, v]) => v.action !== 0));
    } finally {
      m.map.close();
    }
  };
  const summaryVersion = (pinRoot: string) => {
    const m = pinned(pinRoot, MAP.summary, summaryCodec);
    try {
      return m.get(0)?.version;
    } finally {
      m.map.close();
    }
  };
  /** Applies the rules and stops keeping the pins: the summary is written. */
  const installAndStop = (pinRoot: string) => {
    const dp = start(pinRoot);
    expect(dp.apply({ rules: rules() })).toMatchObject({ added: N, plan: 'all' });
    const before = slots(pinRoot);
    dp.close({ keepPinned: true });
    expect(summaryVersion(pinRoot)).toBe(SUMMARY_VERSION);
    return before;
  };

  it('trusts the maps after a clean stop: the same rules write nothing, and a change reads them back first', () => {
    const pinRoot = newPinRoot();
    const before = installAndStop(pinRoot);

    const dp = start(pinRoot);
    expect(summaryVersion(pinRoot)).toBe(0); // invalidated while this dataplane may change the maps
    expect(dp.status().rules).toBe(N);
    const first = dp.apply({ rules: rules() });
    expect(first).toMatchObject({ added: 0, updated: 0, removed: 0, entries: { written: 0, deleted: 0 }, plan: 'summary' });
    expect(slots(pinRoot)).toEqual(before);

    // a change by position: the maps are read back, then only the change is written
    const grown = [...rules(), { ...rules()[1], destination: '10.72.0.1/32', service: 'extra' }];
    const changed = dp.apply({ rules: grown }, { rules: { before: N, positions: [N] } });
    expect(changed).toMatchObject({ added: 1, updated: 0, removed: 0, plan: 'changes' });
    expect(changed.readBackMs).toBeGreaterThan(0); // (no turn of the event loop since: the background read-back did not run)
    expect(slots(pinRoot).size).toBe(N + 1);
    expect(dp.describeRules().rules).toHaveLength(N + 1);

    // stopped again: the summary is that of the grown rule set, and trusted for it
    dp.close({ keepPinned: true });
    const again = start(pinRoot);
    expect(again.apply({ rules: grown })).toMatchObject({ entries: { written: 0, deleted: 0 }, plan: 'summary' });
    expect(again.describeRules().rules).toHaveLength(N + 1); // reads the maps back on demand
    again.close({ keepPinned: false });
  });

  it('reads the trusted maps back in the background after the first apply: a later change does not wait for it', async () => {
    const pinRoot = newPinRoot();
    installAndStop(pinRoot);

    const errors: unknown[] = [];
    const dp = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns, pinRoot, addressRefreshMs: 0, onError: (err) => errors.push(err) });
    dataplanes.push(dp);
    const list = rules();
    expect(dp.apply({ rules: list }).plan).toBe('summary');
    // one step per turn of the event loop: the dataplane answers in between
    for (let i = 0; i < 5; i++) {
      expect(dp.status().rules).toBe(N);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    list.push({ ...list[1], destination: '10.72.0.3/32', service: 'after-read-back' });
    const changed = dp.apply({ rules: list }, { rules: { before: N, positions: [N] } });
    expect(changed).toMatchObject({ added: 1, updated: 0, removed: 0, entries: { written: 2, deleted: 0 }, plan: 'changes' });
    expect(changed.readBackMs).toBeUndefined(); // done already
    expect(slots(pinRoot).size).toBe(N + 1);
    expect(errors).toEqual([]);

    // the state read back is exact: the next stop writes a summary the next start trusts
    dp.close({ keepPinned: true });
    const again = start(pinRoot);
    expect(again.apply({ rules: list })).toMatchObject({ entries: { written: 0, deleted: 0 }, plan: 'summary' });
  });

  it('stops a pending background read-back at close, and the summary stays trusted', async () => {
    const pinRoot = newPinRoot();
    const before = installAndStop(pinRoot);

    const errors: unknown[] = [];
    const dp = startTproxyDataplane({ interfaces: [{ name: 'eth-c' }], netns, pinRoot, addressRefreshMs: 0, onError: (err) => errors.push(err) });
    dataplanes.push(dp);
    expect(dp.apply({ rules: rules() }).plan).toBe('summary');
    dp.close({ keepPinned: true }); // before the read-back ran
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
    expect(summaryVersion(pinRoot)).toBe(SUMMARY_VERSION);
    const again = start(pinRoot);
    expect(again.apply({ rules: rules() }).plan).toBe('summary');
    expect(slots(pinRoot)).toEqual(before);
  });

  it('plans a change to the trusted list made in place (as a plugin thread makes it) from the maps read back', () => {
    const pinRoot = newPinRoot();
    installAndStop(pinRoot);

    const dp = start(pinRoot);
    const list = rules();
    expect(dp.apply({ rules: list }).plan).toBe('summary');
    list.push({ ...list[1], destination: '10.72.0.2/32', service: 'in-place' }); // the same array, one more rule
    list[5] = { ...list[5], tproxyPort: 15002 };
    const changed = dp.apply({ rules: list }, { rules: { before: N, positions: [5, N] } });
    expect(changed).toMatchObject({ added: 1, updated: 1, removed: 0, plan: 'changes' });
    const inForce = slots(pinRoot);
    expect(inForce.size).toBe(N + 1);
    expect([...inForce.values()].filter((v) => v.tproxy_port_be === 15002)).toHaveLength(1);
  });

  it('reads the maps back when a tctp_rules slot differs from the summary, and repairs it', () => {
    const pinRoot = newPinRoot();
    const before = installAndStop(pinRoot);
    const [id, value] = [...before][7];
    const m = pinned(pinRoot, MAP.rules, ruleCodec);
    m.set(id, { ...value, tproxy_port_be: value.tproxy_port_be + 1 });
    m.map.close();

    const dp = start(pinRoot);
    const first = dp.apply({ rules: rules() });
    expect(first.plan).toBe('all');
    expect(first.updated).toBe(1);
    expect(slots(pinRoot)).toEqual(before);
    dp.close({ keepPinned: false });
  });

  it('reads the maps back when the summary was invalidated (a dataplane stopped without writing it)', () => {
    const pinRoot = newPinRoot();
    const before = installAndStop(pinRoot);
    const m = pinned(pinRoot, MAP.summary, summaryCodec);
    m.set(0, { ...m.get(0)!, version: 0 });
    m.map.close();

    const dp = start(pinRoot);
    const first = dp.apply({ rules: rules() });
    expect(first).toMatchObject({ added: 0, updated: 0, removed: 0, entries: { written: 0, deleted: 0 }, plan: 'all' });
    expect(slots(pinRoot)).toEqual(before);
    dp.close({ keepPinned: false });
  });

  it('reads the maps back when the first desired rules are not those of the summary', () => {
    const pinRoot = newPinRoot();
    installAndStop(pinRoot);

    const dp = start(pinRoot);
    const changed = dp.apply({ rules: rules(15001) });
    expect(changed).toMatchObject({ added: 0, updated: N, removed: 0, plan: 'all' });
    expect([...slots(pinRoot).values()].every((v) => v.tproxy_port_be === 15001)).toBe(true);
    dp.close({ keepPinned: false });
  });

  it('recognises the rules by their intents as given: the same rules spelled otherwise are read back, and nothing is rewritten', () => {
    const pinRoot = newPinRoot();
    const v6 = (destination: string): Intent => ({ ...rules()[1], destination, source: '::/0' });
    const first = start(pinRoot);
    first.apply({ rules: [...rules(), v6('fd00:0:0::5/128')] });
    const before = slots(pinRoot);
    first.close({ keepPinned: true });

    const dp = start(pinRoot);
    const res = dp.apply({ rules: [...rules(), v6('FD00::5/128')] }); // the same rule
    expect(res.plan).not.toBe('summary');
    expect(res.readBackMs).toBeGreaterThan(0);
    expect(res).toMatchObject({ added: 0, removed: 0, entries: { deleted: 0 } });
    expect(slots(pinRoot)).toEqual(before);
  });

  it('refuses a bad first desired state and changes nothing, still trusting the maps', () => {
    const pinRoot = newPinRoot();
    const before = installAndStop(pinRoot);

    const dp = start(pinRoot);
    expect(() => dp.apply({ rules: [...rules(), { ...rules()[0], destination: '10.0.0.5/24' }] })).toThrow(/host bits|10\.0\.0\.5\/24/);
    expect(dp.apply({ rules: rules() }).plan).toBe('summary');
    expect(slots(pinRoot)).toEqual(before);
    dp.close({ keepPinned: false });
  });
});
