import { describe, expect, it } from 'vitest';
import { DEFAULT_SKIP_PORTS, isSkipped, skipPortWords } from '../src/skip-ports.js';

describe('skip port bitmap', () => {
  it('sets bit port % 64 of word port / 64', () => {
    const words = skipPortWords([15001, 15006, 15008, 1, 63, 64, 65535]);
    expect(words.get(15001 >> 6)).toBe((1n << BigInt(15001 & 63)) | (1n << BigInt(15006 & 63)) | (1n << BigInt(15008 & 63)));
    expect(words.get(0)).toBe((1n << 1n) | (1n << 63n));
    expect(words.get(1)).toBe(1n);
    expect(words.get(1023)).toBe(1n << 63n);
    expect(words.size).toBe(4);
  });
  it.each([
    [15001, true],
    [15006, true],
    [15008, true],
    [15007, false],
    [80, false],
    [15053, false],
  ])('default set: port %i skipped %s', (port, skipped) => {
    expect(isSkipped(skipPortWords(DEFAULT_SKIP_PORTS), port)).toBe(skipped);
  });
  it.each([[0], [65536], [1.5], [-1]])('rejects port %j', (port) => {
    expect(() => skipPortWords([port])).toThrow(/skip port .*expected an integer 1..65535/);
  });
});
