/** Who owns a handle: closing the owner (an object, or the handle itself) invalidates every user. */
import { ClosedError } from './errors.js';

export class Lifetime {
  #closed = false;
  readonly what: string;
  constructor(what: string) {
    this.what = what;
  }
  get closed(): boolean {
    return this.#closed;
  }
  end(): void {
    this.#closed = true;
  }
  /** Throws ClosedError naming `what` (or the owner) when closed. */
  assertOpen(what = this.what): void {
    if (this.#closed) throw new ClosedError(what === this.what ? what : `${what} (owned by ${this.what})`);
  }
}
