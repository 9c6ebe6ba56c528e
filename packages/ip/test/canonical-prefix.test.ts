import { describe, expect, it } from 'vitest';
import { canonicalPrefix, tryParsePrefix } from '../src/index.js';

/** canonicalPrefix's fast path answers exactly what tryParsePrefix answers. */
const reduced = (r: ReturnType<typeof canonicalPrefix>) =>
  r.ok ? { ok: true, family: r.value.family, text: r.value.text } : { ok: false, code: r.error.code, message: r.error.message };

describe('canonicalPrefix gives what tryParsePrefix gives', () => {
  it.each([
    '10.0.0.0/24', '10.1.2.3/24', '10.1.2.3', '0.0.0.0/0', '192.168.1.255/0', '255.255.255.255/31', '255.255.255.255', '255.255.255.255/32',
    '172.31.255.255/12', '10.0.0.1/08', '10.0.0.1/008', '10.0.0.1/1', '128.0.0.1/1', '128.0.0.0/1', '0.0.0.1/31', '0.0.0.0/32', 'fd00::1/64',
    'fd00::/64', '::ffff:10.1.2.3/120', '10.0.0.0/33', '10.0.0.256/24', '10.0.0/24', '010.0.0.1', '10.0.0.1/', '10.0.0.1/-1', '10.0.0.1/08x',
    '10.0.0.1/24/1', ' 10.0.0.1', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.', '', '1.2.3.4/0032', `1.2.3.4/${'1'.repeat(70)}`,
  ])('%j', (text) => {
    expect(reduced(canonicalPrefix(text))).toEqual(reduced(tryParsePrefix(text)));
    expect(reduced(canonicalPrefix(text, { mask: true }))).toEqual(reduced(tryParsePrefix(text, { mask: true })));
  });

  it('a non-string', () => {
    expect(reduced(canonicalPrefix(42))).toEqual(reduced(tryParsePrefix(42)));
  });

  it('random IPv4 prefixes', () => {
    for (let i = 0; i < 5000; i++) {
      const octets = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256));
      const length = Math.floor(Math.random() * 34);
      // mostly networks, some with host bits
      const text = `${octets.join('.')}/${length}`;
      const masked = tryParsePrefix(text, { mask: true });
      const network = masked.ok && i % 4 !== 0 ? masked.value.text : text;
      expect(reduced(canonicalPrefix(network))).toEqual(reduced(tryParsePrefix(network)));
    }
  });
});
