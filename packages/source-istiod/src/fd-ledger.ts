/**
 * The fds a source names in its intents (a netns as `/proc/self/fd/N`, sockets in `socketFds`),
 * held as the source's own duplicates for exactly as long as a snapshot naming them is in force or
 * being committed. The agent re-applies the snapshot in force when a later commit is refused, so
 * every fd it names must stay open, and keep naming the same object, until a commit without it has
 * succeeded; only then is it closed.
 *
 * Each fd is held under a key naming the object (e.g. `netns:<inode>`), so the same object keeps the
 * same fd number from one snapshot to the next (unchanged intents stay byte-identical).
 */

export interface FdLedgerDeps {
  /** closes an fd this ledger owns */
  readonly close: (fd: number) => void;
}

export class FdLedger {
  readonly #close: (fd: number) => void;
  readonly #held = new Map<string, number>();
  /** keys named by each snapshot being committed, by id */
  readonly #pending = new Map<number, ReadonlySet<string>>();
  #inForce: ReadonlySet<string> = new Set();
  #inForceId = 0;
  #nextId = 1;
  #closed = false;

  constructor(deps: FdLedgerDeps) {
    this.#close = deps.close;
  }

  /** Number of fds held. */
  get size(): number {
    return this.#held.size;
  }

  /** The fd held under `key`, if any. */
  fdOf(key: string): number | undefined {
    return this.#held.get(key);
  }

  /**
   * The fd held under `key`; the first time, `make()` provides it (a fresh fd the ledger then owns;
   * if it throws, nothing is held). Fds held but named by no snapshot are closed by the next
   * settle() or sweep().
   */
  hold(key: string, make: () => number): number {
    if (this.#closed) throw new Error('the fd ledger is closed');
    const fd = this.#held.get(key);
    if (fd !== undefined) return fd;
    const made = make();
    this.#held.set(key, made);
    return made;
  }

  /** A snapshot naming `keys` is about to be committed; returns its id for settle(). */
  begin(keys: Iterable<string>): number {
    const id = this.#nextId++;
    this.#pending.set(id, new Set(keys));
    return id;
  }

  /** The commit of snapshot `id` ended; `inForce`: it was accepted (it replaced the one in force). */
  settle(id: number, inForce: boolean): void {
    const keys = this.#pending.get(id);
    if (!keys) return;
    this.#pending.delete(id);
    if (inForce && id > this.#inForceId) {
      this.#inForce = keys;
      this.#inForceId = id;
    }
    this.sweep();
  }

  /** Closes every fd named neither by the snapshot in force nor by one being committed. */
  sweep(): void {
    for (const [key, fd] of [...this.#held]) {
      if (this.#inForce.has(key) || [...this.#pending.values()].some((k) => k.has(key))) continue;
      this.#held.delete(key);
      this.#closeQuietly(fd);
    }
  }

  /** Closes every fd (the source stops); later hold() calls throw, settle() does nothing. */
  closeAll(): void {
    this.#closed = true;
    this.#pending.clear();
    this.#inForce = new Set();
    for (const fd of this.#held.values()) this.#closeQuietly(fd);
    this.#held.clear();
  }

  #closeQuietly(fd: number): void {
    try {
      this.#close(fd);
    } catch {
      // already closed: nothing left to release
    }
  }
}
