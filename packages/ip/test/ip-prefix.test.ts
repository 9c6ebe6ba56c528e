import { describe, expect, it } from 'vitest';
import {
  anyPrefix,
  bitsEqual,
  comparePrefixes,
  hasHostBits,
  IpError,
  maskBytes,
  networkOf,
  parseIp,
  parseIpv4PrefixInto,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  tryParsePrefix,
} from '../src/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('parsePrefix: canonical text', () => {
  it.each([
    ['10.0.0.0/24', '10.0.0.0/24', 24],
    ['10.1.2.3', '10.1.2.3/32', 32], // a bare address is the host prefix
    ['192.168.1.5/32', '192.168.1.5/32', 32],
    ['0.0.0.0/0', '0.0.0.0/0', 0],
    ['255.255.255.254/31', '255.255.255.254/31', 31],
    ['172.16.0.0/12', '172.16.0.0/12', 12],
    ['10.128.0.0/9', '10.128.0.0/9', 9],
    ['fd00::/64', 'fd00::/64', 64],
    ['FD00:0::/64', 'fd00::/64', 64],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1/128', 128],
    ['::', '::/128', 128],
    ['::/0', '::/0', 0],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128', 128],
    ['2001:0db8:0000:0000:0000:0000:0000:0000/127', '2001:db8::/127', 127],
    ['2001:db8:8000::/33', '2001:db8:8000::/33', 33],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3/128', 128],
    ['::ffff:10.1.2.0/120', '::ffff:10.1.2.0/120', 120],
    ['::ffff:a01:200/120', '::ffff:10.1.2.0/120', 120],
  ])('%s -> %s', (text, canonical, length) => {
    const p = parsePrefix(text);
    expect(p.text).toBe(canonical);
    expect(p.length).toBe(length);
    expect(p.bytes.length).toBe(p.family === 4 ? 4 : 16);
    expect(parsePrefix(canonical)).toEqual(p);
  });

  it.each([
    ['10.0.0.0/33', 'prefix length 33 is larger than 32 for IPv4'],
    ['fd00::/129', 'prefix length 129 is larger than 128 for IPv6'],
    ['10.0.0.0/', 'prefix length "" is not a number 0..32'],
    ['10.0.0.0/x', 'prefix length "x" is not a number 0..32'],
    ['10.0.0.0/-1', 'prefix length "-1" is not a number 0..32'],
    ['10.0.0.0/08x', 'prefix length "08x" is not a number 0..32'],
    ['10.0.0.0/24/1', 'prefix length "24/1" is not a number 0..32'],
    ['10.0.0.0/1 ', 'prefix length "1 " is not a number 0..32'],
    ['10.0.0.0/0032', 'prefix length "0032" is not a number 0..32'],
    ['10.0.0.0/08', 'prefix length "08" has a leading zero'], // iproute2 would read it as octal
    ['fd00::/064', 'prefix length "064" has a leading zero'],
    ['10.0.0.256/24', 'address "10.0.0.256": 256 is larger than 255'],
    ['10.0.0/24', 'address "10.0.0": an IPv4 address has 4 dot-separated numbers'],
    ['010.0.0.1', '"010" has a leading zero (ambiguous octal)'],
    ['bogus/8', 'address "bogus": an IPv4 address has 4 dot-separated numbers'],
    [' 10.0.0.1', '" 10" is not a decimal number 0-255'],
    ['fe80::1%eth0', 'zone indexes (%...) are not accepted'],
    ['fe80::%eth0/64', 'address "fe80::%eth0": zone indexes (%...) are not accepted'],
    ['1::2::3', '"::" may appear only once'],
    ['', 'empty'],
    [`1.2.3.4/${'1'.repeat(70)}`, 'longer than 64 characters'],
  ])('refuses %j: %s', (text, problem) => {
    const parsed = tryParsePrefix(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe('ERR_IP_INVALID_PREFIX');
    expect(parsed.error.message).toContain(`is not a CIDR: ${problem}; expected a CIDR like 192.0.2.0/24 or 2001:db8::/32, or a bare address (taken as /32 or /128)`);
  });

  it('says what the text is', () => {
    expect(() => parsePrefix('10.0.0.0/40', { what: 'source' })).toThrow(/^source "10.0.0.0\/40" is not a CIDR: prefix length 40 is larger than 32 for IPv4; expected a CIDR like/);
    expect(() => parsePrefix(42)).toThrow(/^42 is not a CIDR: not a string/);
  });
});

