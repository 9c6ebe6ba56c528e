import { describe, expect, it } from 'vitest';
import { formatIpBytes, parseIpAddress } from './ip-address.js';

describe('formatIpBytes / parseIpAddress', () => {
  const cases: [string, number[]][] = [
    ['10.0.0.1', [10, 0, 0, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['::', new Array(16).fill(0)],
    ['::1', [...new Array(15).fill(0), 1]],
    ['fd00::1', [0xfd, 0, ...new Array(13).fill(0), 1]],
    ['2001:db8::ff00:42:8329', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]],
    ['2001:db8:0:1:1:1:1:1', [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]],
    ['2001:0:0:1::1', [0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]],
    ['::ffff:a00:1', [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]],
  ];
  it.each(cases)('%s <-> bytes', (text, bytes) => {
    expect(formatIpBytes(Uint8Array.from(bytes))).toBe(text);
    expect([...parseIpAddress(text)]).toEqual(bytes);
  });

  it.each(['2001:DB8::1', '2001:db8:0:0:0:0:0:1', '::ffff:10.0.0.1', 'fe80:0:0:0:0:0:0:0', '1:0:0:2:0:0:0:3'])(
    'IPv6 text %s comes back in the form URL normalisation gives',
    (text) => {
      const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(formatIpBytes(parseIpAddress(text))).toBe(canonical);
    },
  );

  it.each([0, 3, 5, 15, 17])('rejects %i bytes', (length) => {
    expect(formatIpBytes(new Uint8Array(length))).toBeUndefined();
  });

  it.each(['', '10.0.0', '10.0.0.256', 'fe80::1%eth0', 'host.example'])('rejects text %j', (text) => {
    expect(() => parseIpAddress(text)).toThrow(/is not an IP address/);
  });
});
