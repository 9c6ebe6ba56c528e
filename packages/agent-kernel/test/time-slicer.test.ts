import { describe, expect, it } from 'vitest';
import { TimeSlicer } from '../src/time-slicer.js';

describe('TimeSlicer', () => {
  it('lets timers run between slices of a long loop', async () => {
    const slicer = new TimeSlicer(2);
    let fired = false;
    setTimeout(() => (fired = true), 0);
    const limit = performance.now() + 10_000; // only a guard: the timer fires at the first yield
    while (!fired && performance.now() < limit) await slicer.pause();
    expect(fired).toBe(true);
    expect(slicer.yields).toBeGreaterThan(0);
  });

  it('does not yield before its budget is spent', async () => {
    const slicer = new TimeSlicer(10_000);
    for (let i = 0; i < 1000; i++) await slicer.pause();
    expect(slicer.yields).toBe(0);
    expect(slicer.due()).toBe(false);
  });
});
