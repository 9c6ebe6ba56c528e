import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { MeshKeyCache, displayAddress, isIpv4Key, meshKey } from '../src/mesh-address.js';

describe('meshKey', () => {
  it.each([
    ['10.0.0.1', '::ffff:10.0.0.1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'], // the IPv4-mapped form is the same key
    ['::FFFF:a00:1', '::ffff:10.0.0.1'],
    ['FD00:0:0::01', 'fd00::1'],
    ['2001:db8::10.0.0.1', '2001:db8::a00:1'],
    ['::', '::'],
  ])('%s -> %s', (text, key) => {
    expect(meshKey(text)).toBe(key);
  });
  it.each([['10.0.0.256'], ['10.0.0.1/32'], [''], ['fd00::1%eth0'], [' 10.0.0.1'], ['010.0.0.1']])('rejects %j', (text) => {
    expect(() => meshKey(text, 'member')).toThrow(InvalidArgumentError);
    expect(() => meshKey(text, 'member')).toThrow(/^member .* is not an IP address: .*expected an IPv4 address like 192.0.2.1 or an IPv6/);
  });
});

describe('meshKey of IPv4 text (the fast path) equals the general path', () => {
  it('over many addresses, including every octet boundary', () => {
    const octets = [0, 1, 9, 10, 11, 99, 100, 199, 200, 249, 250, 255];
    for (const a of octets) {
      for (const b of octets) {
        const text = `${a}.${b}.${255 - b}.${a}`;
        // the IPv4-mapped IPv6 text of the same address takes the general path
        expect(meshKey(text)).toBe(meshKey(`::ffff:${text}`));
        expect(meshKey(text)).toBe(`::ffff:${text}`);
      }
    }
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1..3.4', '1.2.3.4 ']) {
      expect(() => meshKey(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('displayAddress', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['fd00::1', 'fd00::1'],
    ['::ffff:0:a00:1', '::ffff:0:a00:1'],
  ])('%s -> %s', (key, text) => {
    expect(displayAddress(key)).toBe(text);
  });
});

describe('isIpv4Key', () => {
  it.each([
    ['::ffff:10.0.0.1', true],
    ['fd00::1', false],
    ['::ffff:0:a00:1', false],
    ['::', false],
  ])('%s -> %s', (key, v4) => {
    expect(isIpv4Key(key)).toBe(v4);
  });
});

describe('MeshKeyCache', () => {
  it('gives meshKey results, evaluates `what` only for a new address, keeps two generations', () => {
    const cache = new MeshKeyCache();
    let asked = 0;
    const what = () => (asked++, 'member');
    expect(cache.key('10.0.0.1', what)).toBe('::ffff:10.0.0.1');
    expect(cache.key('10.0.0.1', what)).toBe('::ffff:10.0.0.1');
    expect(asked).toBe(1);
    cache.rotate();
    expect(cache.key('10.0.0.1', what)).toBe('::ffff:10.0.0.1'); // from the previous generation
    expect(asked).toBe(1);
    cache.rotate();
    cache.rotate();
    expect(cache.size).toBe(0);
    expect(() => cache.key('10.0.0.256', 'member')).toThrow(/^member "10.0.0.256" is not an IP address/);
    expect(cache.size).toBe(0);
  });
});
