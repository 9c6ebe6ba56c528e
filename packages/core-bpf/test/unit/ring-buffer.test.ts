// RingBuffer's delivery logic without a kernel: the native ring (libbpf) and the fd watch (libuv)
// are replaced by fakes, so ordering, re-entrancy, close-while-consuming and error routing are
// checked exactly. The real thing is tested in ring-buffer.kernel.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BpfMap } from '../../src/bpf-map.js';
import { ClosedError, InvalidArgumentError, SyscallError } from '../../src/errors.js';

interface FakeRing {
  mapFd: number;
  pending: Buffer[];
  onRecord: (record: Buffer) => boolean;
  freed: boolean;
  consuming: boolean;
  log: string[];
}
interface FakeWatch {
  fd: number;
  onReadable: () => void;
  onError: (err: SyscallError) => void;
  keepAlive: boolean[];
  closed: boolean;
}

const rings: FakeRing[] = [];
const watches: FakeWatch[] = [];
const log: string[] = [];

vi.mock('../../src/native-ring.js', () => ({
  openNativeRing(mapFd: number, _name: string, onRecord: (record: Buffer) => boolean) {
    const ring: FakeRing = { mapFd, pending: [], onRecord, freed: false, consuming: false, log };
    rings.push(ring);
    return {
      epollFd: 100 + rings.length,
      consume(): boolean {
        if (ring.freed) throw new Error('consume on a freed ring');
        log.push('consume');
        ring.consuming = true;
        try {
          while (ring.pending.length > 0) {
            if (!ring.onRecord(ring.pending.shift()!)) return false;
          }
          return true;
        } finally {
          ring.consuming = false;
          log.push('consumed');
        }
      },
      free(): void {
        if (ring.consuming) throw new Error('free while consuming');
        if (ring.freed) throw new Error('double free');
        ring.freed = true;
        log.push('free');
      },
    };
  },
}));

vi.mock('../../src/ffi/fd-poll.js', () => ({
  watchReadable(fd: number, onReadable: () => void, onError: (err: SyscallError) => void) {
    const w: FakeWatch = { fd, onReadable, onError, keepAlive: [], closed: false };
    watches.push(w);
    return {
      keepAlive: (on: boolean) => w.keepAlive.push(on),
      close: () => {
        w.closed = true;
        log.push('unwatch');
      },
    };
  },
}));

const { RingBuffer } = await import('../../src/ring-buffer.js');

function fakeMap(type = 'ringbuf', fd = 7): BpfMap {
  const map = Object.create(BpfMap.prototype) as BpfMap;
  Object.defineProperties(map, {
    type: { value: type },
    name: { value: 'events' },
    fd: { value: fd },
  });
  return map;
}

const rec = (n: number) => Buffer.from([n]);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  rings.length = 0;
  watches.length = 0;
  log.length = 0;
});

describe('RingBuffer.open', () => {
  it('opens the native ring on the map fd', () => {
    const ring = RingBuffer.open(fakeMap('ringbuf', 42), () => {});
    expect(rings[0]!.mapFd).toBe(42);
    expect(ring.name).toBe('events');
    expect(ring.closed).toBe(false);
  });

  it.each([
    [() => RingBuffer.open(fakeMap('hash'), () => {}), 'RingBuffer.open: map events is a hash map: expected a ringbuf map (BPF_MAP_TYPE_RINGBUF)'],
    [() => RingBuffer.open(fakeMap('user_ringbuf'), () => {}), /is a user_ringbuf map/],
    [() => RingBuffer.open({ type: 'ringbuf', fd: 3 } as unknown as BpfMap, () => {}), /expected a BpfMap/],
    [() => RingBuffer.open(fakeMap(), undefined as unknown as () => void), 'RingBuffer.open: onRecord must be a function, got undefined'],
    [() => RingBuffer.open(fakeMap(), () => {}, null as unknown as object), /options must be an object/],
    [() => RingBuffer.open(fakeMap(), () => {}, { onError: 1 } as unknown as object), 'RingBuffer.open: onError must be a function, got number'],
    [() => RingBuffer.open(fakeMap(), () => {}, { keepAlive: 'yes' } as unknown as object), /keepAlive must be a boolean/],
    [() => RingBuffer.open(fakeMap(), () => {}, { onError() {}, poll: 1 } as object), 'RingBuffer.open: unknown option poll: accepted are onError, keepAlive'],
  ])('refuses bad input %#', (open, message) => {
    expect(open).toThrow(InvalidArgumentError);
    expect(open).toThrow(message);
    expect(rings).toHaveLength(0);
  });
});

