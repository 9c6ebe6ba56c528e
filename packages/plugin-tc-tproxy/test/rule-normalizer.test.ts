/**
 * RuleNormalizer (normalizeRules with a cache by content) against the plain algorithm — each
 * intent normalized on its own, duplicates merged by identity — over random sequences of desired
 * states built from a pool of intents: the same objects, shallow copies sharing their `ports`,
 * deep copies, objects changed in place between calls (ports, fields, an extra key), other forms of
 * one identity (non-canonical CIDRs, another service), conflicting duplicates and invalid intents.
 */
import { IntentRejectedError, type Intent } from '@bpfsteer/agent-kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleNormalizer, normalizeRule, sameRuleContent, type TproxyRule } from '../src/tproxy-rule.js';

/** The reference: every intent normalized afresh, the first rule of each identity kept, conflicts refused. */
function reference(intents: readonly Intent[]): TproxyRule[] | string {
  const byIdentity = new Map<string, TproxyRule>();
  try {
    intents.forEach((intent, index) => {
      const rule = normalizeRule(intent, `tproxy.rule #${index}`);
      const seen = byIdentity.get(rule.identity);
      if (seen === undefined) byIdentity.set(rule.identity, rule);
      else if (!sameRuleContent(seen, rule)) throw new IntentRejectedError(`tproxy.rule #${index}: conflict`);
    });
  } catch (err) {
    return String((err as Error).message).split(':')[0];
  }
  return [...byIdentity.values()];
}

/**
 * A rule as comparable data: its TproxyRule fields (the normalizer's rules also hold their place in
 * its cache), its intent as JSON (the normalizer keeps a copy).
 */
const view = (r: TproxyRule) => ({
  identity: r.identity,
  family: r.family,
  protocol: r.protocol,
  destination: r.destination,
  source: r.source,
  low: r.low,
  high: r.high,
  action: r.action,
  tproxyPort: r.tproxyPort,
  interfaces: r.interfaces,
  intent: JSON.parse(JSON.stringify(r.intent)) as unknown,
});

const TEMPLATES: Array<Record<string, unknown>> = [
  { destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 80 }, action: 'divert', tproxyPort: 4000 },
  { destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 80 }, action: 'divert', tproxyPort: 4000, service: 'svc' },
  { destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 80 }, action: 'divert', tproxyPort: 4001 },
  { destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 90 }, action: 'deny' },
  { destination: '10.0.0.5', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 53, high: 53 }, action: 'pass' },
  { destination: '10.0.0.5/32', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 53, high: 53 }, action: 'pass', service: 'dns' },
  { destination: 'FD00:0:0::/64', source: '::/0', protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 5000 },
  { destination: 'fd00::/64', source: '::/0', protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 5000, interfaces: ['eth0'] },
  { destination: 'fd00::/64', source: '::/0', protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 5000, interfaces: ['eth1', 'eth0'] },
  { destination: 'fd00::/64', source: '::/0', protocol: 'tcp', ports: { low: 443, high: 443 }, action: 'divert', tproxyPort: 5000, interfaces: ['eth0', 'eth1'] },
  { destination: '10.0.0.1/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 80 }, action: 'pass' },
  { destination: '10.1.0.0/16', source: '192.168.0.0/16', protocol: 'tcp', ports: { low: 1, high: 65535 }, action: 'pass', extra: true },
  { destination: '10.1.0.0/16', source: '192.168.0.0/16', protocol: 'tcp', ports: { low: 9, high: 8 }, action: 'pass' },
  { destination: '10.1.0.0/16', source: '192.168.0.0/16', protocol: 'tcp', ports: { low: 1, high: 65535 }, action: 'pass' },
];

type Make = 'same' | 'shallow' | 'deep';
type Change =
  | { kind: 'ports'; at: number; low: number; high: number }
  | { kind: 'field'; at: number; key: 'action' | 'tproxyPort' | 'service' | 'destination' | 'extra'; value: unknown }
  | { kind: 'interfaces'; at: number; list: string[] };

