import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, formatMac, hasHostBits, parseIpv4, parseIpv6, parseMac } from '../../src/codec/ip-address.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

describe('ip addresses', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['255.255.255.255', 'ffffffff'],
    ['0.0.0.0', '00000000'],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['256.0.0.1', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3.x', undefined],
    ['', undefined],
  ])('parseIpv4(%j) = %s', (text, expected) => {
    expect(hex(parseIpv4(text))).toBe(expected);
    if (expected) expect(formatIpv4(Buffer.from(expected, 'hex'))).toBe(text);
  });

  it.each([
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['fd00::1', 'fd000000000000000000000000000001', 'fd00::1'],
    ['2001:DB8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:10.0.0.1', '00000000000000000000ffff0a000001', '::ffff:10.0.0.1'],
    ['::ffff:a00:1', '00000000000000000000ffff0a000001', '::ffff:10.0.0.1'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ['1::8', '00010000000000000000000000000008', '1::8'],
  ])('parseIpv6(%j) and back', (text, bytes, canonical) => {
    expect(hex(parseIpv6(text))).toBe(bytes);
    expect(formatIpv6(Buffer.from(bytes, 'hex'))).toBe(canonical);
  });

  it.each(['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '', ':::', '1:2:3:4:5:6:7::8', '::1.2.3'])(
    'rejects IPv6 %j',
    (text) => expect(parseIpv6(text)).toBeUndefined(),
  );

  it('formats MAC addresses and rejects bad ones', () => {
    expect(hex(parseMac('02:00:0A:0b:0c:ff'))).toBe('02000a0b0cff');
    expect(hex(parseMac('02-00-0a-0b-0c-ff'))).toBe('02000a0b0cff');
    expect(parseMac('02:00-0a:0b:0c:ff')).toBeUndefined();
    expect(parseMac('02:00:0a:0b:0c')).toBeUndefined();
    expect(formatMac(Buffer.from('02000a0b0cff', 'hex'))).toBe('02:00:0a:0b:0c:ff');
  });

  it.each([
    ['0a000000', 8, false],
    ['0a000001', 8, true],
    ['0a800000', 8, true],
    ['0a800000', 9, false],
    ['ffffffff', 32, false],
    ['00000000', 0, false],
  ])('hasHostBits(%s, /%i) = %s', (bytes, len, expected) => {
    expect(hasHostBits(Buffer.from(bytes, 'hex'), len)).toBe(expected);
  });
});
