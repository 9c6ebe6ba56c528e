/**
 * Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) from user space: every record the programs
 * submitted, copied out of the ring, handed to one handler on the main thread, in ring order.
 *
 * - consume() delivers what is in the ring now, synchronously.
 * - start() delivers in the background: the ring's epoll fd is watched by Node's own event loop (a
 *   libuv poll handle, no thread, no timer, no busy polling); when it turns readable the records are
 *   consumed in a setImmediate callback, so handlers run like any I/O callback (their promise
 *   continuations and nextTicks run right after).
 * - Process lifetime: background delivery does not keep the process alive (like an unref'd timer),
 *   unless `keepAlive: true` is given, which makes it hold the process like a listening socket until
 *   close(). After close() nothing of the ring buffer is left in the event loop.
 * - close() frees the ring; when called from inside a handler, the records after the current one are
 *   left in the ring and the ring is freed as soon as the running consume returns.
 */
import { BpfMap } from './bpf-map.js';
import { ClosedError, InvalidArgumentError, type SyscallError } from './errors.js';
import { type ReadableWatch, watchReadable } from './ffi/fd-poll.js';
import { type NativeRing, openNativeRing } from './native-ring.js';

export interface RingBufferOptions {
  /**
   * Gets every error of a record handler (reading goes on with the next record) and of background
   * reading. Without it such an error is thrown once the current batch is delivered: by consume(), or
   * as an uncaught exception in background delivery. An error thrown by onError itself is treated the
   * same way.
   */
  readonly onError?: (err: unknown) => void;
  /**
   * Whether background delivery (start()) keeps the process alive, like a listening socket, until
   * close(). Default false: like an unref'd timer, it never holds the process by itself.
   */
  readonly keepAlive?: boolean;
}

const optionNames = new Set(['onError', 'keepAlive']);

function parseOptions(options: unknown): { onError?: (err: unknown) => void; keepAlive: boolean } {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('RingBuffer.open: options must be an object { onError?, keepAlive? }');
  }
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !optionNames.has(k));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`RingBuffer.open: unknown option ${unknown.join(', ')}: accepted are onError, keepAlive`);
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new InvalidArgumentError(`RingBuffer.open: onError must be a function, got ${typeof o.onError}`);
  }
  if (o.keepAlive !== undefined && typeof o.keepAlive !== 'boolean') {
    throw new InvalidArgumentError(`RingBuffer.open: keepAlive must be a boolean, got ${typeof o.keepAlive}`);
  }
  return { onError: o.onError as ((err: unknown) => void) | undefined, keepAlive: o.keepAlive === true };
}

export class RingBuffer implements Disposable {
  readonly #name: string;
  readonly #onRecord: (record: Uint8Array) => void;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #keepAlive: boolean;
  #native: NativeRing | undefined;
  #watch: ReadableWatch | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #closed = false;
  #consuming = false;
  #delivered = 0;
  /** The first error of the running batch that no onError took. */
  #unhandled: { error: unknown } | undefined;

  private constructor(name: string, onRecord: (record: Uint8Array) => void, onError: ((err: unknown) => void) | undefined, keepAlive: boolean) {
    this.#name = name;
    this.#onRecord = onRecord;
    this.#onError = onError;
    this.#keepAlive = keepAlive;
  }

  /**
   * Wrap a ringbuf map (from BpfObject.map(name), BpfMap.fromPinned or fromId). Throws
   * InvalidArgumentError for another map type, ClosedError for a closed map. The ring buffer maps the
   * ring itself, so it keeps working after the map handle (or its object) is closed; close it too.
   */
  static open(map: BpfMap, onRecord: (record: Uint8Array) => void, options: RingBufferOptions = {}): RingBuffer {
    if (!(map instanceof BpfMap)) {
      throw new InvalidArgumentError('RingBuffer.open: expected a BpfMap (BpfObject.map(name), BpfMap.fromPinned or BpfMap.fromId)');
    }
    if (typeof onRecord !== 'function') {
      throw new InvalidArgumentError(`RingBuffer.open: onRecord must be a function, got ${typeof onRecord}`);
    }
    const { onError, keepAlive } = parseOptions(options);
    if (map.type !== 'ringbuf') {
      throw new InvalidArgumentError(`RingBuffer.open: map ${map.name} is a ${map.type} map: expected a ringbuf map (BPF_MAP_TYPE_RINGBUF)`);
    }
    const fd = map.fd; // ClosedError for a closed map
    const ring = new RingBuffer(map.name, onRecord, onError, keepAlive);
    ring.#native = openNativeRing(fd, map.name, (record) => ring.#deliver(record));
    return ring;
  }

  /** The map's name. */
  get name(): string {
    return this.#name;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Deliver every record available now, synchronously, and return how many were delivered (records
   * whose handler threw included). Called from inside a handler it returns 0: the running delivery
   * already goes on to the end of the ring.
   */
  consume(): number {
    if (this.#closed) throw new ClosedError(`ring buffer ${this.#name}`);
    const n = this.#drain();
    this.#throwUnhandled();
    return n;
  }

  /** Start delivering records in the background as they arrive, until close(). Idempotent. */
  start(): void {
    if (this.#closed) throw new ClosedError(`ring buffer ${this.#name}`);
    if (this.#watch) return;
    this.#watch = watchReadable(
      this.#native!.epollFd,
      () => this.#onReadable(),
      (err) => this.#onWatchError(err),
      `wait on ring buffer ${this.#name}`,
    );
    this.#watch.keepAlive(this.#keepAlive);
  }

  /** Stop reading and free the ring buffer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close(); // before the epoll fd is closed
    this.#watch = undefined;
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (!this.#consuming) this.#free();
    // else: the running #drain frees it when ring_buffer__consume has returned
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #free(): void {
    this.#native?.free();
    this.#native = undefined;
  }

  /** Called by the native ring for each record; false stops the running consume. */
  #deliver(record: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#delivered++;
    try {
      this.#onRecord(record);
    } catch (err) {
      this.#report(err);
    }
    return !this.#closed;
  }

  #drain(): number {
    if (this.#consuming) return 0; // re-entrant call from a handler
    this.#consuming = true;
    this.#delivered = 0;
    try {
      this.#native!.consume();
    } finally {
      this.#consuming = false;
      if (this.#closed) this.#free();
    }
    return this.#delivered;
  }

  #report(err: unknown): void {
    if (this.#onError) {
      try {
        this.#onError(err);
        return;
      } catch (inner) {
        err = inner;
      }
    }
    this.#unhandled ??= { error: err };
  }

  #throwUnhandled(): void {
    const unhandled = this.#unhandled;
    this.#unhandled = undefined;
    if (unhandled) throw unhandled.error;
  }

  #onReadable(): void {
    if (this.#closed || this.#immediate) return;
    // consume in a regular Node callback, where handlers' microtasks and nextTicks run right after
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      if (this.#closed) return;
      try {
        this.#drain();
      } catch (err) {
        this.#report(err);
      }
      this.#throwUnhandled(); // an uncaught exception, like an 'error' event nobody listens to
    });
  }

  #onWatchError(err: SyscallError): void {
    // the watch stopped itself; start() may be called again. Report outside the native callback.
    this.#watch?.close();
    this.#watch = undefined;
    setImmediate(() => {
      this.#report(err);
      this.#throwUnhandled();
    });
  }
}
