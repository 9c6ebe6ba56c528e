/** Prefix parsing: canonical texts and keys. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePrefix, parseKeyPrefix } from '../src/key-prefix.js';

describe('parseKeyPrefix', () => {
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
