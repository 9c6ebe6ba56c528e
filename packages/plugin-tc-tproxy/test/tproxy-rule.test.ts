/**
 * tproxy.rule intents: the schema (what the agent and source-ziti validate with), the plugin's own
 * fast field check (must agree with the schema on every input), canonical identities, and the
 * desired state's rule list as a whole.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identityHash } from '../src/rule-identity.js';
import { tproxyRuleIntentSchema } from '@bpfsteer/contract-tproxy';
import { normalizeRule, normalizeRules } from '../src/tproxy-rule.js';

const valid = {
  destination: '10.0.0.0/24',
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 80, high: 80 },
  action: 'divert',
  tproxyPort: 33381,
} as const;

const issues = (v: unknown) => {
  const r = tproxyRuleIntentSchema.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('tproxyRuleIntentSchema', () => {
  it('accepts rules of the spec', () => {
    expect(issues(valid)).toEqual([]);
    expect(issues({ ...valid, destination: 'fd00::/64', source: '::/0', interfaces: ['eth0', 'eth1'], service: 'svc' })).toEqual([]);
    expect(issues({ ...valid, action: 'pass', tproxyPort: undefined, protocol: 'udp', ports: { low: 0, high: 65535 } })).toEqual([]);
    expect(issues({ ...valid, action: 'deny', tproxyPort: undefined, destination: '10.0.0.5' })).toEqual([]);
  });

  it.each([
    [{ ...valid, destination: '10.0.0.5/24' }, /destination: destination "10\.0\.0\.5\/24" has host bits set; did you mean 10\.0\.0\.0\/24\?/],
    [{ ...valid, destination: '10.0.0.0/33' }, /prefix length 33 is larger than 32 for IPv4/],
    [{ ...valid, destination: 'fd00::/129' }, /prefix length 129 is larger than 128 for IPv6/],
    [{ ...valid, destination: '10.0.0.300/32' }, /destination/],
    [{ ...valid, source: '::/0' }, /source: .*IPv6 but destination .* IPv4/],
    [{ ...valid, protocol: 'icmp' }, /protocol must be "tcp" or "udp"/],
    [{ ...valid, ports: { low: 90, high: 80 } }, /ports.high: ports.low must not be greater than ports.high/],
    [{ ...valid, ports: { low: -1, high: 80 } }, /ports.low: a port is an integer 0..65535/],
    [{ ...valid, ports: { low: 1, high: 65536 } }, /ports.high: a port is an integer/],
    [{ ...valid, ports: { low: 1.5, high: 2 } }, /ports.low/],
    [{ ...valid, tproxyPort: undefined }, /tproxyPort: a divert rule needs tproxyPort/],
    [{ ...valid, action: 'pass' }, /tproxyPort is only allowed with action "divert"/],
    [{ ...valid, action: 'drop' }, /action must be/],
    [{ ...valid, interfaces: ['eth0', 'eth0'] }, /listed once/],
    [{ ...valid, interfaces: ['eth 0'] }, /invalid interface name/],
    [{ ...valid, extra: 1 }, /extra/],
  ])('refuses %j', (value, message) => {
    expect(issues(value).join('; ')).toMatch(message);
  });
});

describe('normalizeRule', () => {
  it('canonicalises the identity and keeps the intent as applied', () => {
    const r = normalizeRule({ kind: 'tproxy.rule', ...valid, destination: 'FD00:0:0::/64', source: '::/0' });
    expect(r.identity).toBe('fd00::/64 ::/0 tcp 80-80');
    expect(r.intent).toMatchObject({ kind: 'tproxy.rule', destination: 'FD00:0:0::/64' });
    expect(r.destination).toMatchObject({ family: 6, length: 64, text: 'fd00::/64' });
    expect(normalizeRule({ kind: 'tproxy.rule', ...valid, destination: '10.0.0.5' }).identity).toBe('10.0.0.5/32 0.0.0.0/0 tcp 80-80');
  });

  it('says what is wrong, with the schema\'s words', () => {
    expect(() => normalizeRule({ kind: 'tproxy.rule', ...valid, ports: { low: 9, high: 8 } }, 'tproxy.rule #3')).toThrow(
      /^tproxy.rule #3: ports.high: ports.low must not be greater than ports.high$/,
    );
    expect(() => normalizeRule({ kind: 'tproxy.rule', ...valid, protocol: 'sctp' })).toThrow(
      expect.objectContaining({ code: 'ERR_INTENT_REJECTED', message: expect.stringMatching(/protocol/) }),
    );
  });

  it('agrees with the schema on random and malformed intents', () => {
    const field = fc.oneof(
      fc.constantFrom('10.0.0.0/24', '10.0.0.1/24', 'fd00::/64', '::/0', '0.0.0.0/0', '10.0.0.0/33', '1.2.3.4', 'x', '', 'fd00::1/128'),
      fc.string(),
      fc.integer(),
      fc.constant(undefined),
      fc.constant(null),
    );
    const intent = fc.record(
      {
        destination: field,
        source: field,
        protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'icmp'), field),
        ports: fc.oneof(
          fc.record({ low: fc.oneof(fc.integer({ min: -2, max: 65537 }), fc.double(), field), high: fc.oneof(fc.integer({ min: -2, max: 65537 }), field) }),
          fc.record({ low: fc.integer({ min: 0, max: 10 }), high: fc.integer({ min: 0, max: 10 }), extra: fc.integer() }),
          field,
        ),
        action: fc.oneof(fc.constantFrom('divert', 'pass', 'deny'), field),
        tproxyPort: fc.oneof(fc.integer({ min: -1, max: 65536 }), fc.constant(undefined), field),
        interfaces: fc.oneof(fc.array(fc.constantFrom('eth0', 'eth1', 'e 0', '', 'x'.repeat(16)), { maxLength: 3 }), field),
        service: fc.oneof(fc.string(), fc.string({ minLength: 257, maxLength: 260 }), field),
      },
      { requiredKeys: ['destination', 'source', 'protocol', 'ports', 'action'] },
    );
    // mostly-valid intents with one field replaced, so that both outcomes are frequent
    const nearValid = fc
      .tuple(fc.constantFrom(...Object.keys(valid), 'interfaces', 'service', 'other'), intent)
      .map(([key, random]) => ({ ...valid, [key]: (random as Record<string, unknown>)[key] ?? (key === 'other' ? 1 : undefined) }));
    const withExtra = fc.oneof({ weight: 4, arbitrary: intent }, { weight: 4, arbitrary: nearValid }, { weight: 1, arbitrary: intent.map((v) => ({ ...v, other: 1 })) });
    let accepted = 0;
    fc.assert(
      fc.property(withExtra, (v) => {
        const schemaOk = tproxyRuleIntentSchema.safeParse(v).success;
        let ok = true;
        try {
          normalizeRule({ kind: 'tproxy.rule', ...(v as object) } as Intent);
        } catch (err) {
          expect((err as { code?: string }).code).toBe('ERR_INTENT_REJECTED');
          ok = false;
        }
        expect(ok).toBe(schemaOk);
        if (ok) accepted++;
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(100);
  }, 120_000);
});

describe('normalizeRules', () => {
  const intent = (fields: Record<string, unknown> = {}): Intent => ({ kind: 'tproxy.rule', ...valid, ...fields });
  it('takes a rule listed twice once, and refuses one identity with two settings', () => {
    expect(normalizeRules([intent(), intent({ destination: '10.0.0.0/24' }), intent({ ports: { low: 80, high: 81 } })])).toHaveLength(2);
    expect(() => normalizeRules([intent(), intent({ tproxyPort: 1 })])).toThrow(/listed twice with different settings \(divert to port 33381 and divert to port 1\)/);
    expect(() => normalizeRules([intent(), intent({ bad: true })])).toThrow(/^tproxy.rule #1: /);
  });
});

describe('identityHash', () => {
  it('is stable and spreads 100,000 identities without a collision', () => {
    expect(identityHash('10.0.0.0/24 0.0.0.0/0 tcp 80-80')).toBe(identityHash('10.0.0.0/24 0.0.0.0/0 tcp 80-80'));
    expect(identityHash('10.0.0.0/24 0.0.0.0/0 tcp 80-80')).toBe(0x0n + identityHash(`10.0.0.0/24 0.0.0.0/0 tcp ${80}-${80}`));
    const seen = new Set<bigint>();
    for (let i = 0; i < 100_000; i++) seen.add(identityHash(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32 0.0.0.0/0 tcp ${i % 1000}-${i % 1000}`));
    expect(seen.size).toBe(100_000);
    expect([...seen].every((h) => h >= 0n && h < 1n << 64n)).toBe(true);
  });
});
