import { describe, expect, it } from 'vitest';
import { formatIp, formatIpv4, parseIpBytes, formatIpv6, ipFromBytes, IpError, parseIp, parseIpv4Into, tryParseIp, toMappedIpv6, unmapIpv4 } from '../src/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('parseIp: text -> family, network-order bytes, canonical text', () => {
  it.each([
    ['192.0.2.1', 4, 'c0000201', '192.0.2.1'],
    ['0.0.0.0', 4, '00000000', '0.0.0.0'],
    ['255.255.255.255', 4, 'ffffffff', '255.255.255.255'],
    ['::', 6, '00000000000000000000000000000000', '::'],
    ['::1', 6, '00000000000000000000000000000001', '::1'],
    ['fd00::1', 6, 'fd000000000000000000000000000001', 'fd00::1'],
    ['2001:DB8::1', 6, '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:DB8:0:0:1:0:0:1', 6, '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', 6, '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::ff00:42:8329', 6, '20010db8000000000000ff0000428329', '2001:db8::ff00:42:8329'],
    ['1:2:3:4:5:6:7:8', 6, '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ['1::8', 6, '00010000000000000000000000000008', '1::8'],
    ['1::', 6, '00010000000000000000000000000000', '1::'],
    ['fe80::1:2:3:4', 6, 'fe800000000000000001000200030004', 'fe80::1:2:3:4'],
    ['2001:0:1:2:3:4:5:6', 6, '20010000000100020003000400050006', '2001:0:1:2:3:4:5:6'],
    ['1:0:0:2:0:0:0:3', 6, '00010000000000020000000000000003', '1:0:0:2::3'], // the longest zero run
    ['1:0:0:1:0:0:1:1', 6, '00010000000000010000000000010001', '1::1:0:0:1:1'], // the first of equal runs
    ['1:0:1:1:1:1:1:1', 6, '00010000000100010001000100010001', '1:0:1:1:1:1:1:1'], // one zero group stays
    ['fe80:0:0:0:0:0:0:0', 6, 'fe800000000000000000000000000000', 'fe80::'],
    ['::ffff:192.0.2.1', 6, '00000000000000000000ffffc0000201', '::ffff:192.0.2.1'], // IPv4-mapped: mixed notation
    ['::FFFF:c000:201', 6, '00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ['64:ff9b::10.1.2.3', 6, '0064ff9b0000000000000000 0a010203'.replace(' ', ''), '64:ff9b::a01:203'], // not mapped: hex groups
    ['1:2:3:4:5:6:1.2.3.4', 6, '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
  ])('%s -> IPv%i %s %s', (text, family, bytes, canonical) => {
    const ip = parseIp(text);
    expect(ip.family).toBe(family);
    expect(hex(ip.bytes)).toBe(bytes);
    expect(ip.text).toBe(canonical);
    expect(formatIp(ip.bytes)).toBe(canonical);
    expect(parseIp(canonical).text).toBe(canonical); // canonical text is a fixed point
  });

  it.each([
    ['', 'empty'],
    [' 10.0.0.1', '" 10" is not a decimal number 0-255'], // never trimmed
    ['1.2.3', 'an IPv4 address has 4 dot-separated numbers'],
    ['1.2.3.4.', 'an IPv4 address has 4 dot-separated numbers'],
    ['1.2.3.4.5', 'an IPv4 address has 4 dot-separated numbers'],
    ['1234.1.1.1', '"1234" is not a decimal number 0-255'],
    ['1..2.3', '"" is not a decimal number 0-255'],
    ['a.b.c.d', '"a" is not a decimal number 0-255'],
    ['10.0.0.0/8', '"0/8" is not a decimal number 0-255'],
    ['01.2.3.4', '"01" has a leading zero (ambiguous octal)'],
    ['1.2.3.256', '256 is larger than 255'],
    ['host.example', 'an IPv4 address has 4 dot-separated numbers'],
    ['fe80::1%eth0', 'zone indexes (%...) are not accepted'],
    ['::ffff:1.2.3.256', 'embedded IPv4 part: 256 is larger than 255'],
    ['::1.2.3', 'embedded IPv4 part: an IPv4 address has 4 dot-separated numbers'],
    ['1::2::3', '"::" may appear only once'],
    [':::', '"" is not a group of 1-4 hex digits'],
    ['12345::', '"12345" is not a group of 1-4 hex digits'],
    ['g::1', '"g" is not a group of 1-4 hex digits'],
    ['1:2:3:4::5:6:7:8', 'too many groups around "::"'],
    ['1:2:3:4:5:6:7', 'an IPv6 address has 8 groups here, found 7'],
    ['1:2:3:4:5:6:7:8:9', 'an IPv6 address has 8 groups here, found 9'],
    ['1'.repeat(65), 'longer than 64 characters'],
  ])('refuses %j: %s', (text, reason) => {
    const parsed = tryParseIp(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toBeInstanceOf(IpError);
    expect(parsed.error.code).toBe('ERR_IP_INVALID_ADDRESS');
    expect(parsed.error.message).toContain(`is not an IP address: ${reason}; expected an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1`);
  });

  it('names the text and what it is in the message', () => {
    expect(() => parseIp('10.1.2', { what: 'nexthop' })).toThrow(
      'nexthop "10.1.2" is not an IP address: an IPv4 address has 4 dot-separated numbers; expected an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1',
    );
    expect(() => parseIp(42)).toThrow('42 is not an IP address: not a string');
    expect(() => parseIp(undefined, { what: 'nexthop' })).toThrow(/^nexthop undefined is not an IP address: not a string/);
    expect(() => parseIp('1'.repeat(100))).toThrow(`"${'1'.repeat(64)}..." is not an IP address`);
  });
});

describe('bytes -> address', () => {
  it('formatIp writes 4 or 16 bytes and refuses other lengths', () => {
    expect(formatIp(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    expect(formatIp(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
    for (const length of [0, 3, 5, 15, 17]) {
      expect(() => formatIp(new Uint8Array(length))).toThrow(`an IP address has 4 or 16 network-order bytes, got ${length}`);
    }
  });

  it('ipFromBytes copies the bytes', () => {
    const source = Buffer.from('0a000001', 'hex');
    const ip = ipFromBytes(source);
    source[0] = 11;
    expect(ip).toEqual({ family: 4, bytes: Uint8Array.from([10, 0, 0, 1]), text: '10.0.0.1' });
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(IpError);
  });

  it('formatIpv4 / formatIpv6 read at an offset', () => {
    const buf = Buffer.from('ffff0a000007', 'hex');
    expect(formatIpv4(buf, 2)).toBe('10.0.0.7');
    const six = Buffer.concat([Buffer.from('ff', 'hex'), Buffer.from('00000000000000000000ffff0a010203', 'hex')]);
    expect(formatIpv6(six, 1)).toBe('::ffff:10.1.2.3');
  });

  it('parseIpBytes gives the bytes alone', () => {
    expect(hex(parseIpBytes('10.0.0.7')!)).toBe('0a000007');
    expect(hex(parseIpBytes('fd00::7')!)).toBe('fd000000000000000000000000000007');
    expect(parseIpBytes('fd00::7/64')).toBeUndefined();
    expect(parseIpBytes(7 as unknown as string)).toBeUndefined();
  });

  it('parseIpv4Into writes at the offset and leaves the target alone on failure', () => {
    const target = new Uint8Array(8);
    expect(parseIpv4Into('10.0.0.7', target, 4)).toBe(true);
    expect(hex(target)).toBe('000000000a000007');
    expect(parseIpv4Into('10.0.0', target, 0)).toBe(false);
    expect(parseIpv4Into('1.2.3.999', target, 0)).toBe(false);
    expect(hex(target)).toBe('000000000a000007');
  });
});

describe('IPv4-mapped addresses', () => {
  it.each([
    ['10.0.0.1', '::ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1', '10.0.0.1'],
    ['fd00::1', 'fd00::1', 'fd00::1'],
    ['::ffff:0:a00:1', '::ffff:0:a00:1', '::ffff:0:a00:1'], // SIIT, not mapped
    ['::a00:1', '::a00:1', '::a00:1'], // IPv4-compatible (deprecated), not mapped
  ])('%s: mapped %s, unmapped %s', (text, mapped, unmapped) => {
    expect(toMappedIpv6(parseIp(text)).text).toBe(mapped);
    expect(toMappedIpv6(parseIp(text)).family).toBe(6);
    expect(unmapIpv4(parseIp(text)).text).toBe(unmapped);
  });
});
