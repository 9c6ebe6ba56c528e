/**
 * The contract with plugin-tc-tproxy (@bpfsteer/contract-tproxy): every intent this source
 * publishes passes the contract's intent schemas (the plugin validates with the same ones), and the
 * describe views in the contract's shape are read (plugin-tc-tproxy's kernel test checks its real
 * output against the same view schemas).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  tproxyInterfaceIntentSchema,
  tproxyRuleIntentSchema,
  type TproxyInterfacesView,
  type TproxyRulesView,
} from '@bpfsteer/contract-tproxy';
import { ruleInputSchema } from '../src/api/schemas.js';
import { readInterfaceDetails, readRuleDetails } from '../src/plugin-views.js';
import { ruleKey } from '../src/rule.js';
import { toRule } from '../src/rule-input.js';
import { interfaceToIntent, ruleToIntent } from '../src/to-intents.js';

const withoutKind = ({ kind: _kind, ...rest }: { kind: string }) => rest;

const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const anyRule = fc.record(
  {
    destination: fc.oneof(
      fc.tuple(octets, fc.nat(32)).map(([a, p]) => `${a}/${p}`),
      fc.tuple(fc.ipV6(), fc.nat(128)).map(([a, p]) => `${a}/${p}`),
      octets,
    ),
    protocol: fc.constantFrom('tcp', 'udp'),
    ports: fc.tuple(fc.nat(65535), fc.nat(65535)).map(([a, b]) => ({ low: Math.min(a, b), high: Math.max(a, b) })),
    tproxyPort: fc.nat(65535),
    deny: fc.boolean(),
    interfaces: fc.array(fc.constantFrom('eth0', 'lo', 'ens33', 'veth-a.1'), { maxLength: 4 }),
    service: fc.string({ minLength: 1, maxLength: 256 }).filter((s) => !/\p{Cc}/u.test(s)),
  },
  { requiredKeys: ['destination', 'protocol', 'ports'] },
).map(({ deny, ...r }) => (deny ? { ...r, tproxyPort: undefined, action: 'deny' as const } : r));

describe('the intents satisfy the contract schemas', () => {
  test('tproxy.rule from any accepted API input', () => {
    let checked = 0;
    fc.assert(
      fc.property(anyRule, (input) => {
        if (!ruleInputSchema.safeParse(input).success) return;
        const rule = toRule(input);
        if (!rule.ok) throw new Error('schema and toRule disagree');
        const result = tproxyRuleIntentSchema.safeParse(withoutKind(ruleToIntent(rule.value)));
        expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
        checked++;
      }),
      { numRuns: 3000 },
    );
    expect(checked).toBeGreaterThan(1000);
  });

  test('tproxy.interface', () => {
    for (const settings of [{}, { echo: true }, { ssh: false, ipv6: true, events: { drops: false } }]) {
      expect(tproxyInterfaceIntentSchema.safeParse(withoutKind(interfaceToIntent('eth0', settings))).success).toBe(true);
    }
  });
});

test('the describe views of the contract are read', async () => {
  const rule = toRule({ destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22, high: 22 }, tproxyPort: 33381 });
  if (!rule.ok) throw new Error('bad fixture');
  const rules: TproxyRulesView = { capacity: 131072, rules: [{ intent: ruleToIntent(rule.value), id: 4, packets: 9, bytes: 900 }] };
  expect((await readRuleDetails(rules))?.byKey.get(ruleKey(rule.value))).toEqual({ id: 4, packets: 9, bytes: 900 });
  const interfaces: TproxyInterfacesView = {
    interfaces: [{ name: 'eth0', ifindex: 2, attachment: 'none', ssh: true, echo: false, ipv6: true, events: { drops: true, diverts: true }, passed: 0, diverted: 0, dropped: 0, eventsLost: 0 }],
  };
  expect(readInterfaceDetails(interfaces)?.get('eth0')?.attachment).toBe('none');
  // another shape is "no details", not a crash
  expect(await readRuleDetails({ rules: [{ id: 1 }] })).toBeUndefined();
  expect(readInterfaceDetails(undefined)).toBeUndefined();
});
