import { describe, expect, it } from 'vitest';
import { formatEndpoint, tryParseEndpoint } from '../src/index.js';

describe('tryParseEndpoint', () => {
  it('reads IPv4 and bracketed IPv6 endpoints, canonical', () => {
    const v4 = tryParseEndpoint('127.0.0.1:18000');
    expect(v4.ok && [v4.value.address.text, v4.value.port, v4.value.text]).toEqual(['127.0.0.1', 18000, '127.0.0.1:18000']);
    const v6 = tryParseEndpoint('[fd00:0::1]:80', { family: 6 });
    expect(v6.ok && v6.value.text).toBe('[fd00::1]:80');
    expect(formatEndpoint('::1', 18001)).toBe('[::1]:18001');
  });

  it.each([['127.0.0.1'], ['127.0.0.1:0'], ['127.0.0.1:65536'], ['::1:80'], ['[127.0.0.1]:80'], ['host:80'], ['[::1]:080'], [80]])('refuses %j', (text) => {
    const r = tryParseEndpoint(text, { what: 'target' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/^target .* is not an address and port/);
  });

  it('refuses the other family when one is asked', () => {
    const r = tryParseEndpoint('[::1]:18000', { family: 4 });
    expect(!r.ok && r.error.message).toContain('is not an IPv4 address and port; expected "127.0.0.1:18000"');
  });
});
