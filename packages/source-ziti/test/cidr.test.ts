import { describe, expect, test } from 'vitest';
import { compareCidr, formatIp, normaliseCidr, parseCidr, parseIp } from '../src/cidr.js';

describe('parseCidr', () => {
  test.each([
    ['10.0.0.0/24', '10.0.0.0/24'],
    ['10.1.2.3/24', '10.1.2.0/24'],
    ['10.1.2.3', '10.1.2.3/32'],
    ['10.0.0.17/28', '10.0.0.16/28'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.168.1.255/0', '0.0.0.0/0'],
    ['255.255.255.255/31', '255.255.255.254/31'],
    ['172.16.240.0/9', '172.0.0.0/9'],
    ['172.31.255.255/12', '172.16.0.0/12'],
    ['fd00::1/64', 'fd00::/64'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1/128'],
    ['::', '::/128'],
    ['::/0', '::/0'],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001/127', '2001:db8::/127'],
    ['::ffff:10.1.2.3/120', '::ffff:a01:200/120'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3/128'],
    ['1:2:3:4:5:6:7:8/65', '1:2:3:4::/65'],
  ])('%s -> %s', (input, expected) => {
    const parsed = parseCidr(input);
    expect(parsed.ok && parsed.value.text).toBe(expected);
  });

  test.each([
    ['10.0.0.0/33', 'prefix length "33" is out of range; accepted: 0..32 for IPv4'],
    ['fd00::/129', 'accepted: 0..128 for IPv6'],
    ['10.0.0.256/24', 'is not an IPv4 or IPv6 address'],
    ['10.0.0/24', 'is not an IPv4 or IPv6 address'],
    ['010.0.0.1', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.1/', 'out of range'],
    ['10.0.0.1/-1', 'out of range'],
    ['10.0.0.1/08x', 'out of range'],
    ['10.0.0.1/24/1', 'out of range'],
    [' 10.0.0.1', 'is not an IPv4'],
    ['1:2:3:4:5:6:7:8:9', 'is not an IPv4'],
    ['1::2::3', 'is not an IPv4'],
    ['fe80::1%eth0', 'is not an IPv4'],
    ['12345::', 'is not an IPv4'],
    ['', 'is not an IPv4'],
  ])('%s is refused', (input, message) => {
    const parsed = parseCidr(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain(message);
  });

  test('a non-string is refused', () => {
    expect(parseCidr(42).ok).toBe(false);
  });
});

describe('parseIp / formatIp', () => {
  test('round trips', () => {
    for (const text of ['1.2.3.4', '::1', 'fd00::', '2001:db8::1', '1:2:3:4:5:6:7:8', '::ffff:a01:203', '1::', '1:0:1::1']) {
      expect(formatIp(parseIp(text)!)).toBe(text);
    }
  });
  test('RFC 5952: the first of equally long zero runs, a single zero group not compressed', () => {
    expect(formatIp(parseIp('1:0:0:1:0:0:1:1')!)).toBe('1::1:0:0:1:1');
    expect(formatIp(parseIp('1:0:1:1:1:1:1:1')!)).toBe('1:0:1:1:1:1:1:1');
  });
});

test('compareCidr orders IPv4 before IPv6, by address then prefix', () => {
  const list = ['fd00::/8', '10.0.0.0/24', '10.0.0.0/8', '9.0.0.0/8'].map((t) => {
    const parsed = parseCidr(t);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.value;
  });
  expect(list.sort(compareCidr).map((c) => c.text)).toEqual(['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/24', 'fd00::/8']);
});

describe('normaliseCidr gives what parseCidr gives', () => {
  const reduced = (p: ReturnType<typeof normaliseCidr>) => (p.ok ? { ok: true, family: p.value.family, text: p.value.text } : p);
  test.each([
    '10.0.0.0/24', '10.1.2.3/24', '10.1.2.3', '0.0.0.0/0', '192.168.1.255/0', '255.255.255.255/31', '255.255.255.255', '255.255.255.255/32',
    '172.31.255.255/12', '10.0.0.1/08', '10.0.0.1/008', '10.0.0.1/1', '128.0.0.1/1', 'fd00::1/64', '::ffff:10.1.2.3/120',
    '10.0.0.0/33', '10.0.0.256/24', '10.0.0/24', '010.0.0.1', '10.0.0.1/', '10.0.0.1/-1', '10.0.0.1/08x', '10.0.0.1/24/1', ' 10.0.0.1',
    '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '', '1.2.3.4/0032', `1.2.3.4/${'1'.repeat(70)}`,
  ])('%s', (text) => {
    expect(reduced(normaliseCidr(text))).toEqual(reduced(parseCidr(text)));
  });
  test('random IPv4 CIDRs', () => {
    for (let i = 0; i < 2000; i++) {
      const octets = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256));
      const text = `${octets.join('.')}/${Math.floor(Math.random() * 33)}`;
      expect(reduced(normaliseCidr(text))).toEqual(reduced(parseCidr(text)));
    }
  });
});
