import { describe, expect, it } from 'vitest';
import { checkInterfaceName, parseRule, parseRuleSet } from '../src/nexthop-rule.js';

const ok = { source: '192.168.1.5/32', nexthop: '10.111.221.21', interface: 'eth1' };

describe('parseRule', () => {
  it('normalises a rule', () => {
    const r = parseRule({ source: ' 192.168.1.0/24', nexthop: ' 10.1.1.1', interface: 'eth1' });
    expect(r.source.text).toBe('192.168.1.0/24');
    expect(r.nexthop.text).toBe('10.1.1.1');
    expect(r.interface).toBe('eth1');
  });
  it('accepts IPv6', () => {
    expect(parseRule({ source: 'fd00:1::5', nexthop: 'fe80::1', interface: 'eth-rt' }).source.text).toBe('fd00:1::5/128');
  });
  it.each([
    [{ ...ok, nexthop: 'fd00::1' }, /IPv6 but the source is IPv4; both must be the same family/],
    [{ ...ok, source: 'fd00::/64' }, /IPv4 but the source is IPv6/],
    [{ ...ok, source: '192.168.1.0/33' }, /source "192.168.1.0\/33" is not a CIDR: prefix length 33 is larger than 32/],
    [{ ...ok, nexthop: '10.0.0' }, /nexthop "10.0.0" is not an IP address/],
    // host bits are refused, not cleared (the source names a network)
    [{ ...ok, source: '192.168.1.77/24' }, 'source "192.168.1.77/24" has host bits set; did you mean 192.168.1.0/24?'],
    [{ ...ok, source: 'fd00::1/64', nexthop: 'fe80::1' }, 'source "fd00::1/64" has host bits set; did you mean fd00::/64?'],
    [{ ...ok, nexthop: '0.0.0.0' }, /unspecified/],
    [{ ...ok, nexthop: '224.0.0.1' }, /multicast/],
    [{ ...ok, nexthop: '255.255.255.255' }, /broadcast/],
    [{ ...ok, nexthop: '127.0.0.1' }, /loopback/],
    [{ ...ok, source: 'fd00::/8', nexthop: 'ff02::1' }, /multicast/],
    [{ ...ok, source: 'fd00::/8', nexthop: '::1' }, /loopback/],
    [{ ...ok, interface: '' }, /invalid interface name/],
    [{ ...ok, interface: 'a-very-long-interface' }, /1-15 characters/],
    [{ ...ok, interface: 'eth 0' }, /without whitespace/],
    [{ ...ok, interface: 3 }, /invalid interface name 3/],
  ])('rejects %j', (spec, why) => {
    expect(() => parseRule(spec as never)).toThrow(why);
  });
  it('rejects a non-object', () => {
    expect(() => parseRule(null as never)).toThrow(/expected \{ source, nexthop, interface \}/);
  });
});

describe('parseRuleSet', () => {
  it('dedupes identical rules and keys by canonical source', () => {
    const rules = parseRuleSet([ok, { ...ok, source: '192.168.1.5' }], 10);
    expect(rules).toHaveLength(1);
  });
  it('rejects two different rules for one source, naming the rule', () => {
    expect(() => parseRuleSet([ok, { ...ok, nexthop: '10.111.221.22' }], 10)).toThrow(
      /rule #2: source 192.168.1.5\/32 already has nexthop 10.111.221.21 via eth1/,
    );
  });
  it('names the bad rule', () => {
    expect(() => parseRuleSet([ok, { ...ok, source: 'x' }], 10)).toThrow(/rule #2: source "x" is not a CIDR/);
  });
  it('enforces the capacity', () => {
    expect(() => parseRuleSet([ok, { ...ok, source: '10.0.0.0/8' }], 1)).toThrow(/2 redirect rules exceed the capacity of 1/);
  });
  it('checkInterfaceName passes good names', () => {
    expect(checkInterfaceName('veth-0.1@x')).toBe('veth-0.1@x');
  });
});
