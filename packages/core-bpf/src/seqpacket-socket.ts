/**
 * A connected unix SOCK_SEQPACKET socket driven by Node's event loop: whole messages, each with
 * optional file descriptors (SCM_RIGHTS), which Node's `net` cannot carry.
 *
 * - The fd is non-blocking and close-on-exec; reading and writing wait on a libuv poll handle
 *   (no thread, no busy polling), so nothing blocks the event loop.
 * - Messages are delivered from start() on, in order, to `message`; the fds of a message belong to
 *   the handler (close them or keep them). A handler must not throw: what it throws is rethrown
 *   on the next tick (an uncaught exception).
 * - send() queues a message; the fds are duplicated at once (the caller may close its own right
 *   after the call) and the duplicates closed once sent. The promise settles when the kernel took
 *   the message, or rejects when the connection failed or was closed first.
 * - The peer closing the connection, or an error, calls `end` once and closes the socket;
 *   close() ends it quietly (no `end`). Like a net.Socket, an open socket keeps the process alive
 *   while it is reading or has output queued, unless `keepAlive: false`.
 */
import { closeSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { lastErrno } from './ffi/lib.js';
import { type FdWatch, watchFd } from './ffi/fd-watch.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SK } from './ffi/socket-constants.js';
import { ClosedError, ERRNO, InvalidArgumentError, SyscallError } from './errors.js';
import { MAX_FDS_PER_MESSAGE } from './fd-passing.js';
import { dupFd } from './fd-lifetime.js';
import { closeAll, type Packet, receivePacket, sendPacket } from './seqpacket-io.js';
import { type PeerCredentials, peerCredentials } from './socket-info.js';
import { encodeUnixAddress } from './unix-address.js';
import { validateFd } from './socket-options.js';

export type SeqpacketMessage = Packet;

export interface SeqpacketHandlers {
  /** one received message; its fds are the handler's */
  message(message: SeqpacketMessage): void;
  /** the connection ended by itself: no error = the peer closed it. Not called after close(). */
  end?(error?: Error): void;
}

export interface SeqpacketSocketOptions {
  /** most fds taken from one message (more are flagged fdsTruncated and closed); default 8 */
  readonly maxFds?: number;
  /** longest message in bytes (longer ones are cut and flagged payloadTruncated); default 65536 */
  readonly maxPayload?: number;
  /** whether the open socket keeps the process alive; default true */
  readonly keepAlive?: boolean;
}

interface QueuedSend {
  readonly payload: Buffer;
  readonly fds: number[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** Messages read per readable callback before yielding to the loop. */
const READ_BURST = 64;

export function checkSocketOptions(options: SeqpacketSocketOptions, what: string): Required<SeqpacketSocketOptions> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`${what}: options must be an object`);
  const unknown = Object.keys(options).filter((k) => !['maxFds', 'maxPayload', 'keepAlive'].includes(k));
  if (unknown.length) throw new InvalidArgumentError(`${what}: unknown option ${unknown.join(', ')}: accepted are maxFds, maxPayload, keepAlive`);
  const maxFds = options.maxFds ?? 8;
  const maxPayload = options.maxPayload ?? 65536;
  if (!Number.isInteger(maxFds) || maxFds < 1 || maxFds > MAX_FDS_PER_MESSAGE) {
    throw new InvalidArgumentError(`${what}: invalid maxFds ${String(maxFds)}: expected an integer 1..${MAX_FDS_PER_MESSAGE}`);
  }
  if (!Number.isInteger(maxPayload) || maxPayload < 1 || maxPayload > 16 * 1024 * 1024) {
    throw new InvalidArgumentError(`${what}: invalid maxPayload ${String(maxPayload)}: expected an integer 1..16777216`);
  }
  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean') {
    throw new InvalidArgumentError(`${what}: keepAlive must be a boolean`);
  }
  return { maxFds, maxPayload, keepAlive: options.keepAlive ?? true };
}

export class SeqpacketSocket implements Disposable {
  readonly #label: string;
  readonly #options: Required<SeqpacketSocketOptions>;
  #keepAlive: boolean;
  #fd: number;
  #watch: FdWatch | undefined;
  #handlers: SeqpacketHandlers | undefined;
  readonly #queue: QueuedSend[] = [];
  #ended = false;

  private constructor(fd: number, label: string, options: Required<SeqpacketSocketOptions>) {
    this.#fd = fd;
    this.#label = label;
    this.#options = options;
    this.#keepAlive = options.keepAlive;
  }

  /** Connect to the SOCK_SEQPACKET server at `path` (unix sockets connect at once or fail). */
  static connect(path: string, options: SeqpacketSocketOptions = {}): SeqpacketSocket {
    const opts = checkSocketOptions(options, 'SeqpacketSocket.connect');
    const { addr, length } = encodeUnixAddress(path);
    const fd = check(
      'socket',
      libcRaw.socket(C.AF_UNIX, SK.SOCK_SEQPACKET | SK.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0),
      `connect to ${path}`,
    );
    if (libcSocket.connect(fd, addr, length) < 0) {
      const err = new SyscallError('connect', lastErrno(), `connect to ${path}`);
      closeSync(fd);
      throw err;
    }
    return new SeqpacketSocket(fd, path, opts);
  }

