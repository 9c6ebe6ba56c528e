import { describe, expect, it } from 'vitest';
import { formatIp, maskBytes, parseCidr, parseIp, prefixContains } from '../src/ip-address.js';

describe('parseIp', () => {
  it.each([
    ['192.168.1.5', 4, '192.168.1.5'],
    [' 10.0.0.1 ', 4, '10.0.0.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['fd00:1::5', 6, 'fd00:1::5'],
    ['1:0:0:2:0:0:0:3', 6, '1:0:0:2::3'],
    ['1:0:0:2:0:0:3:4', 6, '1::2:0:0:3:4'],
    ['1:2:3:4:5:6:7:8', 6, '1:2:3:4:5:6:7:8'],
    ['1:0:2:3:4:5:6:7', 6, '1:0:2:3:4:5:6:7'],
    ['::ffff:192.0.2.1', 6, '::ffff:c000:201'],
    ['64:ff9b::10.1.2.3', 6, '64:ff9b::a01:203'],
  ])('%s -> IPv%i %s', (text, family, canonical) => {
    const ip = parseIp(text);
    expect(ip.family).toBe(family);
    expect(ip.text).toBe(canonical);
    expect(ip.bytes.length).toBe(family === 4 ? 4 : 16);
  });

  it.each([
    ['', /empty/],
    ['256.1.1.1', /larger than 255/],
    ['1.2.3', /4 dot-separated/],
    ['1.2.3.4.5', /4 dot-separated/],
    ['01.2.3.4', /leading zero/],
    ['a.b.c.d', /not a decimal/],
    ['1::2::3', /only once/],
    ['1:2:3:4:5:6:7', /8 groups/],
    ['1:2:3:4:5:6:7:8:9', /8 groups/],
    ['1:2:3:4::5:6:7:8', /too many groups/],
    ['12345::', /1-4 hex/],
    ['fe80::1%eth0', /zone/],
    ['::ffff:1.2.3.256', /embedded IPv4/],
    ['10.0.0.0/8', /not a decimal/],
  ])('rejects %j', (text, why) => {
    expect(() => parseIp(text)).toThrow(why);
    expect(() => parseIp(text)).toThrow(/expected an IPv4 address/);
  });

  it('rejects non-strings', () => {
    expect(() => parseIp(42)).toThrow(/not a string/);
    expect(() => parseIp(undefined, 'nexthop')).toThrow(/invalid nexthop/);
  });
});

describe('parseCidr', () => {
  it.each([
    ['192.168.1.5/32', '192.168.1.5/32', 32],
    ['192.168.1.5', '192.168.1.5/32', 32],
    ['10.1.2.3/8', '10.0.0.0/8', 8],
    ['10.1.2.3/0', '0.0.0.0/0', 0],
    ['10.255.255.255/9', '10.128.0.0/9', 9],
    ['fd00:1::5', 'fd00:1::5/128', 128],
    ['fd00:1:2:3::5/64', 'fd00:1:2:3::/64', 64],
    ['2001:db8:ffff::/33', '2001:db8:8000::/33', 33],
    ['::/0', '::/0', 0],
  ])('%s -> %s', (text, canonical, length) => {
    const p = parseCidr(text);
    expect(p.text).toBe(canonical);
    expect(p.length).toBe(length);
  });

  it.each([
    ['10.0.0.0/33', /larger than 32/],
    ['fd00::/129', /larger than 128/],
    ['10.0.0.0/', /not a number/],
    ['10.0.0.0/x', /not a number/],
    ['10.0.0.0/-1', /not a number/],
    ['bogus/8', /invalid CIDR "bogus\/8"/],
  ])('rejects %j', (text, why) => {
    expect(() => parseCidr(text)).toThrow(why);
  });

  it('tells what is accepted', () => {
    expect(() => parseCidr('10.0.0.0/40', 'source')).toThrow(/invalid source .*expected a CIDR like/);
  });
});

describe('helpers', () => {
  it('maskBytes clears host bits', () => {
    expect([...maskBytes(new Uint8Array([255, 255, 255, 255]), 12)]).toEqual([255, 240, 0, 0]);
    expect([...maskBytes(new Uint8Array([1, 2, 3, 4]), 0)]).toEqual([0, 0, 0, 0]);
    expect([...maskBytes(new Uint8Array([1, 2, 3, 4]), 32)]).toEqual([1, 2, 3, 4]);
  });
  it('formatIp rejects odd lengths', () => {
    expect(() => formatIp(new Uint8Array(5))).toThrow(/4 or 16 bytes/);
  });
  it('prefixContains', () => {
    const p = parseCidr('10.1.0.0/16');
    expect(prefixContains(p, parseIp('10.1.200.3').bytes)).toBe(true);
    expect(prefixContains(p, parseIp('10.2.0.1').bytes)).toBe(false);
    expect(prefixContains(p, parseIp('::1').bytes)).toBe(false);
  });
});
