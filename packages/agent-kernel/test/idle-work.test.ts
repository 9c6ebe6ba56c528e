import { describe, expect, it } from 'vitest';
import { IdleWork } from '../src/idle-work.js';
import { TimeSlicer } from '../src/time-slicer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (idle) until `done` says so, at most `ms` (a loaded machine fires timers late). */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await sleep(5);
}

/** Keeps this thread's loop busy for `ms` the way sliced work does (8 ms slices, setImmediate between them). */
async function busyFor(ms: number): Promise<void> {
  const slicer = new TimeSlicer();
  const until = performance.now() + ms;
  while (performance.now() < until) await slicer.pause();
}

describe('IdleWork', () => {
  it('begins once the loop is idle and gives its result', async () => {
    let ran = 0;
    const early = IdleWork.start(async () => ++ran);
    expect(early.begun).toBe(false);
    await until(() => early.begun);
    expect(early.begun).toBe(true);
    expect(await early.take()).toBe(1);
    expect(ran).toBe(1);
  });

  it('does not begin while sliced work keeps the loop busy, and never begins once taken', async () => {
    let ran = false;
    const early = IdleWork.start(async () => {
      ran = true;
    });
    await busyFor(120);
    expect(early.begun).toBe(false);
    expect(await early.take()).toBeUndefined();
    await sleep(30);
    expect(ran).toBe(false);
  });

  it('begins in the idle time after busy work (the wait for a plugin thread)', async () => {
    const early = IdleWork.start(async () => 'journal');
    await busyFor(60);
    expect(early.begun).toBe(false);
    await until(() => early.begun);
    expect(early.begun).toBe(true);
    expect(await early.take()).toBe('journal');
  });

  it('rethrows the error of begun work on take, and drops it when cancelled', async () => {
    const failing = IdleWork.start(async () => {
      throw new Error('disk full');
    });
    await until(() => failing.begun);
    await expect(failing.take()).rejects.toThrow('disk full');
    const dropped = IdleWork.start(async () => {
      throw new Error('unobserved');
    });
    await until(() => dropped.begun);
    dropped.cancel(); // no unhandled rejection
    await sleep(5);
  });
});
