import { describe, expect, it } from 'vitest';
import { ipFrame, ipv4Frame, ipv6Frame } from '../src/frames.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

/** Ones' complement sum of 16-bit words; a correct checksum makes the covered data sum to 0xffff. */
function onesSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) for (let i = 0; i < p.length; i += 2) sum += (p[i] << 8) | (p[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const V6_SRC = bytes('fd000000000000000000000000000001');
const V6_DST = bytes('fd000000000000000000000000000002');

describe('ipv4Frame', () => {
  it('defaults to UDP 192.0.2.1:1000 -> 192.0.2.2:2000, TTL 64', () => {
    const f = ipv4Frame();
    expect(f).toBeInstanceOf(Uint8Array);
    expect(f.length).toBe(14 + 20 + 8);
    expect(hex(f.subarray(0, 14))).toBe('000000000000000000000000' + '0800');
    // version/IHL, length 28, id, no fragment, TTL 64, UDP, checksum, addresses
    expect(hex(f.subarray(14, 34))).toBe('4500001c' + '00000000' + '4011' + 'f6cd' + 'c0000201' + 'c0000202');
    expect(hex(f.subarray(34, 40))).toBe('03e8' + '07d0' + '0008');
  });

  it('computes the IPv4 header checksum (RFC 1071 example header, DF cleared)', () => {
    // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 is a well-known header; without DF the
    // checksum is 0xb861 + 0x4000
    const f = ipv4Frame({ src: bytes('c0a80001'), dst: bytes('c0a800c7'), payload: new Uint8Array(0x73 - 28) });
    expect(hex(f.subarray(14, 34))).toBe('4500007300000000' + '4011f861' + 'c0a80001c0a800c7');
  });

  it('fills UDP and TCP checksums over the pseudo header', () => {
    const src = bytes('0a000001');
    const dst = bytes('0a000002');
    for (const proto of ['udp', 'tcp'] as const) {
      const f = ipv4Frame({ src, dst, proto, sport: 40000, dport: 80, payload: bytes('68656c6c6f') });
      const l4 = f.subarray(34);
      const pseudo = Uint8Array.of(...src, ...dst, 0, proto === 'udp' ? 17 : 6, 0, l4.length);
      expect(onesSum([pseudo, l4])).toBe(0xffff);
      expect(onesSum([f.subarray(14, 34)])).toBe(0xffff);
      expect(f[23]).toBe(proto === 'udp' ? 17 : 6);
      expect(u16(f, 34)).toBe(40000);
      expect(u16(f, 36)).toBe(80);
    }
    const tcp = ipv4Frame({ proto: 'tcp', tcpFlags: 0x12 });
    expect(tcp.length).toBe(14 + 20 + 20);
    expect(tcp[34 + 12]).toBe(0x50);
    expect(tcp[34 + 13]).toBe(0x12);
  });

  it('takes a raw protocol number with the payload as the whole L4 part', () => {
    const f = ipv4Frame({ proto: 1, payload: bytes('0800f7ff00000000'), ttl: 3 });
    expect(f.length).toBe(14 + 20 + 8);
    expect(f[22]).toBe(3);
    expect(f[23]).toBe(1);
    expect(hex(f.subarray(34))).toBe('0800f7ff00000000');
  });

  it.each([
    [{ src: new Uint8Array(16) }, /src must be 4 bytes \(an IPv4 address in network order\), got 16 bytes/],
    [{ dst: [10, 0, 0, 1] as unknown as Uint8Array }, /dst must be 4 bytes .* got object/],
    [{ sport: 70000 }, /sport must be an integer 0\.\.65535, got 70000/],
    [{ ttl: -1 }, /ttl must be an integer 0\.\.255/],
    [{ proto: 'icmp' as unknown as 'udp' }, /proto must be 'udp', 'tcp' or an IP protocol number/],
    [{ proto: 256 }, /proto must be an integer 0\.\.255/],
    [{ payload: new Uint8Array(0x10000) }, /payload too large/],
  ])('rejects %j', (options, why) => {
    expect(() => ipv4Frame(options)).toThrow(RangeError);
    expect(() => ipv4Frame(options)).toThrow(why);
  });
});

describe('ipv6Frame', () => {
  it('builds Ethernet + IPv6 + UDP with a valid checksum', () => {
    const f = ipv6Frame({ src: V6_SRC, dst: V6_DST, dport: 53, payload: bytes('00') });
    expect(f.length).toBe(14 + 40 + 8 + 1);
    expect(u16(f, 12)).toBe(0x86dd);
    expect(hex(f.subarray(14, 22))).toBe('60000000' + '0009' + '11' + '40');
    expect(hex(f.subarray(22, 38))).toBe(hex(V6_SRC));
    expect(hex(f.subarray(38, 54))).toBe(hex(V6_DST));
    const l4 = f.subarray(54);
    const pseudo = Uint8Array.of(...V6_SRC, ...V6_DST, 0, 0, 0, l4.length, 0, 0, 0, 17);
    expect(onesSum([pseudo, l4])).toBe(0xffff);
    expect(u16(f, 56)).toBe(53);
  });

  it('defaults to 2001:db8::1 -> 2001:db8::2', () => {
    const f = ipv6Frame();
    expect(hex(f.subarray(22, 54))).toBe('20010db8000000000000000000000001' + '20010db8000000000000000000000002');
  });

  it('rejects IPv4-sized addresses', () => {
    expect(() => ipv6Frame({ src: new Uint8Array(4) })).toThrow(/ipv6Frame: src must be 16 bytes/);
  });
});

describe('ipFrame', () => {
  it('picks the family from the address length', () => {
    expect(u16(ipFrame({ src: bytes('0a000001') }), 12)).toBe(0x0800);
    expect(u16(ipFrame({ dst: V6_DST }), 12)).toBe(0x86dd);
    expect(hex(ipFrame({ src: V6_SRC, dport: 7 }))).toBe(hex(ipv6Frame({ src: V6_SRC, dport: 7 })));
  });

  it('rejects other lengths', () => {
    expect(() => ipFrame({ src: new Uint8Array(5) })).toThrow(/ipFrame: src \(or dst\) must be 4 bytes \(IPv4\) or 16 bytes \(IPv6\), got 5/);
  });
});