  /** A connected pair (socketpair AF_UNIX SOCK_SEQPACKET). */
  static pair(options: SeqpacketSocketOptions = {}): [SeqpacketSocket, SeqpacketSocket] {
    const opts = checkSocketOptions(options, 'SeqpacketSocket.pair');
    const sv = new Int32Array(2);
    check(
      'socketpair',
      libcRaw.socketpair(C.AF_UNIX, SK.SOCK_SEQPACKET | SK.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, sv),
      'create a seqpacket socket pair',
    );
    return [new SeqpacketSocket(sv[0], 'socketpair[0]', opts), new SeqpacketSocket(sv[1], 'socketpair[1]', opts)];
  }

  /** Take ownership of an already connected, non-blocking seqpacket socket fd (e.g. from accept). */
  static adopt(fd: number, label: string, options: SeqpacketSocketOptions = {}): SeqpacketSocket {
    return new SeqpacketSocket(validateFd(fd, 'socket fd'), label, checkSocketOptions(options, 'SeqpacketSocket.adopt'));
  }

  get fd(): number {
    if (this.#fd < 0) throw new ClosedError(`seqpacket socket ${this.#label}`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Messages queued by send() and not yet taken by the kernel. */
  get pendingSends(): number {
    return this.#queue.length;
  }

  /** The peer's pid/uid/gid (SO_PEERCRED). */
  peerCredentials(): PeerCredentials {
    return peerCredentials(this.fd);
  }

  /** Start delivering messages (once). */
  start(handlers: SeqpacketHandlers): void {
    if (this.#fd < 0) throw new ClosedError(`seqpacket socket ${this.#label}`);
    if (this.#handlers) throw new InvalidArgumentError(`seqpacket socket ${this.#label}: already started`);
    if (!handlers || typeof handlers.message !== 'function') {
      throw new InvalidArgumentError('SeqpacketSocket.start: expected { message(msg), end?(error) }');
    }
    this.#handlers = handlers;
    this.#rewatch();
  }

  /** Queue one message (at least one byte) with `fds`; settles once the kernel took it. */
  send(payload: Uint8Array, fds: readonly number[] = []): Promise<void> {
    if (this.#fd < 0) return Promise.reject(new ClosedError(`seqpacket socket ${this.#label}`));
    if (!(payload instanceof Uint8Array) || payload.length === 0) {
      return Promise.reject(new InvalidArgumentError(`seqpacket socket ${this.#label}: send needs a non-empty Uint8Array payload`));
    }
    if (!Array.isArray(fds) || fds.length > MAX_FDS_PER_MESSAGE) {
      return Promise.reject(new InvalidArgumentError(`seqpacket socket ${this.#label}: send takes 0..${MAX_FDS_PER_MESSAGE} fds`));
    }
    const dups: number[] = [];
    try {
      for (const fd of fds) dups.push(dupFd(validateFd(fd, 'fd to send'), `send fd ${fd} over ${this.#label}`));
    } catch (err) {
      closeAll(dups);
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ payload: Buffer.from(payload), fds: dups, resolve, reject });
      if (this.#queue.length === 1) this.#flush();
    });
  }

  /** Whether the open socket keeps the process alive. */
  keepAlive(on: boolean): void {
    this.#keepAlive = on;
    this.#watch?.keepAlive(on);
  }

  /** Close at once: queued sends reject with ClosedError; no `end` call. Idempotent. */
  close(): void {
    this.#shutdown(new ClosedError(`seqpacket socket ${this.#label}`));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `seqpacket socket ${this.#label}`;
  }

  #shutdown(reason: Error): boolean {
    if (this.#fd < 0) return false;
    this.#watch?.close();
    this.#watch = undefined;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
    for (const q of this.#queue.splice(0)) {
      closeAll(q.fds);
      q.reject(reason);
    }
    return true;
  }

  /** The connection ended by itself: close and tell the handler once. */
  #end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    const reason = error ?? new SyscallError('recvmsg', ERRNO.EPIPE, `seqpacket socket ${this.#label}: the peer closed the connection`);
    if (!this.#shutdown(reason)) return;
    const end = this.#handlers?.end;
    if (end) this.#call(() => end(error));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  #rewatch(): void {
    if (this.#fd < 0) return;
    const events = { readable: this.#handlers !== undefined, writable: this.#queue.length > 0 };
    if (!this.#watch) {
      if (!events.readable && !events.writable) return;
      this.#watch = watchFd(
        this.#fd,
        events,
        (ready) => {
          if (ready.writable) this.#flush();
          if (ready.readable) this.#read();
        },
        (err) => this.#end(err),
        `poll ${this.toString()}`,
      );
      this.#watch.keepAlive(this.#keepAlive);
      return;
    }
    this.#watch.want(events);
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#fd >= 0) {
      const head = this.#queue[0];
      let result: 'sent' | 'again';
      try {
        result = sendPacket(this.#fd, head.payload, head.fds, `send on ${this.toString()}`);
      } catch (err) {
        if (err instanceof InvalidArgumentError) {
          this.#queue.shift();
          closeAll(head.fds);
          head.reject(err);
          continue;
        }
        this.#end(err as Error);
        return;
      }
      if (result === 'again') break;
      this.#queue.shift();
      closeAll(head.fds);
      head.resolve();
    }
    this.#rewatch();
  }

  #read(): void {
    for (let i = 0; i < READ_BURST && this.#fd >= 0 && this.#handlers; i++) {
      let packet: Packet | 'again' | 'eof';
      try {
        packet = receivePacket(this.#fd, this.#options.maxFds, this.#options.maxPayload, `receive on ${this.toString()}`);
      } catch (err) {
        this.#end(err as Error);
        return;
      }
      if (packet === 'again') return;
      if (packet === 'eof') {
        this.#end();
        return;
      }
      const handlers = this.#handlers;
      const message = packet;
      this.#call(() => handlers.message(message));
    }
  }
}
