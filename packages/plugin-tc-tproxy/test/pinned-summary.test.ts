/**
 * The pinned summary's hashes and checks: a restart may trust the maps only when the summary is
 * valid, was written for the same interfaces and slots, and the first desired rule set is exactly
 * the one it was written for; any difference must make it read the maps back.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';
import { describe, expect, it } from 'vitest';
import { intentsSum, INVALID_SUMMARY, makeSummary, rulesSum, slotsSum, summaryHolds, summaryMatchesIntents } from '../src/pinned-summary.js';
import { identityHash } from '../src/rule-identity.js';
import { SUMMARY_VERSION } from '../src/tproxy-constants.js';
import { ACTION_CODE, normalizeRules, type TproxyRule } from '../src/tproxy-rule.js';

const rule = (i: number, extra: Record<string, unknown> = {}): Intent => ({
  kind: TPROXY_RULE_KIND,
  destination: `10.1.${i >> 8}.${i & 255}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 443, high: 443 },
  action: 'divert',
  tproxyPort: 15000,
  ...extra,
});

const RULES = normalizeRules(Array.from({ length: 50 }, (_, i) => rule(i)));
const IFACES = new Map([['eth0', 4]]);
const COUNTS = { dst: 0, dstHost: 50, src: 0, port: 0 };

/** The tctp_rules slots of `rules` with ids 1.. */
function slotsOf(rules: readonly TproxyRule[]) {
  return rules.map((r, i) => [i + 1, { action: ACTION_CODE[r.action], tproxy_port_be: r.tproxyPort, identity: identityHash(r.identity) }] as const);
}

const summary = makeSummary(rulesSum(RULES), slotsSum(slotsOf(RULES)), IFACES, COUNTS);

describe('rulesSum / slotsSum', () => {
  it('do not depend on the order', () => {
    const reversed = [...RULES].reverse();
    expect(rulesSum(reversed)).toEqual(rulesSum(RULES));
    expect(slotsSum([...slotsOf(RULES)].reverse())).toEqual(slotsSum(slotsOf(RULES)));
  });

  it('change with anything a rule compiles from', () => {
    const base = rulesSum(RULES);
    for (const extra of [{ tproxyPort: 15001 }, { action: 'deny', tproxyPort: undefined }, { interfaces: ['eth0'] }, { ports: { low: 443, high: 444 } }]) {
      const changed = normalizeRules([rule(0, extra), ...Array.from({ length: 49 }, (_, i) => rule(i + 1))]);
      const sum = rulesSum(changed);
      expect([sum.lo, sum.hi], JSON.stringify(extra)).not.toEqual([base.lo, base.hi]);
    }
  });

  it('skip empty slots and change with a slot id, action, port or identity', () => {
    const slots = slotsOf(RULES);
    expect(slotsSum([...slots, [99, { action: 0, tproxy_port_be: 0, identity: 0n }]])).toEqual(slotsSum(slots));
    const base = slotsSum(slots);
    const [id, v] = slots[0];
    for (const changed of [
      [id + 100, v],
      [id, { ...v, action: 3 }],
      [id, { ...v, tproxy_port_be: 1 }],
      [id, { ...v, identity: v.identity ^ 1n }],
    ] as const) {
      const sum = slotsSum([changed, ...slots.slice(1)]);
      expect([sum.lo, sum.hi]).not.toEqual([base.lo, base.hi]);
    }
  });
});

describe('summaryHolds', () => {
  it('holds for the slots and interfaces it was written for', () => {
    expect(summary.version).toBe(SUMMARY_VERSION);
    expect(summaryHolds(summary, slotsSum(slotsOf(RULES)), IFACES)).toBe(true);
  });

  it('does not hold when invalidated, missing, for other interfaces or other slots', () => {
    const slots = slotsSum(slotsOf(RULES));
    expect(summaryHolds(undefined, slots, IFACES)).toBe(false);
    expect(summaryHolds(INVALID_SUMMARY, slots, IFACES)).toBe(false);
    expect(summaryHolds({ ...summary, version: SUMMARY_VERSION + 1 }, slots, IFACES)).toBe(false);
    expect(summaryHolds(summary, slots, new Map([['eth0', 5]]))).toBe(false); // the interface was re-created
    expect(summaryHolds(summary, slots, new Map([...IFACES, ['eth1', 5]]))).toBe(false);
    expect(summaryHolds(summary, slotsSum(slotsOf(RULES.slice(1))), IFACES)).toBe(false);
    const changed = slotsOf(RULES);
    expect(summaryHolds(summary, slotsSum([[changed[3][0], { ...changed[3][1], tproxy_port_be: 1 }], ...changed.slice(1)]), IFACES)).toBe(false);
  });
});

describe('summaryMatchesIntents', () => {
  const INTENTS = Array.from({ length: 50 }, (_, i) => rule(i));

  it('matches the intents the rules in force were accepted from, in any order, as plain objects from elsewhere', () => {
    expect(rulesSum(RULES)).toEqual(intentsSum(INTENTS));
    expect(summaryMatchesIntents(summary, INTENTS, IFACES)).toBe(true);
    expect(summaryMatchesIntents(summary, [...INTENTS].reverse(), IFACES)).toBe(true);
    expect(summaryMatchesIntents(summary, structuredClone(INTENTS), IFACES)).toBe(true);
    expect(summaryMatchesIntents(summary, INTENTS.map((i) => ({ ...i, tproxyPort: i.tproxyPort, interfaces: undefined })), IFACES)).toBe(true);
  });

  it('does not match one intent more, less or changed in any field, other interfaces, or what is not a rule intent', () => {
    const others = INTENTS.slice(1);
    expect(summaryMatchesIntents(summary, others, IFACES)).toBe(false);
    expect(summaryMatchesIntents(summary, Array.from({ length: 51 }, (_, i) => rule(i)), IFACES)).toBe(false);
    for (const extra of [
      { tproxyPort: 1 },
      { action: 'deny', tproxyPort: undefined },
      { protocol: 'udp' },
      { ports: { low: 443, high: 444 } },
      { ports: { low: 442, high: 443 } },
      { source: '0.0.0.0/1' },
      { destination: '10.1.0.0/32 ' },
      { interfaces: ['eth0'] },
      { interfaces: [] },
      { service: 's' },
      { kind: 'tproxy.interface' },
      { extra: 1 },
      { ports: { low: 443, high: 443, step: 1 } },
    ]) {
      expect(summaryMatchesIntents(summary, [rule(0, extra), ...others], IFACES), JSON.stringify(extra)).toBe(false);
    }
    expect(summaryMatchesIntents(summary, [rule(100), ...others], IFACES)).toBe(false);
    expect(summaryMatchesIntents(summary, [null, ...others], IFACES)).toBe(false);
    expect(summaryMatchesIntents(summary, INTENTS, new Map([['eth0', 5]]))).toBe(false);
  });

  it('tells a source from a destination and the interfaces from the service', () => {
    const swapped = (i: number) => rule(i, { destination: '0.0.0.0/0', source: `10.1.0.${i}/32` });
    expect(intentsSum([swapped(1)])).not.toEqual(intentsSum([rule(1, { destination: '0.0.0.0/0' })]));
    const a = intentsSum([rule(1, { interfaces: ['x'] })])!;
    const b = intentsSum([rule(1, { service: '[x]' })])!;
    expect([a.lo, a.hi]).not.toEqual([b.lo, b.hi]);
  });
});
