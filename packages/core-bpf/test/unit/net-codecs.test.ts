import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/codec/codec.js';
import { ipv4, ipv4Cidr, ipv6, ipv6Cidr, mac } from '../../src/codec/net-codecs.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('network codecs', () => {
  it('stores addresses in network order', () => {
    expect(encodeValue(ipv4, '10.1.2.3').toString('hex')).toBe('0a010203');
    expect(encodeValue(ipv6, 'fd00::2').toString('hex')).toBe('fd000000000000000000000000000002');
    expect(encodeValue(mac, '02:00:00:00:00:01').toString('hex')).toBe('020000000001');
    expect(decodeValue(ipv6, encodeValue(ipv6, 'FD00:0::2'))).toBe('fd00::2');
  });

  it('encodes LPM keys with a host-order prefix length', () => {
    expect(encodeValue(ipv4Cidr, '10.0.0.0/8').toString('hex')).toBe('080000000a000000');
    expect(decodeValue(ipv4Cidr, Buffer.from('180000000a010200', 'hex'))).toBe('10.1.2.0/24');
    expect(encodeValue(ipv6Cidr, 'fd00::/8').length).toBe(20);
    expect(decodeValue(ipv6Cidr, encodeValue(ipv6Cidr, '2001:db8::/32'))).toBe('2001:db8::/32');
    expect(decodeValue(ipv4Cidr, encodeValue(ipv4Cidr, '0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it.each([
    [ipv4, '10.0.0'],
    [ipv4, 167772161],
    [ipv6, '10.0.0.1'],
    [mac, '02:00:00:00:00'],
    [ipv4Cidr, '10.0.0.1/8'],
    [ipv4Cidr, '10.0.0.0/33'],
    [ipv4Cidr, '10.0.0.0'],
    [ipv4Cidr, '10.0.0.0/08'],
    [ipv4Cidr, '/8'],
    [ipv6Cidr, 'fd00::1/64'],
    [ipv6Cidr, 'fd00::/129'],
  ] as const)('%s rejects %j', (codec, value) => {
    expect(() => encodeValue(codec, value as string, 'key')).toThrow(InvalidArgumentError);
    expect(() => encodeValue(codec, value as string, 'key')).toThrow(/^key: expected /);
  });

  it('declares C-compatible sizes and alignments', () => {
    expect([ipv4, ipv6, mac, ipv4Cidr, ipv6Cidr].map((c) => [c.size, c.align])).toEqual([
      [4, 4], [16, 4], [6, 1], [8, 4], [20, 4],
    ]);
  });
});
