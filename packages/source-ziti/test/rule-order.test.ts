// The listing order of rules, computed in slices from sort keys, is the order of comparing the
// parsed prefixes (family, address, length), protocol and ports.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { comparePrefixes, tryParsePrefix, type IpPrefix } from '@bpfsteer/ip';
import { protocols, type Rule } from '../src/rule.js';
import { sortRulesInSlices } from '../src/rule-order.js';

const prefix = (text: string): IpPrefix => {
  const p = tryParsePrefix(text, { mask: true });
  if (!p.ok) throw new Error(`bad prefix ${text}`);
  return p.value;
};

/** The order compared field by field (what the list used before it was sliced). */
const compare = (a: Rule, b: Rule): number =>
  comparePrefixes(prefix(a.destination), prefix(b.destination)) ||
  comparePrefixes(prefix(a.source), prefix(b.source)) ||
  (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0) ||
  a.ports.low - b.ports.low ||
  a.ports.high - b.ports.high;

const cidr = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, n]) => prefix(`${a}/${n}`).text),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, n]) => prefix(`${a}/${n}`).text),
);
const rule = fc.record({
  destination: cidr,
  source: fc.oneof(fc.constant('0.0.0.0/0'), cidr),
  protocol: fc.constantFrom(...protocols),
  ports: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([x, y]) => ({ low: Math.min(x, y), high: Math.max(x, y) })),
  action: fc.constant('divert' as const),
  interfaces: fc.constant([] as string[]),
});

test('rules sort in slices into the order of their fields', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(rule, { maxLength: 300 }), async (rules) => {
      const sorted = await sortRulesInSlices(rules as Rule[], new TimeSlicer(0));
      expect(sorted).toEqual([...rules].sort(compare));
    }),
    { numRuns: 60 },
  );
});

test('a large list is merged from sorted runs, pausing as it goes', async () => {
  const rules = Array.from({ length: 5000 }, (_, i): Rule => ({
    destination: `10.${(i * 7919) & 255}.${(i * 31) & 255}.0/24`,
    source: i % 3 ? '0.0.0.0/0' : `192.168.${i & 255}.0/24`,
    protocol: i % 2 ? 'tcp' : 'udp',
    ports: { low: i % 100, high: 100 + (i % 7) },
    action: 'divert',
    interfaces: [],
  }));
  const slicer = new TimeSlicer(0);
  expect(await sortRulesInSlices(rules, slicer)).toEqual([...rules].sort(compare));
  expect(slicer.yields).toBeGreaterThan(10);
});
