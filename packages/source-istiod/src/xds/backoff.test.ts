import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { initialMs: 500, maxMs: 30_000 };
  it.each([
    // attempt, random, expected
    [0, 0, 250],
    [0, 0.999999, 500],
    [1, 0, 500],
    [1, 0.5, 750],
    [3, 0.999999, 4_000],
    [6, 0.999999, 30_000], // 32,000 capped
    [6, 0, 15_000],
    [100, 0.999999, 30_000], // huge attempt numbers stay capped
    [-1, 0, 250],
  ])('attempt %i with random %f -> %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  it('never exceeds the cap and never drops below half the ceiling', () => {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** attempt);
      const delay = backoffDelay(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });
});
