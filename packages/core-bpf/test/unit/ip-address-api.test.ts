import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  clearHostBits,
  formatIpAddress,
  parseIpAddress,
  parseIpv4Into,
  tryParseIpAddress,
} from '../../src/codec/ip-address.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('tryParseIpAddress', () => {
  // text -> "family bytes"
  const good: Record<string, string> = {
    '192.0.2.1': '4 c0000201',
    '0.0.0.0': '4 00000000',
    '2001:DB8::1': '6 20010db8000000000000000000000001',
    '::ffff:192.0.2.1': '6 00000000000000000000ffffc0000201',
    '::': '6 00000000000000000000000000000000',
  };
  it.each(Object.entries(good))('%s -> %s', (text, expected) => {
    const r = tryParseIpAddress(text);
    if ('reason' in r) throw new Error(`unexpected rejection: ${r.reason}`);
    expect(`${r.family} ${hex(r.bytes)}`).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    [' 10.0.0.1', '" 10" is not a decimal number 0-255'],
    ['1.2.3', 'an IPv4 address has 4 dot-separated numbers'],
    ['1.2.3.4.', 'an IPv4 address has 4 dot-separated numbers'],
    ['1234.1.1', 'an IPv4 address has 4 dot-separated numbers'],
    ['1234.1.1.1', '"1234" is not a decimal number 0-255'],
    ['1..2.3', '"" is not a decimal number 0-255'],
    ['10.0.0.0/8', '"0/8" is not a decimal number 0-255'],
    ['01.2.3.4', '"01" has a leading zero (ambiguous octal)'],
    ['1.2.3.256', '256 is larger than 255'],
    ['fe80::1%eth0', 'zone indexes (%...) are not accepted'],
    ['::ffff:1.2.3.256', 'embedded IPv4 part: 256 is larger than 255'],
    ['1::2::3', '"::" may appear only once'],
    ['12345::', '"12345" is not a group of 1-4 hex digits'],
    ['1:2:3:4::5:6:7:8', 'too many groups around "::"'],
    ['1:2:3:4:5:6:7', 'an IPv6 address has 8 groups here, found 7'],
  ])('rejects %j: %s', (text, reason) => {
    expect(tryParseIpAddress(text)).toEqual({ reason });
  });

  it('reports a non-string instead of throwing', () => {
    expect(tryParseIpAddress(42 as unknown as string)).toEqual({ reason: 'not a string' });
  });
});

describe('parseIpAddress', () => {
  it('returns family and bytes', () => {
    expect(parseIpAddress('10.1.2.3')).toEqual({ family: 4, bytes: Uint8Array.from([10, 1, 2, 3]) });
  });
  it('throws InvalidArgumentError with the reason and what is accepted', () => {
    expect(() => parseIpAddress('10.1.2')).toThrow(InvalidArgumentError);
    expect(() => parseIpAddress('10.1.2')).toThrow(
      'invalid IP address "10.1.2": an IPv4 address has 4 dot-separated numbers; expected an IPv4 address like 192.0.2.1',
    );
  });
});

describe('formatIpAddress', () => {
  const mapped = Buffer.from('00000000000000000000ffffc0000201', 'hex');
  it('writes IPv4 and RFC 5952 IPv6', () => {
    expect(formatIpAddress(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    expect(formatIpAddress(Buffer.from('20010db8000000000001000000000001', 'hex'))).toBe('2001:db8::1:0:0:1');
  });
  it('writes IPv4-mapped addresses dotted by default, in hex groups on request', () => {
    expect(formatIpAddress(mapped)).toBe('::ffff:192.0.2.1');
    expect(formatIpAddress(mapped, { mappedIpv4: 'hex' })).toBe('::ffff:c000:201');
  });
  it('rejects other lengths', () => {
    expect(() => formatIpAddress(new Uint8Array(5))).toThrow(InvalidArgumentError);
    expect(() => formatIpAddress(new Uint8Array(5))).toThrow('an IP address has 4 or 16 bytes, got 5');
  });
});

describe('clearHostBits', () => {
  it.each(['ffffffff/12 fff00000', '01020304/0 00000000', '01020304/32 01020304', '0aff0000/9 0a800000'])('%s', (row) => {
    const [bytes, len, out] = row.split(/[/ ]/);
    const source = Buffer.from(bytes, 'hex');
    expect(hex(clearHostBits(source, Number(len)))).toBe(out);
    expect(hex(source)).toBe(bytes); // a copy
  });
});

describe('parseIpv4Into', () => {
  it('writes at the offset and reports failure', () => {
    const target = new Uint8Array(8);
    expect(parseIpv4Into('10.0.0.7', target, 4)).toBe(true);
    expect(hex(target)).toBe('000000000a000007');
    expect(parseIpv4Into('10.0.0', target, 0)).toBe(false);
  });
});