describe('the host-bit rule', () => {
  it.each([
    ['10.0.0.1/24', '10.0.0.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.0.0.17/28', '10.0.0.16/28'],
    ['192.168.1.255/0', '0.0.0.0/0'],
    ['255.255.255.255/31', '255.255.255.254/31'],
    ['172.31.255.255/12', '172.16.0.0/12'],
    ['128.0.0.1/1', '128.0.0.0/1'],
    ['fd00::1/64', 'fd00::/64'],
    ['2001:db8:ffff::/33', '2001:db8:8000::/33'],
    ['1:2:3:4:5:6:7:8/65', '1:2:3:4::/65'],
    ['::ffff:10.1.2.3/120', '::ffff:10.1.2.0/120'],
  ])('%s is refused (did you mean %s?) unless masking is asked for', (text, network) => {
    const parsed = tryParsePrefix(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toBeInstanceOf(IpError);
    expect(parsed.error.code).toBe('ERR_IP_HOST_BITS');
    expect(parsed.error.message).toBe(`"${text}" has host bits set; did you mean ${network}?`);
    expect(parsePrefix(text, { mask: true }).text).toBe(network);
  });

  it('names what the text is', () => {
    expect(() => parsePrefix('10.0.0.1/24', { what: 'source' })).toThrow('source "10.0.0.1/24" has host bits set; did you mean 10.0.0.0/24?');
  });

  it('networkOf clears the host bits of an address, and checks the length', () => {
    expect(networkOf(parseIp('10.99.3.7'), 24).text).toBe('10.99.3.0/24');
    expect(networkOf(parseIp('fd00::1'), 0).text).toBe('::/0');
    expect(networkOf(parseIp('fd00::1'), 128).text).toBe('fd00::1/128');
    for (const bad of [-1, 33, 1.5, Number.NaN]) {
      expect(() => networkOf(parseIp('10.0.0.1'), bad)).toThrow(/is not an integer 0..32 for IPv4/);
    }
  });
});

describe('relations', () => {
  const p = (text: string) => parsePrefix(text);

  it('prefixContains: prefixes and addresses, never across families', () => {
    expect(prefixContains(p('10.1.0.0/16'), parseIp('10.1.200.3'))).toBe(true);
    expect(prefixContains(p('10.1.0.0/16'), parseIp('10.2.0.1'))).toBe(false);
    expect(prefixContains(p('10.1.0.0/16'), p('10.1.2.0/24'))).toBe(true);
    expect(prefixContains(p('10.1.2.0/24'), p('10.1.0.0/16'))).toBe(false);
    expect(prefixContains(p('0.0.0.0/0'), parseIp('::1'))).toBe(false);
    expect(prefixContains(p('::/0'), parseIp('::ffff:10.0.0.1'))).toBe(true);
    expect(prefixContains(p('fd00::/8'), p('fd00:1::/32'))).toBe(true);
  });

  it('prefixesOverlap', () => {
    expect(prefixesOverlap(p('10.0.0.0/8'), p('10.1.0.0/16'))).toBe(true);
    expect(prefixesOverlap(p('10.1.0.0/16'), p('10.0.0.0/8'))).toBe(true);
    expect(prefixesOverlap(p('10.1.0.0/16'), p('10.2.0.0/16'))).toBe(false);
    expect(prefixesOverlap(p('0.0.0.0/0'), p('::/0'))).toBe(false);
  });

  it('comparePrefixes orders IPv4 first, then by address, then shorter first', () => {
    const list = ['fd00::/8', '10.0.0.0/24', '10.0.0.0/8', '9.0.0.0/8', '::/0'].map(p);
    expect(list.sort(comparePrefixes).map((x) => x.text)).toEqual(['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/24', '::/0', 'fd00::/8']);
  });

  it('anyPrefix', () => {
    expect(anyPrefix(4)).toEqual(p('0.0.0.0/0'));
    expect(anyPrefix(6)).toEqual(p('::/0'));
  });
});

describe('bit operations', () => {
  it.each([
    ['ffffffff', 12, 'fff00000'],
    ['01020304', 0, '00000000'],
    ['01020304', 32, '01020304'],
    ['0aff0000', 9, '0a800000'],
    ['ffffffffffffffffffffffffffffffff', 65, 'ffffffffffffffff8000000000000000'],
  ])('maskBytes(%s, /%i) = %s, a copy', (bytes, length, out) => {
    const source = Buffer.from(bytes, 'hex');
    expect(hex(maskBytes(source, length))).toBe(out);
    expect(hex(source)).toBe(bytes);
  });

  it.each([
    ['0a000000', 8, false],
    ['0a000001', 8, true],
    ['0a800000', 8, true],
    ['0a800000', 9, false],
    ['ffffffff', 32, false],
    ['00000000', 0, false],
    ['00000001', 0, true],
    ['fd000000000000000000000000000001', 127, true],
    ['fd000000000000000000000000000001', 128, false],
  ])('hasHostBits(%s, /%i) = %s', (bytes, length, expected) => {
    expect(hasHostBits(Buffer.from(bytes, 'hex'), length)).toBe(expected);
  });

  it('bitsEqual compares the first bits only', () => {
    const a = Buffer.from('0a0100ff', 'hex');
    const b = Buffer.from('0a0180ff', 'hex');
    expect(bitsEqual(a, b, 16)).toBe(true);
    expect(bitsEqual(a, b, 17)).toBe(false);
    expect(bitsEqual(a, b, 0)).toBe(true);
  });
});

describe('parseIpv4PrefixInto', () => {
  it('takes exactly the IPv4 "address/length" texts tryParsePrefix accepts as they are, writing the same bytes', () => {
    const octets = ['0', '1', '10', '255', '256', '01', '', 'x'];
    const lengths = ['', '0', '8', '24', '31', '32', '33', '08', 'x'];
    const texts = ['10.0.0.0', '10.0.0.1/32', '::/0', '10.0.0.0/24/1', ' 10.0.0.0/8'];
    for (const a of octets) for (const b of octets.slice(0, 4)) for (const len of lengths) texts.push(`${a}.${b}.0.0/${len}`, `${a}.0.${b}/${len}`);
    for (const text of texts) {
      const target = new Uint8Array(8).fill(7);
      const length = parseIpv4PrefixInto(text, target, 2);
      const full = tryParsePrefix(text);
      const taken = full.ok && full.value.family === 4 && full.value.text === text && text.includes('/');
      expect(length >= 0, text).toBe(taken);
      if (taken) {
        expect(length).toBe(full.value.length);
        expect([...target]).toEqual([7, 7, ...full.value.bytes, 7, 7]);
      } else {
        expect([...target], text).toEqual([7, 7, 7, 7, 7, 7, 7, 7]); // untouched
      }
    }
  });
});