const changeArb: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('ports' as const), at: fc.nat(), low: fc.constantFrom(53, 80, 90, 443, 70000), high: fc.constantFrom(53, 80, 90, 443) }),
  fc.record({
    kind: fc.constant('field' as const),
    at: fc.nat(),
    key: fc.constantFrom('action' as const, 'tproxyPort' as const, 'service' as const, 'destination' as const, 'extra' as const),
    value: fc.constantFrom('pass', 'deny', 'divert', 4000, 1, undefined, 'svc', '10.0.0.0/24', 'fd00::/64', '10.0.0.5/32'),
  }),
  fc.record({ kind: fc.constant('interfaces' as const), at: fc.nat(), list: fc.subarray(['eth0', 'eth1']) }),
);

const callArb = fc.record({
  picks: fc.array(fc.tuple(fc.nat(), fc.constantFrom<Make>('same', 'shallow', 'deep')), { maxLength: 12 }),
  changes: fc.array(changeArb, { maxLength: 2 }),
});

describe('RuleNormalizer', () => {
  it('gives what normalizing every intent afresh gives, call after call', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 1, maxLength: 8 }), (calls) => {
        // the pool: mutable objects, as a careless source could keep and change them
        const pool = TEMPLATES.map((t) => ({ kind: 'tproxy.rule', ...t, ports: { ...(t.ports as object) } }) as Record<string, unknown>);
        const normalizer = new RuleNormalizer();
        for (const call of calls) {
          for (const c of call.changes) {
            const target = pool[c.at % pool.length];
            if (c.kind === 'ports') Object.assign(target.ports as object, { low: c.low, high: c.high });
            else if (c.kind === 'interfaces') target.interfaces = c.list;
            else if (c.value === undefined) delete target[c.key];
            else target[c.key] = c.value;
          }
          const intents = call.picks.map(([i, make]) => {
            const o = pool[i % pool.length];
            if (make === 'same') return o as Intent;
            if (make === 'shallow') return Object.freeze({ ...o }) as Intent;
            return structuredClone(o) as Intent;
          });
          const expected = reference(intents);
          let got: TproxyRule[] | string;
          try {
            got = normalizer.normalize(intents).rules;
          } catch (err) {
            expect(err).toBeInstanceOf(IntentRejectedError);
            got = String((err as Error).message).split(':')[0];
          }
          if (typeof expected === 'string' || typeof got === 'string') expect(got).toEqual(expected);
          else expect(got.map(view)).toEqual(expected.map(view));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('gives the very same rule object for an intent with the same fields, and a new one when they changed', () => {
    const normalizer = new RuleNormalizer();
    const ports = { low: 80, high: 80 };
    const a = { kind: 'tproxy.rule', destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports, action: 'pass' } as Intent;
    const [first] = normalizer.normalize([a]).rules;
    expect(normalizer.normalize([{ ...a }]).rules[0]).toBe(first);
    expect(normalizer.normalize([structuredClone(a)]).rules[0]).toBe(first);
    ports.high = 81; // changed in place: not the cached rule any more
    const [changed] = normalizer.normalize([{ ...a }]).rules;
    expect(changed).not.toBe(first);
    expect([changed.low, changed.high, changed.intent.ports]).toEqual([80, 81, { low: 80, high: 81 }]);
    expect(first.intent.ports).toEqual({ low: 80, high: 80 }); // the rule kept its own copy
    // every field a rule may have is recognised (a cache hit, not a new parse)
    const full = { ...a, action: 'divert', tproxyPort: 1, interfaces: ['eth1', 'eth0'], service: 's', ports: { low: 1, high: 2 } } as Intent;
    const [r] = normalizer.normalize([full]).rules;
    expect(normalizer.normalize([structuredClone(full)]).rules[0]).toBe(r);
  });

  it('derives a value once per rule and version', () => {
    let calls = 0;
    const normalizer = new RuleNormalizer((r) => (calls++, r.identity.length));
    const a = { kind: 'tproxy.rule', destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 1, high: 2 }, action: 'deny' } as Intent;
    expect(normalizer.normalize([a, { ...a }]).derived).toEqual(['10.0.0.0/24 0.0.0.0/0 tcp 1-2'.length]);
    normalizer.normalize([{ ...a }]);
    expect(calls).toBe(1);
    normalizer.normalize([{ ...a }], 'v2');
    expect(calls).toBe(2);
  });
});
