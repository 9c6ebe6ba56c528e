/** The tproxy.rule and tproxy.interface schemas: what they accept, and what they say about the rest. */
import { describe, expect, it } from 'vitest';
import { tproxyInterfaceIntentSchema, tproxyRuleIntentSchema, tproxyRuleIntentShapeSchema } from '../src/index.js';

const messages = (r: { success: boolean; error?: { issues: { message: string; path: PropertyKey[] }[] } }) =>
  r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

const rule = { destination: '10.0.0.0/24', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 80, high: 80 }, action: 'divert', tproxyPort: 33381 };

describe('tproxy.rule', () => {
  it('accepts rules of both families, with or without kind as each schema says', () => {
    expect(tproxyRuleIntentSchema.parse(rule)).toEqual(rule);
    expect(tproxyRuleIntentSchema.safeParse({ ...rule, destination: 'fd00::/64', source: '::/0', interfaces: ['eth0'], service: 's' }).success).toBe(true);
    expect(tproxyRuleIntentSchema.safeParse({ ...rule, destination: '10.0.0.7', action: 'deny', tproxyPort: undefined }).success).toBe(true);
    expect(tproxyRuleIntentShapeSchema.safeParse({ kind: 'tproxy.rule', ...rule }).success).toBe(true);
    expect(tproxyRuleIntentSchema.safeParse({ kind: 'tproxy.rule', ...rule }).success).toBe(false);
    expect(tproxyRuleIntentShapeSchema.safeParse({ kind: 'tproxy.interface', ...rule }).success).toBe(false);
  });
  it.each([
    [{ ...rule, destination: '10.0.0.5/24' }, /destination: destination "10.0.0.5\/24" has host bits set; did you mean 10.0.0.0\/24\?/],
    [{ ...rule, source: 'any' }, /source: source "any" is not a CIDR/],
    [{ ...rule, source: '::/0' }, /source: source ::\/0 is IPv6 but destination 10.0.0.0\/24 is IPv4; both must be the same family/],
    [{ ...rule, protocol: 'icmp' }, /protocol: protocol must be "tcp" or "udp"/],
    [{ ...rule, ports: { low: 90, high: 80 } }, /ports.high: ports.low must not be greater than ports.high/],
    [{ ...rule, ports: { low: -1, high: 80 } }, /ports.low: a port is an integer 0..65535/],
    [{ ...rule, tproxyPort: undefined }, /tproxyPort: a divert rule needs tproxyPort/],
    [{ ...rule, action: 'pass' }, /tproxyPort: tproxyPort is only allowed with action "divert", not "pass"/],
    [{ ...rule, interfaces: ['eth 0'] }, /interfaces.0: invalid interface name "eth 0": an interface name has no '\/', ':' or whitespace/],
    [{ ...rule, interfaces: ['eth0', 'eth0'] }, /interfaces: each interface may be listed once/],
    [{ ...rule, via: 'x' }, /via/],
  ])('rejects %j', (value, why) => {
    expect(messages(tproxyRuleIntentSchema.safeParse(value)).join('\n')).toMatch(why);
  });
});

describe('tproxy.interface', () => {
  it('accepts settings, each optional', () => {
    expect(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0' }).success).toBe(true);
    expect(tproxyInterfaceIntentSchema.safeParse({ name: 'eth0', ssh: false, echo: true, ipv6: false, events: { drops: false } }).success).toBe(true);
  });
  it.each([
    [{ name: '' }, /name: invalid interface name "": an interface name has 1-15 bytes/],
    [{ name: '..' }, /an interface name is not "." or ".."/],
    [{ name: 'eth0', ssh: 'no' }, /ssh/],
    [{ name: 'eth0', events: { all: true } }, /events/],
  ])('rejects %j', (value, why) => {
    expect(messages(tproxyInterfaceIntentSchema.safeParse(value)).join('\n')).toMatch(why);
  });
});
