// RingBuffer on a real BPF_MAP_TYPE_RINGBUF: the core_ringbuf fixture (bpf/test/core_ringbuf.bpf.c)
// writes one 16-byte record { u64 seq, u32 skb len, u32 magic } per BPF_PROG_TEST_RUN run, so the
// tests know exactly which records must arrive, in which order.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BpfMap } from '../src/bpf-map.js';
import { BpfObject } from '../src/bpf-object.js';
import { ClosedError, InvalidArgumentError } from '../src/errors.js';
import { removePin } from '../src/pin-path.js';
import { RingBuffer } from '../src/ring-buffer.js';
import { FIXTURE_DIR } from './support/load-fixture.js';
import { unique } from './support/lab.js';

const MAGIC = 0x52494e47;

interface Rec {
  seq: number;
  len: number;
}

function decode(record: Uint8Array): Rec {
  expect(record).toBeInstanceOf(Uint8Array);
  expect(record.length).toBe(16);
  const b = Buffer.from(record.buffer, record.byteOffset, record.length);
  expect(b.readUInt32LE(12)).toBe(MAGIC);
  return { seq: Number(b.readBigUInt64LE(0)), len: b.readUInt32LE(8) };
}

let obj: BpfObject;
beforeEach(() => {
  obj = BpfObject.open(`${FIXTURE_DIR}core_ringbuf.bpf.o`);
  obj.load();
});
afterEach(() => obj?.close());

/** Run the fixture program `times` times on a frame of `len` bytes (one record per run). */
function emit(len = 64, times = 1): void {
  obj.program('core_rb_emit').testRun({ data: new Uint8Array(len), repeat: times });
}

function stat(slot: 0 | 1): number {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(slot);
  return Number(obj.map('core_rb_stats').lookup(b)!.readBigUInt64LE(0));
}

const seqs = (recs: Rec[]) => recs.map((r) => r.seq);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const openFds = () => readdirSync('/proc/self/fd').length;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('RingBuffer.consume', () => {
  it('delivers the records available now, in order, and returns how many', () => {
    const got: Rec[] = [];
    using ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r)));
    expect(ring.name).toBe('core_rb_events');
    expect(ring.consume()).toBe(0);
    emit(60);
    emit(61);
    emit(62);
    expect(ring.consume()).toBe(3);
    expect(got).toEqual([{ seq: 0, len: 60 }, { seq: 1, len: 61 }, { seq: 2, len: 62 }]);
    expect(ring.consume()).toBe(0);
  });

  it('delivers 10,000 records of one test run, all of them, in order', () => {
    const got: Rec[] = [];
    using ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r)));
    emit(64, 10_000);
    expect(ring.consume()).toBe(10_000);
    expect(seqs(got)).toEqual(range(0, 10_000));
    expect(stat(1)).toBe(0); // nothing dropped for lack of room
  });

  it('gives each handler call its own copy of the record', () => {
    const got: Uint8Array[] = [];
    using ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(r));
    emit(70, 50);
    ring.consume();
    emit(71, 50); // reuses the ring's memory: the copies must not change
    ring.consume();
    expect(got.map((r) => decode(r))).toEqual([...range(0, 50).map((seq) => ({ seq, len: 70 })), ...range(50, 50).map((seq) => ({ seq, len: 71 }))]);
  });

  it('reports a throwing handler to onError and goes on with the next record', () => {
    const got: number[] = [];
    const errors: unknown[] = [];
    using ring = RingBuffer.open(
      obj.map('core_rb_events'),
      (r) => {
        const { seq } = decode(r);
        got.push(seq);
        if (seq % 2 === 1) throw new Error(`odd ${seq}`);
      },
      { onError: (err) => errors.push(err) },
    );
    emit(64, 6);
    expect(ring.consume()).toBe(6);
    expect(got).toEqual(range(0, 6));
    expect(errors.map((e) => (e as Error).message)).toEqual(['odd 1', 'odd 3', 'odd 5']);
  });

  it('without onError, delivers the whole batch and then throws the first handler error', () => {
    const got: number[] = [];
    using ring = RingBuffer.open(obj.map('core_rb_events'), (r) => {
      const { seq } = decode(r);
      got.push(seq);
      if (seq >= 2) throw new Error(`bad ${seq}`);
    });
    emit(64, 5);
    expect(() => ring.consume()).toThrow('bad 2');
    expect(got).toEqual(range(0, 5));
    expect(ring.consume()).toBe(0); // nothing was left behind
  });

  it('ignores consume() called from inside a handler (the running delivery goes on)', () => {
    const nested: number[] = [];
    const got: number[] = [];
    const ring: RingBuffer = RingBuffer.open(obj.map('core_rb_events'), (r) => {
      got.push(decode(r).seq);
      nested.push(ring.consume());
    });
    try {
      emit(64, 4);
      expect(ring.consume()).toBe(4);
      expect(got).toEqual(range(0, 4));
      expect(nested).toEqual([0, 0, 0, 0]);
    } finally {
      ring.close();
    }
  });

  it('keeps reading after the map handle and its object are closed (the ring is mapped)', () => {
    const got: number[] = [];
    using ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r).seq));
    emit(64, 3);
    obj.close();
    expect(ring.consume()).toBe(3);
    expect(got).toEqual([0, 1, 2]);
  });
});