describe('RingBuffer.consume', () => {
  it('delivers in order and counts', () => {
    const got: number[] = [];
    const ring = RingBuffer.open(fakeMap(), (r) => got.push(r[0]!));
    rings[0]!.pending.push(rec(1), rec(2), rec(3));
    expect(ring.consume()).toBe(3);
    expect(ring.consume()).toBe(0);
    expect(got).toEqual([1, 2, 3]);
  });

  it('returns 0 for a consume() from inside a handler', () => {
    const nested: number[] = [];
    const ring = RingBuffer.open(fakeMap(), () => nested.push(ring.consume()));
    rings[0]!.pending.push(rec(1), rec(2));
    expect(ring.consume()).toBe(2);
    expect(nested).toEqual([0, 0]);
  });

  it('close() inside a handler stops after that record and frees after consume returned', () => {
    const got: number[] = [];
    const ring = RingBuffer.open(fakeMap(), (r) => {
      got.push(r[0]!);
      ring.close();
      ring.close();
    });
    rings[0]!.pending.push(rec(1), rec(2));
    expect(ring.consume()).toBe(1);
    expect(got).toEqual([1]);
    expect(log).toEqual(['consume', 'consumed', 'free']);
    expect(rings[0]!.pending).toHaveLength(1);
    expect(() => ring.consume()).toThrow(ClosedError);
  });

  it('routes handler errors to onError, and an error of onError itself to the caller', () => {
    const seen: unknown[] = [];
    const ring = RingBuffer.open(
      fakeMap(),
      (r) => {
        throw new Error(`h${r[0]}`);
      },
      {
        onError: (err) => {
          seen.push((err as Error).message);
          if (seen.length === 2) throw new Error('onError broke');
        },
      },
    );
    rings[0]!.pending.push(rec(1), rec(2), rec(3));
    expect(() => ring.consume()).toThrow('onError broke');
    expect(seen).toEqual(['h1', 'h2', 'h3']);
    expect(rings[0]!.pending).toHaveLength(0);
  });

  it('without onError throws the first handler error after the whole batch', () => {
    const got: number[] = [];
    const ring = RingBuffer.open(fakeMap(), (r) => {
      got.push(r[0]!);
      throw new Error(`h${r[0]}`);
    });
    rings[0]!.pending.push(rec(1), rec(2));
    expect(() => ring.consume()).toThrow('h1');
    expect(got).toEqual([1, 2]);
    expect(ring.consume()).toBe(0); // the error was thrown once
  });
});

describe('RingBuffer.start', () => {
  it('watches the epoll fd once, unref\'d unless keepAlive, and consumes in one immediate per wake-up', async () => {
    const got: number[] = [];
    const ring = RingBuffer.open(fakeMap(), (r) => got.push(r[0]!));
    ring.start();
    ring.start();
    expect(watches).toHaveLength(1);
    expect(watches[0]!.fd).toBe(101);
    expect(watches[0]!.keepAlive).toEqual([false]);
    rings[0]!.pending.push(rec(1), rec(2));
    watches[0]!.onReadable();
    watches[0]!.onReadable(); // level-triggered: may fire again before the immediate ran
    expect(got).toEqual([]); // not inside the poll callback
    await tick();
    expect(got).toEqual([1, 2]);
    expect(log.filter((l) => l === 'consume')).toHaveLength(1);
    ring.close();
    expect(log.slice(-2)).toEqual(['unwatch', 'free']); // the fd leaves the loop before it is closed

    RingBuffer.open(fakeMap(), () => {}, { keepAlive: true }).start();
    expect(watches[1]!.keepAlive).toEqual([true]);
  });

  it('close() cancels a wake-up that has not been delivered yet', async () => {
    const got: number[] = [];
    const ring = RingBuffer.open(fakeMap(), (r) => got.push(r[0]!));
    ring.start();
    rings[0]!.pending.push(rec(1));
    watches[0]!.onReadable();
    ring.close();
    await tick();
    expect(got).toEqual([]);
    expect(log).toEqual(['unwatch', 'free']);
    expect(() => ring.start()).toThrow(ClosedError);
  });

  it('reports a failed wait to onError; start() can then watch again', async () => {
    const errors: unknown[] = [];
    const ring = RingBuffer.open(fakeMap(), () => {}, { onError: (err) => errors.push(err) });
    ring.start();
    watches[0]!.onError(new SyscallError('uv_poll', 9, 'wait on ring buffer events'));
    expect(watches[0]!.closed).toBe(true);
    await tick();
    expect(errors).toHaveLength(1);
    expect((errors[0] as SyscallError).message).toBe('wait on ring buffer events: uv_poll: EBADF');
    ring.start();
    expect(watches).toHaveLength(2);
    ring.close();
  });

  it('sends handler errors of background delivery to onError', async () => {
    const errors: string[] = [];
    const ring = RingBuffer.open(
      fakeMap(),
      () => {
        throw new Error('boom');
      },
      { onError: (err) => errors.push((err as Error).message) },
    );
    ring.start();
    rings[0]!.pending.push(rec(1), rec(2));
    watches[0]!.onReadable();
    await tick();
    expect(errors).toEqual(['boom', 'boom']);
    ring.close();
  });
});
