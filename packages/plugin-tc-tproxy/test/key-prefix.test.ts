/** Prefix parsing: canonical texts and keys. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prefixContains, tryParsePrefix } from '@bpfsteer/ip';
import { keyPrefixContains, makePrefix, parseKeyPrefix, type Prefix } from '../src/key-prefix.js';

describe('parseKeyPrefix', () => {
  it('accepts exactly what @bpfsteer/ip accepts, with its bytes and canonical text (the IPv4 fast path included)', () => {
    // mostly valid texts (with and without host bits), some malformed
    const octet = fc.oneof(
      { arbitrary: fc.constantFrom('0', '10', '128', '255'), weight: 30 },
      { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 10 },
      { arbitrary: fc.constantFrom('00', '01', '256', '1a', '', '-1'), weight: 1 },
    );
    const length = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 40 }).map(String), weight: 20 },
      { arbitrary: fc.constantFrom('', '024', '08', '00', '-1', '1 ', '3x'), weight: 1 },
    );
    const text = fc
      .tuple(fc.oneof({ arbitrary: fc.array(octet, { minLength: 4, maxLength: 4 }), weight: 20 }, { arbitrary: fc.array(octet, { minLength: 3, maxLength: 5 }), weight: 1 }), fc.option(length, { freq: 10 }))
      .map(([o, l]) => (l === null ? o.join('.') : `${o.join('.')}/${l}`));
    let accepted = 0;
    fc.assert(
      fc.property(text, (t) => {
        const mine = parseKeyPrefix(t);
        const ip = tryParsePrefix(t);
        expect(mine.ok).toBe(ip.ok);
        if (!mine.ok || !ip.ok) return;
        accepted++;
        expect(mine.prefix.text).toBe(ip.value.text);
        expect(mine.prefix.length).toBe(ip.value.length);
        expect([...mine.prefix.bytes.subarray(0, 4)]).toEqual([...ip.value.bytes]);
        expect([...mine.prefix.bytes.subarray(4)]).toEqual(new Array(12).fill(0));
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('gives every accepted prefix its canonical text (an IPv4 "address/length" keeps the caller\'s text)', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('00', '01', '256', '1a', '', ' 1', '+1', '0x1'));
    const length = fc.oneof(fc.integer({ min: 0, max: 33 }).map(String), fc.constantFrom('', '024', '08', '-1', '1 '));
    const text = fc.oneof(
      fc.tuple(fc.array(octet, { minLength: 3, maxLength: 5 }), fc.option(length)).map(([o, l]) => (l === null ? o.join('.') : `${o.join('.')}/${l}`)),
      fc.constantFrom('fd00::/64', 'FD00:0::/64', '::/0', '::ffff:10.0.0.0/120', 'fd00::1'),
    );
    let accepted = 0;
    fc.assert(
      fc.property(text, (t) => {
        const p = parseKeyPrefix(t);
        if (!p.ok) return;
        accepted++;
        const { family, bytes, length: len, text: canonical, key } = p.prefix;
        const rebuilt = makePrefix(family, bytes, len);
        expect(canonical).toBe(rebuilt.text);
        expect(key).toBe(rebuilt.key);
        expect(parseKeyPrefix(canonical)).toEqual(p);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('keyPrefixContains', () => {
  it('agrees with @bpfsteer/ip prefixContains, for parsed (slab) and made prefixes alike', () => {
    const v4 = fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }));
    const v6 = fc.tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }));
    const prefixOf = ([bytes, length]: [number[], number], made: boolean): Prefix => {
      const b = Uint8Array.from(bytes);
      for (let bit = length; bit < b.length * 8; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
      const b16 = new Uint8Array(16);
      b16.set(b);
      const p = makePrefix(b.length === 4 ? 4 : 6, b16, length);
      if (made) return p;
      const parsed = parseKeyPrefix(p.text);
      if (!parsed.ok) throw parsed.error;
      return parsed.prefix;
    };
    // nested pairs share leading bits: take the inner one from the outer one's bytes
    const pair = fc.oneof(v4, v6).chain(([bytes, length]) =>
      fc.tuple(fc.integer({ min: 0, max: bytes.length * 8 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: bytes.length * 8 - 1 })).map(
        ([other, madeA, madeB, flip]) => {
          const inner = [...bytes];
          if (flip < length && flip % 3 === 0) inner[flip >> 3] ^= 0x80 >> (flip & 7);
          return [prefixOf([bytes, length], madeA), prefixOf([inner, other], madeB)] as const;
        },
      ),
    );
    let contained = 0;
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const want = prefixContains(a, b);
        if (want) contained++;
        expect(keyPrefixContains(a, b)).toBe(want);
        expect(keyPrefixContains(b, a)).toBe(prefixContains(b, a));
      }),
      { numRuns: 3000 },
    );
    expect(contained).toBeGreaterThan(100);
    // across families: never
    const p4 = prefixOf([[0, 0, 0, 0], 0], false);
    const p6 = prefixOf([Array(16).fill(0), 0], false);
    expect(keyPrefixContains(p4, p6)).toBe(false);
  });
});
