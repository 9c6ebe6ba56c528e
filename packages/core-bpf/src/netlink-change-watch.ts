/**
 * Tells cheaply whether the interfaces or addresses of a network namespace may have changed: one
 * non-blocking NETLINK_ROUTE socket of that namespace subscribed to the link and address groups.
 * A caller that keeps what it read from the namespace (ifindexes, addresses) asks `changed()`
 * before using it and reads again only when the answer is yes, instead of entering the namespace
 * and reading everything each time.
 *
 * The socket is created inside the namespace and stays bound to it. `changed()` drains whatever
 * the kernel queued without blocking; a queue that overflowed (ENOBUFS: notifications were lost)
 * counts as a change. A new watch reports no change: read the state once after creating it.
 */
import { OwnedFd } from './fd-lifetime.js';
import { C, check, libcRaw } from './ffi/libc.js';
import { libcSocket } from './ffi/libc-socket.js';
import { lastErrno } from './ffi/lib.js';
import { NL } from './ffi/netlink-constants.js';
import { SK } from './ffi/socket-constants.js';
import { ERRNO, SyscallError } from './errors.js';
import { inNetns, netnsLabel, type NetnsHandle } from './netns.js';

/** Enough for a burst of address and link notifications per recv (each is a few hundred bytes). */
const DRAIN_BUFFER = 16 * 1024;

export interface NetlinkChangeWatchOptions {
  /** the namespace to watch (an `ip netns` name, a path or an open handle); default: the caller's */
  readonly netns?: string | NetnsHandle;
}

export class NetlinkChangeWatch implements Disposable {
  readonly #fd: OwnedFd;
  readonly #buf = Buffer.alloc(DRAIN_BUFFER);

  private constructor(fd: OwnedFd) {
    this.#fd = fd;
  }

  /** Subscribes to the link and IPv4 / IPv6 address changes of `netns` (or of the caller's namespace). */
  static open(options: NetlinkChangeWatchOptions = {}): NetlinkChangeWatch {
    const { netns } = options;
    const label = netns === undefined ? 'the current netns' : `netns ${netnsLabel(netns)}`;
    const context = `watch link and address changes in ${label}`;
    // created inside the namespace: a netlink socket belongs to the namespace it was created in
    const socket = inNetns(netns, () =>
      check('socket', libcRaw.socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC | SK.SOCK_NONBLOCK, NL.NETLINK_ROUTE), context),
    );
    const fd = new OwnedFd(socket, `netlink change watch of ${label}`);
    try {
      const addr = Buffer.alloc(NL.SOCKADDR_NL_LEN);
      addr.writeUInt16LE(C.AF_NETLINK, 0);
      addr.writeUInt32LE(NL.RTMGRP_LINK | NL.RTMGRP_IPV4_IFADDR | NL.RTMGRP_IPV6_IFADDR, NL.SOCKADDR_NL_GROUPS);
      check('bind', libcSocket.bind(socket, addr, addr.length), context);
    } catch (err) {
      fd.close();
      throw err;
    }
    return new NetlinkChangeWatch(fd);
  }

  /**
   * Whether a link or address notification (or an overflow of the queue) arrived since the last
   * call; drains the queue without blocking.
   */
  changed(): boolean {
    const fd = this.#fd.fd; // ClosedError once closed
    let changed = false;
    for (;;) {
      const n = Number(libcRaw.recv(fd, this.#buf, this.#buf.length, 0));
      if (n > 0) {
        changed = true;
        continue;
      }
      if (n === 0) return changed;
      const errno = lastErrno();
      if (errno === ERRNO.EAGAIN) return changed;
      if (errno === ERRNO.EINTR) continue;
      // the queue overflowed and notifications were lost: what they said is unknown, so changed
      if (errno === ERRNO.ENOBUFS) {
        changed = true;
        continue;
      }
      throw new SyscallError('recv', errno, this.#fd.what);
    }
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Closes the socket; idempotent. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
