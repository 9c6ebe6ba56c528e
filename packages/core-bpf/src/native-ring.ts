/**
 * One libbpf `struct ring_buffer` over one ringbuf map: the native half of RingBuffer. Records are
 * copied out of the ring (the ring's memory is reused once the callback returns) into Buffers, and
 * handed to `onRecord`; returning false from it stops the current consume (the record counts as
 * consumed). Not re-entrant: consume() must not be called from inside `onRecord`.
 */
import { ERRNO, SyscallError } from './errors.js';
import { lastErrno, type Ptr } from './ffi/lib.js';
import { checkLibbpf, libbpf, registerRingBufferSample, unregisterCallback } from './ffi/libbpf-api.js';
import { startLibbpfCapture } from './ffi/libbpf-log.js';
import { libcRaw } from './ffi/libc.js';
import { summarizeLibbpfLines } from './verifier-log.js';

export interface NativeRing {
  /** The ring's epoll fd (readable while records wait); owned by the ring. */
  readonly epollFd: number;
  /** Deliver every record available now; false when `onRecord` stopped it. Throws SyscallError. */
  consume(): boolean;
  /** Unmap the ring and close its epoll fd; idempotent. Never while consume() runs. */
  free(): void;
}

/** What ring_buffer__consume returns when our callback asked it to stop. */
const STOPPED = -ERRNO.ECANCELED;

export function openNativeRing(mapFd: number, mapName: string, onRecord: (record: Buffer) => boolean): NativeRing {
  const context = `ring buffer on map ${mapName}`;
  const callback = registerRingBufferSample((_ctx, data, size) => {
    try {
      const n = Number(size);
      const record = Buffer.allocUnsafe(n); // pooled like any small Buffer; the copy is the handler's
      if (n > 0) libcRaw.memcpy(record, data, n);
      return onRecord(record) ? 0 : STOPPED;
    } catch {
      return STOPPED; // never throw into C; onRecord itself does not throw
    }
  });
  let ring: Ptr | null = null;
  let epollFd: number;
  try {
    const stop = startLibbpfCapture();
    ring = libbpf.ring_buffer__new(mapFd, callback, null, null);
    const errno = lastErrno();
    const lines = stop();
    if (!ring) throw new SyscallError('ring_buffer__new', errno || ERRNO.EINVAL, `open ${context}`, summarizeLibbpfLines(lines));
    epollFd = checkLibbpf('ring_buffer__epoll_fd', libbpf.ring_buffer__epoll_fd(ring), `open ${context}`);
  } catch (err) {
    if (ring) libbpf.ring_buffer__free(ring);
    unregisterCallback(callback);
    throw err;
  }
  let freed = false;
  return {
    epollFd,
    consume(): boolean {
      const ret = libbpf.ring_buffer__consume(ring!);
      if (ret === STOPPED) return false;
      checkLibbpf('ring_buffer__consume', ret, `read ${context}`);
      return true;
    },
    free(): void {
      if (freed) return;
      freed = true;
      libbpf.ring_buffer__free(ring!);
      ring = null;
      unregisterCallback(callback);
    },
  };
}
