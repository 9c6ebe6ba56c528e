import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { displayAddress, meshKey } from '../src/mesh-address.js';

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
    expect(() => meshKey(text, 'member')).toThrow(/^member .* is not an IP address .*expected an IPv4 address like 10.0.0.1 or an IPv6/);
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
