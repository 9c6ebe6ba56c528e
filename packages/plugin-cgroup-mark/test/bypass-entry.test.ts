import { describe, expect, it } from 'vitest';
import { describeBypassEntry, formatEndpoint, unmapAddress } from '../src/bypass-entry.js';

describe('bypass entries in readable form', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:192.168.1.2', '192.168.1.2'],
    ['fd00::1', 'fd00::1'],
    ['::ffff:0:1', '::ffff:0:1'],
  ])('unmapAddress(%s)', (a, expected) => {
    expect(unmapAddress(a)).toBe(expected);
  });
  it('formats endpoints', () => {
    expect(formatEndpoint('::ffff:10.0.0.1', 80)).toBe('10.0.0.1:80');
    expect(formatEndpoint('fd00::1', 8080)).toBe('[fd00::1]:8080');
  });
  it('computes the age from CLOCK_MONOTONIC nanoseconds', () => {
    const key = { remote_be: '::ffff:10.0.0.9', local_be: '::ffff:10.0.0.2', remote_port_be: 40000, local_port_be: 80 };
    expect(describeBypassEntry({ key, value: { seen_ns: 1_000_000_000n } }, 3_500_000_000n)).toEqual({
      remote: '10.0.0.9:40000',
      local: '10.0.0.2:80',
      ageMs: 2500,
    });
    // an entry written after "now" was read: age 0
    expect(describeBypassEntry({ key, value: { seen_ns: 5n } }, 1n).ageMs).toBe(0);
  });
});
