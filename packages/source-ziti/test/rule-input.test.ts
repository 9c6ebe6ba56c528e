import { describe, expect, test } from 'vitest';
import { toRule, toSelector, type RuleInput } from '../src/rule-input.js';

const base: RuleInput = { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22, high: 22 }, tproxyPort: 33381 };

describe('toRule', () => {
  test.each<[string, Partial<RuleInput>, object]>([
    ['default source, infers divert', {}, { destination: '10.0.0.16/28', source: '0.0.0.0/0', action: 'divert', tproxyPort: 33381 }],
    ['bare IP is a /32', { destination: '10.1.1.1' }, { destination: '10.1.1.1/32' }],
    ['IPv6 canonical text, default source ::/0', { destination: 'FD00:0::/64' }, { destination: 'fd00::/64', source: '::/0' }],
    ['high defaults to low', { ports: { low: 53 } }, { ports: { low: 53, high: 53 } }],
    ['tproxyPort 0 is a pass-through', { tproxyPort: 0 }, { action: 'pass' }],
    ['no tproxyPort is a pass-through', { tproxyPort: undefined }, { action: 'pass' }],
    ['deny', { tproxyPort: undefined, action: 'deny' }, { action: 'deny' }],
    ['source kept', { source: '192.168.1.0/24' }, { source: '192.168.1.0/24' }],
    ['interfaces sorted and unique', { interfaces: ['lo', 'ens33', 'lo'] }, { interfaces: ['ens33', 'lo'] }],
    ['service kept', { service: 'svc-1' }, { service: 'svc-1' }],
  ])('%s', (_name, patch, expected) => {
    const checked = toRule({ ...base, ...patch });
    expect(checked.ok).toBe(true);
    expect(checked.ok && checked.value).toMatchObject(expected);
  });

  test('a pass rule carries no tproxyPort field', () => {
    const checked = toRule({ ...base, tproxyPort: 0 });
    expect(checked.ok && 'tproxyPort' in checked.value).toBe(false);
  });

  test.each<[string, Partial<RuleInput>, string, string]>([
    ['bad destination', { destination: '10.0.0.300/24' }, 'destination', '"10.0.0.300/24" is not a CIDR: address "10.0.0.300": 300 is larger than 255'],
    ['prefix too long', { destination: '10.0.0.0/40' }, 'destination', 'prefix length 40 is larger than 32 for IPv4'],
    ['bad source', { source: 'x' }, 'source', '"x" is not a CIDR'],
    // host bits are refused, not cleared: a rule names a network
    ['destination host bits', { destination: '10.0.0.17/28' }, 'destination', '"10.0.0.17/28" has host bits set; did you mean 10.0.0.16/28?'],
    ['IPv6 destination host bits', { destination: 'fd00::5/64', source: undefined }, 'destination', '"fd00::5/64" has host bits set; did you mean fd00::/64?'],
    ['source host bits', { source: '192.168.1.77/24' }, 'source', '"192.168.1.77/24" has host bits set; did you mean 192.168.1.0/24?'],
    ['family mismatch', { source: '::/0' }, 'source', 'same family'],
    ['low above high', { ports: { low: 80, high: 79 } }, 'ports', 'low <= high'],
    ['divert without port', { action: 'divert', tproxyPort: 0 }, 'tproxyPort', 'needs tproxyPort'],
    ['pass with a port', { action: 'pass', tproxyPort: 5 }, 'tproxyPort', 'takes no tproxyPort'],
    ['deny with a port', { action: 'deny' }, 'tproxyPort', 'takes no tproxyPort'],
  ])('refuses %s', (_name, patch, path, message) => {
    const checked = toRule({ ...base, ...patch });
    expect(checked.ok).toBe(false);
    const issue = !checked.ok ? checked.issues[0] : undefined;
    expect(issue?.path).toEqual([path]);
    expect(issue?.message).toContain(message);
  });
});

describe('toSelector', () => {
  test('without high matches by low port', () => {
    const checked = toSelector({ destination: '172.16.240.0/24', protocol: 'udp', ports: { low: 5060 } });
    expect(checked.ok && checked.value).toEqual({ destination: '172.16.240.0/24', source: '0.0.0.0/0', protocol: 'udp', ports: { low: 5060 } });
  });
  test('interfaces normalised; empty list dropped', () => {
    const a = toSelector({ destination: '10.0.0.0/8', protocol: 'tcp', ports: { low: 1, high: 2 }, interfaces: ['b', 'a'] });
    expect(a.ok && a.value.interfaces).toEqual(['a', 'b']);
    const b = toSelector({ destination: '10.0.0.0/8', protocol: 'tcp', ports: { low: 1, high: 2 }, interfaces: [] });
    expect(b.ok && 'interfaces' in b.value).toBe(false);
  });
  test('refuses low > high and family mismatch', () => {
    expect(toSelector({ destination: '10.0.0.0/8', protocol: 'tcp', ports: { low: 3, high: 2 } }).ok).toBe(false);
    expect(toSelector({ destination: '10.0.0.0/8', source: 'fd00::/8', protocol: 'tcp', ports: { low: 1 } }).ok).toBe(false);
  });
});
