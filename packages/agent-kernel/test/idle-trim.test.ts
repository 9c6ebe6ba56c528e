import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { IdleTrim, TRIM_IDLE_MS, TRIM_MIN_ITEMS, type ExposedGc } from '../src/plugin-worker.js';

/** An event loop that was idle during every wait. */
const utilization = () => ({ now: {} as never, utilization: 0 });

afterEach(() => {
  vi.useRealTimers();
});

describe('IdleTrim: a plugin thread returns its memory once idle after large work', () => {
  test('large work, then idle for TRIM_IDLE_MS: one memory-reducing full collection', () => {
    vi.useFakeTimers();
    const gc = vi.fn<ExposedGc>();
    const onTrim = vi.fn();
    const trim = new IdleTrim({ gc, onTrim, utilization });
    trim.begin();
    trim.count(TRIM_MIN_ITEMS);
    trim.end();
    vi.advanceTimersByTime(TRIM_IDLE_MS - 1);
    expect(gc).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(gc).toHaveBeenCalledExactlyOnceWith({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    expect(onTrim).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(10 * TRIM_IDLE_MS);
    expect(gc).toHaveBeenCalledOnce(); // the count starts again after a trim
  });

  test('work that begins before the wait ends postpones the collection until it ends and the thread is idle again', () => {
    vi.useFakeTimers();
    const gc = vi.fn<ExposedGc>();
    const trim = new IdleTrim({ gc, utilization });
    trim.begin();
    trim.end(TRIM_MIN_ITEMS);
    vi.advanceTimersByTime(TRIM_IDLE_MS / 2);
    trim.begin();
    trim.begin(); // two calls at once
    vi.advanceTimersByTime(3 * TRIM_IDLE_MS);
    trim.end();
    vi.advanceTimersByTime(3 * TRIM_IDLE_MS);
    expect(gc).not.toHaveBeenCalled(); // one call still runs
    trim.end();
    vi.advanceTimersByTime(TRIM_IDLE_MS);
    expect(gc).toHaveBeenCalledOnce();
  });

  test('small work never collects; items add up across calls', () => {
    vi.useFakeTimers();
    const gc = vi.fn<ExposedGc>();
    const trim = new IdleTrim({ gc, utilization });
    for (let i = 0; i < 3; i++) {
      trim.begin();
      trim.end(Math.floor(TRIM_MIN_ITEMS / 4));
      vi.advanceTimersByTime(2 * TRIM_IDLE_MS);
    }
    expect(gc).not.toHaveBeenCalled();
    trim.begin();
    trim.end(TRIM_MIN_ITEMS);
    vi.advanceTimersByTime(TRIM_IDLE_MS);
    expect(gc).toHaveBeenCalledOnce();
  });

  test('without an exposed gc (node run without --expose-gc) and after stop, nothing is scheduled', () => {
    vi.useFakeTimers();
    const none = new IdleTrim({ gc: undefined });
    none.begin();
    none.end(10 * TRIM_MIN_ITEMS);
    expect(vi.getTimerCount()).toBe(0);
    const gc = vi.fn<ExposedGc>();
    const stopped = new IdleTrim({ gc, utilization });
    stopped.begin();
    stopped.end(TRIM_MIN_ITEMS);
    stopped.stop();
    vi.advanceTimersByTime(10 * TRIM_IDLE_MS);
    expect(gc).not.toHaveBeenCalled();
  });

  test("node's exposed gc accepts the options of a memory-reducing collection", () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', "gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })"], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

test('a gc that throws turns trimming off and reports it; the thread goes on', () => {
  vi.useFakeTimers();
  const gc = vi.fn<ExposedGc>(() => {
    throw new TypeError('unknown option');
  });
  const onError = vi.fn();
  const trim = new IdleTrim({ gc, onError, utilization });
  trim.begin();
  trim.end(TRIM_MIN_ITEMS);
  vi.advanceTimersByTime(TRIM_IDLE_MS);
  expect(onError).toHaveBeenCalledWith(expect.any(TypeError));
  trim.begin();
  trim.end(TRIM_MIN_ITEMS);
  expect(vi.getTimerCount()).toBe(0);
  expect(gc).toHaveBeenCalledOnce();
});

test("a plugin's own background work during the wait (a busy event loop) postpones the collection until a wait is idle", () => {
  vi.useFakeTimers();
  const gc = vi.fn<ExposedGc>();
  let busy = 0.5;
  const trim = new IdleTrim({ gc, utilization: () => ({ now: {} as never, utilization: busy }) });
  trim.begin();
  trim.end(TRIM_MIN_ITEMS);
  vi.advanceTimersByTime(3 * TRIM_IDLE_MS);
  expect(gc).not.toHaveBeenCalled();
  busy = 0.01;
  vi.advanceTimersByTime(TRIM_IDLE_MS);
  expect(gc).toHaveBeenCalledOnce();
});