describe('RingBuffer.start', () => {
  it('delivers records in the background as they arrive, in order', async () => {
    const got: Rec[] = [];
    let wake: (() => void) | undefined;
    const ring = RingBuffer.open(obj.map('core_rb_events'), (r) => {
      got.push(decode(r));
      wake?.();
    });
    try {
      emit(80, 2); // already in the ring when start() is called
      ring.start();
      ring.start(); // idempotent
      const until = async (n: number) => {
        while (got.length < n) await new Promise<void>((resolve) => (wake = resolve));
      };
      await until(2);
      emit(81);
      await until(3);
      emit(82, 3);
      await until(6);
      expect(got).toEqual([
        { seq: 0, len: 80 }, { seq: 1, len: 80 }, { seq: 2, len: 81 }, { seq: 3, len: 82 }, { seq: 4, len: 82 }, { seq: 5, len: 82 },
      ]);
    } finally {
      ring.close();
    }
  });

  it('delivers 10,000 records produced over many event loop turns, all of them, in order', async () => {
    const got: number[] = [];
    const ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r).seq));
    try {
      ring.start();
      for (let i = 0; i < 100; i++) {
        emit(64, 100);
        await tick();
      }
      const deadline = Date.now() + 10_000;
      while (got.length < 10_000 && Date.now() < deadline) await sleep(5);
      expect(got.length).toBe(10_000);
      expect(got).toEqual(range(0, 10_000));
      expect(stat(1)).toBe(0);
    } finally {
      ring.close();
    }
  });

  it('sends handler errors to onError and keeps delivering', async () => {
    const got: number[] = [];
    const errors: string[] = [];
    const ring = RingBuffer.open(
      obj.map('core_rb_events'),
      (r) => {
        const { seq } = decode(r);
        got.push(seq);
        if (seq === 1) throw new Error('handler failed');
      },
      { onError: (err) => errors.push((err as Error).message) },
    );
    try {
      ring.start();
      emit(64, 3);
      while (got.length < 3) await sleep(5);
      emit(64);
      while (got.length < 4) await sleep(5);
      expect(got).toEqual([0, 1, 2, 3]);
      expect(errors).toEqual(['handler failed']);
    } finally {
      ring.close();
    }
  });

  it('runs a handler\'s promise continuations right after the delivery', async () => {
    const ring = RingBuffer.open(obj.map('core_rb_events'), (r) => resolveNext(decode(r).seq));
    let resolveNext: (seq: number) => void = () => {};
    try {
      ring.start();
      const first = new Promise<number>((resolve) => (resolveNext = resolve));
      emit();
      expect(await first).toBe(0);
    } finally {
      ring.close();
    }
  });

  it('stops delivering at close(), which is idempotent; the ring cannot be used afterwards', async () => {
    const got: number[] = [];
    const ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r).seq));
    ring.start();
    emit();
    while (got.length < 1) await sleep(5);
    ring.close();
    ring.close();
    expect(ring.closed).toBe(true);
    emit(64, 5);
    await sleep(100);
    expect(got).toEqual([0]);
    expect(() => ring.consume()).toThrow(ClosedError);
    expect(() => ring.start()).toThrow(/ring buffer core_rb_events is closed/);
    // the records after close() are still in the ring for the next reader
    const later: number[] = [];
    using again = RingBuffer.open(obj.map('core_rb_events'), (r) => later.push(decode(r).seq));
    expect(again.consume()).toBe(5);
    expect(later).toEqual(range(1, 5));
  });

  it('close() right after records arrived delivers none of them and leaves them in the ring', async () => {
    const got: number[] = [];
    const ring = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r).seq));
    ring.start();
    emit(64, 3);
    ring.close(); // before the event loop saw the ring turn readable: nothing may run on a freed ring
    await sleep(50);
    expect(got).toEqual([]);
    using again = RingBuffer.open(obj.map('core_rb_events'), () => {});
    expect(again.consume()).toBe(3);
  });

  it('close() from inside a handler stops after that record and frees the ring once consume returns', () => {
    const got: number[] = [];
    const ring: RingBuffer = RingBuffer.open(obj.map('core_rb_events'), (r) => {
      got.push(decode(r).seq);
      if (got.length === 2) ring.close();
    });
    emit(64, 5);
    expect(ring.consume()).toBe(2);
    expect(ring.closed).toBe(true);
    using again = RingBuffer.open(obj.map('core_rb_events'), (r) => got.push(decode(r).seq));
    expect(again.consume()).toBe(3);
    expect(got).toEqual(range(0, 5));
  });
});

