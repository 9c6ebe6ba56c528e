/**
 * Waiting for a file descriptor to become readable on Node's own event loop: a libuv poll handle
 * (uv_poll_t) made by koffi (`koffi.node.poll`). The fd joins the loop's epoll set, so waiting costs
 * no thread and no timer, and the callback runs on the main thread like any other I/O callback.
 *
 * koffi 3.3 marks this API as not yet documented; its type declaration also gets the callback
 * arguments wrong (the callback receives `(status, events)`), so it is typed here, and the kernel tests
 * of RingBuffer exercise it.
 */
import { ERRNO, SyscallError } from '../errors.js';
import { koffi } from './lib.js';

/** A readable-watch on one fd; every libuv handle for an fd must be closed before the fd is. */
export interface ReadableWatch {
  /** Whether the watch keeps the process alive (a libuv ref); watches start unref'd. */
  keepAlive(on: boolean): void;
  /** Stop watching (removes the fd from the loop's epoll set at once); idempotent. */
  close(): void;
}

interface UvPollHandle {
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

type UvPoll = (fd: number, opts: { readable: boolean }, callback: (status: number) => void) => UvPollHandle | null;

/**
 * Call `onReadable` on the main thread whenever `fd` is readable (level-triggered: again on every
 * loop iteration while it stays readable). `onError` gets the errno of a failed poll (the watch is
 * then stopped). libuv requires that no other poll handle watches the same fd.
 */
export function watchReadable(
  fd: number,
  onReadable: () => void,
  onError: (error: SyscallError) => void,
  context: string,
): ReadableWatch {
  const poll = (koffi as unknown as { node: { poll: UvPoll } }).node.poll;
  let handle: UvPollHandle | null;
  let closed = false;
  try {
    handle = poll(fd, { readable: true }, (status: number) => {
      if (closed) return;
      if (status < 0) {
        handle?.stop();
        onError(new SyscallError('uv_poll', -status, context));
      } else {
        onReadable();
      }
    });
  } catch (err) {
    // koffi reports libuv's message only ("Failed to init UV poll: bad file descriptor")
    throw new SyscallError('uv_poll_start', ERRNO.EIO, context, err instanceof Error ? err.message : String(err));
  }
  if (!handle) throw new SyscallError('uv_poll_start', ERRNO.EIO, context);
  handle.unref();
  return {
    keepAlive(on: boolean): void {
      if (closed) return;
      if (on) handle?.ref();
      else handle?.unref();
    },
    close(): void {
      if (closed) return;
      closed = true;
      handle?.close(); // uv_poll_stop + uv_close: the fd leaves the epoll set now
      handle = null;
    },
  };
}
