import { afterEach, describe, expect, it, vi } from 'vitest';
import { NUDGE_MS, startMemoryReducerNudge } from '../src/memory-reducer-nudge.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('startMemoryReducerNudge', () => {
  it('compiles once at once and then every interval, until stopped', () => {
    vi.useFakeTimers();
    const compile = vi.fn();
    const stop = startMemoryReducerNudge(NUDGE_MS, compile);
    expect(compile).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(3 * NUDGE_MS);
    expect(compile).toHaveBeenCalledTimes(4);
    stop();
    vi.advanceTimersByTime(3 * NUDGE_MS);
    expect(compile).toHaveBeenCalledTimes(4);
  });

  it('compiles a real vm.Script by default (no throw, no timer keeping the process alive)', () => {
    const stop = startMemoryReducerNudge();
    stop();
  });
});
