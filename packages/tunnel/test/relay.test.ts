/**
 * relay(): the bytes in order and counted, the chunks of one turn written as one writev, a slow
 * writer pausing the reader (back-pressure), the reader's end ending the writer (half-close).
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { relay } from '../src/relay.js';

/** A writer that records each write or writev and completes it when `release()` is called (or at once). */
function recorder(options: { held?: boolean; highWaterMark?: number } = {}) {
  const writes: number[] = [];
  const pending: (() => void)[] = [];
  const done = (cb: () => void) => (options.held ? pending.push(cb) : cb());
  const received: Buffer[] = [];
  const w = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _e, cb) {
      writes.push(1);
      received.push(chunk);
      done(cb);
    },
    writev(chunks, cb) {
      writes.push(chunks.length);
      for (const c of chunks) received.push(c.chunk as Buffer);
      done(cb);
    },
  });
  return { w, writes, received: () => Buffer.concat(received), release: () => pending.splice(0).forEach((cb) => cb()) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('relay', () => {
  it('writes the chunks of one turn as one writev, in order, and counts them', async () => {
    const from = new PassThrough();
    const to = recorder();
    let counted = 0;
    relay(from, to.w, (n) => (counted += n));
    const chunks = Array.from({ length: 8 }, (_, i) => Buffer.alloc(1000, i));
    for (const c of chunks) from.write(c);
    await turn();
    await turn();
    expect(to.writes).toEqual([8]);
    expect(to.received()).toEqual(Buffer.concat(chunks));
    expect(counted).toBe(8000);
  });

  it('pauses the reader while the writer is full, resumes it on drain', async () => {
    const from = new PassThrough({ highWaterMark: 1024 });
    const to = recorder({ held: true, highWaterMark: 4096 });
    relay(from, to.w, () => undefined);
    const sent: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      const c = Buffer.alloc(1024, i);
      sent.push(c);
      from.write(c);
    }
    await turn();
    await turn();
    expect(from.isPaused()).toBe(true);
    const before = to.received().length;
    expect(before).toBeLessThan(64 * 1024);
    for (let i = 0; i < 100 && to.received().length < 64 * 1024; i++) {
      to.release();
      await turn();
    }
    expect(to.received()).toEqual(Buffer.concat(sent));
  });

  it("ends the writer when the reader ends (a half-close), after what was corked", async () => {
    const from = new PassThrough();
    const to = recorder();
    relay(from, to.w, () => undefined);
    const finished = new Promise((resolve) => to.w.once('finish', resolve));
    from.end(Buffer.from('last words'));
    await finished;
    expect(to.received().toString()).toBe('last words');
  });

  it('drops nothing into a writer that is gone, and counts what arrived', async () => {
    const from = new PassThrough();
    const to = recorder();
    let counted = 0;
    relay(from, to.w, (n) => (counted += n));
    to.w.destroy();
    from.write(Buffer.alloc(10));
    await turn();
    expect(counted).toBe(10);
    expect(to.received().length).toBe(0);
  });
});