describe('RingBuffer.open', () => {
  it('refuses other map types, closed maps and bad arguments, creating nothing', () => {
    const before = openFds();
    expect(() => RingBuffer.open(obj.map('core_rb_stats'), () => {})).toThrow(InvalidArgumentError);
    expect(() => RingBuffer.open(obj.map('core_rb_stats'), () => {})).toThrow(
      'RingBuffer.open: map core_rb_stats is a array map: expected a ringbuf map (BPF_MAP_TYPE_RINGBUF)',
    );
    expect(() => RingBuffer.open({ fd: 3 } as unknown as BpfMap, () => {})).toThrow(/expected a BpfMap/);
    expect(() => RingBuffer.open(obj.map('core_rb_events'), 'x' as unknown as () => void)).toThrow(/onRecord must be a function/);
    expect(() => RingBuffer.open(obj.map('core_rb_events'), () => {}, { onErr: () => {} } as object)).toThrow(
      'RingBuffer.open: unknown option onErr: accepted are onError, keepAlive',
    );
    expect(() => RingBuffer.open(obj.map('core_rb_events'), () => {}, { keepAlive: 1 as unknown as boolean })).toThrow(/keepAlive must be a boolean/);
    expect(openFds()).toBe(before);
    const events = obj.map('core_rb_events');
    obj.close();
    expect(() => RingBuffer.open(events, () => {})).toThrow(ClosedError);
  });

  it('reads a pinned ringbuf map', () => {
    const pin = `/sys/fs/bpf/${unique('core-rb')}`;
    obj.map('core_rb_events').pin(pin);
    try {
      using map = BpfMap.fromPinned(pin, { type: 'ringbuf' });
      const got: number[] = [];
      using ring = RingBuffer.open(map, (r) => got.push(decode(r).seq));
      emit(64, 2);
      expect(ring.consume()).toBe(2);
      expect(got).toEqual([0, 1]);
    } finally {
      removePin(pin);
    }
  });

  it('leaks no file descriptor over many open / start / close cycles', async () => {
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      const ring = RingBuffer.open(obj.map('core_rb_events'), () => {});
      if (i % 2 === 0) ring.start();
      emit();
      if (i % 3 === 0) ring.consume();
      ring.close();
    }
    await sleep(20);
    expect(openFds()).toBe(before);
  });
});

describe('RingBuffer and the process lifetime', () => {
  function child(mode: string, killAfterMs: number): Promise<{ exited: boolean; stdout: string }> {
    const hooks = new URL('./support/ts-hooks.mjs', import.meta.url).pathname;
    const script = new URL('./support/children/ring-buffer-lifetime.ts', import.meta.url).pathname;
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--no-warnings', '--import', hooks, script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        p.kill('SIGKILL');
      }, killAfterMs);
      p.on('error', reject);
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        if (!killed && code !== 0) reject(new Error(`child ${mode} failed (${code ?? signal}): ${stderr}`));
        else if (killed && !stderr.includes('started')) reject(new Error(`child ${mode} did not start: ${stderr}`));
        else resolve({ exited: !killed, stdout });
      });
    });
  }

  it('a started ring buffer does not keep the process alive by default', async () => {
    const r = await child('idle', 15_000);
    expect(r).toEqual({ exited: true, stdout: '{"mode":"idle","records":0}\n' });
  });

  it('with keepAlive it holds the process until close()', async () => {
    expect(await child('keepalive', 3_000)).toEqual({ exited: false, stdout: '' });
    expect(await child('keepalive-close', 15_000)).toEqual({ exited: true, stdout: '{"mode":"keepalive-close","records":1}\n' });
  });
});
