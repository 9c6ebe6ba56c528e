/**
 * Who owns a handle: closing the owner (an object, or the handle itself) invalidates every user. A
 * lifetime may own one fd, closed exactly once when the lifetime ends.
 */
import { closeSync } from 'node:fs';
import { ClosedError } from './errors.js';

export class Lifetime {
  #closed = false;
  #fd: number | undefined;
  readonly what: string;
  constructor(what: string, ownedFd?: number) {
    this.what = what;
    this.#fd = ownedFd;
  }
  get closed(): boolean {
    return this.#closed;
  }
  /** End the lifetime (closing its fd, if it owns one). Idempotent. */
  end(): void {
    if (this.#closed) return;
    this.#closed = true;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
  /** Throws ClosedError naming `what` (or the owner) when closed. */
  assertOpen(what = this.what): void {
    if (this.#closed) throw new ClosedError(what === this.what ? what : `${what} (owned by ${this.what})`);
  }
}
