/**
 * Waiting for a file descriptor to become readable and/or writable on Node's own event loop, with
 * the interest changeable at any time (a socket watches for writable only while it has output
 * queued). Like fd-poll.ts's watchReadable it is a libuv poll handle made by koffi
 * (`koffi.node.poll`): no thread, no timer; callbacks run on the main thread. libuv allows one poll
 * handle per fd, so one FdWatch serves both directions.
 */
import { ERRNO, SyscallError } from '../errors.js';
import { koffi } from './lib.js';

export interface FdEvents {
  readonly readable: boolean;
  readonly writable: boolean;
}

export interface FdWatch {
  /** Change the events watched; with neither, the fd leaves the loop's epoll set until asked again. */
  want(events: FdEvents): void;
  /** Whether the watch keeps the process alive (a libuv ref); watches start unref'd. */
  keepAlive(on: boolean): void;
  /** Stop watching; idempotent. Must happen before the fd is closed. */
  close(): void;
}

interface PollEvents {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

interface UvPollHandle {
  start(opts: { readable: boolean; writable: boolean }, callback: (status: number, events: PollEvents) => void): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

type UvPoll = (
  fd: number,
  opts: { readable: boolean; writable: boolean },
  callback: (status: number, events: PollEvents) => void,
) => UvPollHandle | null;

/**
 * Call `onEvent` on the main thread while `fd` is ready for one of the wanted events
 * (level-triggered). `onError` gets a failed poll's errno (the watch is then stopped).
 */
export function watchFd(
  fd: number,
  events: FdEvents,
  onEvent: (ready: FdEvents) => void,
  onError: (error: SyscallError) => void,
  context: string,
): FdWatch {
  const poll = (koffi as unknown as { node: { poll: UvPoll } }).node.poll;
  let handle: UvPollHandle | null = null;
  let closed = false;
  let polling = false;
  const callback = (status: number, ready: PollEvents): void => {
    if (closed) return;
    if (status < 0) {
      handle?.stop();
      polling = false;
      onError(new SyscallError('uv_poll', -status, context));
      return;
    }
    onEvent({ readable: ready.readable || ready.disconnect, writable: ready.writable });
  };
  const wanted = (e: FdEvents) => ({ readable: e.readable === true, writable: e.writable === true });
  try {
    handle = poll(fd, wanted(events), callback);
  } catch (err) {
    throw new SyscallError('uv_poll_start', ERRNO.EIO, context, err instanceof Error ? err.message : String(err));
  }
  if (!handle) throw new SyscallError('uv_poll_start', ERRNO.EIO, context);
  polling = true;
  handle.unref();
  if (!events.readable && !events.writable) {
    handle.stop();
    polling = false;
  }
  return {
    want(next: FdEvents): void {
      if (closed || !handle) return;
      const w = wanted(next);
      if (!w.readable && !w.writable) {
        if (polling) handle.stop();
        polling = false;
        return;
      }
      try {
        handle.start(w, callback);
        polling = true;
      } catch (err) {
        throw new SyscallError('uv_poll_start', ERRNO.EIO, context, err instanceof Error ? err.message : String(err));
      }
    },
    keepAlive(on: boolean): void {
      if (closed) return;
      if (on) handle?.ref();
      else handle?.unref();
    },
    close(): void {
      if (closed) return;
      closed = true;
      handle?.close();
      handle = null;
    },
  };
}
