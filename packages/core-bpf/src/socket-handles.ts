/**
 * The socket-handle registry: fds that cross the intent contract (a pod's network namespace, a
 * proxy's listening sockets) travel as opaque handles (`h:<n>`, never reused), not as fd numbers.
 *
 * - `register(fd, kind)` checks what the fd is (a network namespace or a socket, optionally the
 *   very object of a known inode), keeps its own close-on-exec duplicate (F_DUPFD_CLOEXEC), and
 *   returns a new handle; the registrant may close its own fd at once.
 * - `fd(handle)` is the duplicate (fds are process-wide: a worker thread can use the number too).
 * - A handle is closed only when its registrant released it (`release`) and no intent in force or
 *   being committed names it. A committer (a source) says what its commits name: `begin` before a
 *   commit, `settle` after it. The agent re-applies the previous state when a commit is refused, so
 *   the handles of the snapshot in force stay open until a commit without them succeeded.
 * - `closeAll()` when the agent stops.
 *
 * One registry per agent: the kernel owns it (agent-kernel's `Tokens.SocketHandles`), sources
 * register and commit through it, plugins resolve handles through it.
 */
import { closeSync, fstatSync } from 'node:fs';
import { ClosedError, InvalidArgumentError, NotFoundError } from './errors.js';
import { dupFd } from './fd-lifetime.js';
import { isNetnsFd } from './netns-fd.js';
import { validateFd } from './socket-options.js';

/** What a handle may name. */
export type SocketHandleKind = 'netns' | 'socket';

/** What an fd refers to, as the registry checks it. */
export interface FdIdentity {
  readonly kind: SocketHandleKind | 'other';
  /** the inode of the object (the socket's, the namespace's) */
  readonly inode: bigint;
}

export interface RegisterOptions {
  /** what it is, for messages (e.g. `netns of pod shop/web-1`) */
  readonly what?: string;
  /** the inode it must have (the object it was learned as), checked on the duplicate */
  readonly inode?: bigint;
}

/** Resolves a handle to the fd held for it (all a plugin needs). */
export interface SocketHandleResolver {
  /** the fd held for `handle`; NotFoundError when no open handle has this name */
  fd(handle: string): number;
}

/** The commits of one committer (a source): the handles of its snapshot in force stay open. */
export interface HandleCommitter {
  /** A commit naming `handles` begins (each must be open); returns its id for `settle`. */
  begin(handles: Iterable<string>): number;
  /** Commit `id` ended; `inForce`: it was accepted and replaced the committer's snapshot in force. */
  settle(id: number, inForce: boolean): void;
  /** The committer is gone (its source stopped): its commits name nothing any more. */
  end(): void;
}

/** The registry as the agent kernel and the sources see it. */
export interface SocketHandleRegistry extends SocketHandleResolver {
  /** Checks `fd`, keeps a duplicate of it and returns a new handle (the caller keeps `fd`). */
  register(fd: number, kind: SocketHandleKind, options?: RegisterOptions): string;
  /** The registrant no longer needs `handle`: it closes once no commit names it. Idempotent. */
  release(handle: string): void;
  /** A new committer (one per source). */
  committer(): HandleCommitter;
  /** Every open handle and its fd (what a plugin thread resolves against). */
  table(): ReadonlyMap<string, number>;
  /** Changes whenever a handle opens or closes. */
  readonly version: number;
  /** Closes every handle (the agent stops); register() then throws ClosedError. */
  closeAll(): void;
}

export interface SocketHandlesDeps {
  /** a close-on-exec duplicate of an fd (default: fcntl F_DUPFD_CLOEXEC) */
  readonly dup?: (fd: number, context: string) => number;
  readonly close?: (fd: number) => void;
  /** what an fd is (default: fstat, and NS_GET_NSTYPE for a namespace) */
  readonly identify?: (fd: number) => FdIdentity;
}

/** fstat for sockets, NS_GET_NSTYPE for network namespaces; anything else is 'other'. */
export function identifyFd(fd: number): FdIdentity {
  const st = fstatSync(validateFd(fd), { bigint: true });
  if (st.isSocket()) return { kind: 'socket', inode: st.ino };
  return { kind: isNetnsFd(fd) ? 'netns' : 'other', inode: st.ino };
}

const HANDLE = /^h:[1-9][0-9]*$/;
const KINDS: readonly SocketHandleKind[] = ['netns', 'socket'];
const KIND_TEXT: Readonly<Record<FdIdentity['kind'], string>> = { netns: 'a network namespace', socket: 'a socket', other: 'neither a socket nor a network namespace' };

interface Entry {
  readonly fd: number;
  readonly kind: SocketHandleKind;
  readonly what: string;
  released: boolean;
}

interface CommitterState {
  inForce: ReadonlySet<string>;
  inForceId: number;
  readonly pending: Map<number, ReadonlySet<string>>;
}

export class SocketHandles implements SocketHandleRegistry {
  readonly #dup: (fd: number, context: string) => number;
  readonly #close: (fd: number) => void;
  readonly #identify: (fd: number) => FdIdentity;
  readonly #entries = new Map<string, Entry>();
  /** handles their registrant released, open while a commit names them */
  readonly #released = new Set<string>();
  readonly #committers = new Set<CommitterState>();
  #next = 1;
  #nextCommit = 1;
  #version = 0;
  #closed = false;

  constructor(deps: SocketHandlesDeps = {}) {
    this.#dup = deps.dup ?? dupFd;
    this.#close = deps.close ?? closeSync;
    this.#identify = deps.identify ?? identifyFd;
  }

  get version(): number {
    return this.#version;
  }

  /** Open handles. */
  get size(): number {
    return this.#entries.size;
  }

  register(fd: number, kind: SocketHandleKind, options: RegisterOptions = {}): string {
    if (this.#closed) throw new ClosedError('the socket-handle registry');
    const what = options.what ?? `fd ${fd}`;
    if (!KINDS.includes(kind)) throw new InvalidArgumentError(`register ${what}: kind must be "netns" or "socket", got ${JSON.stringify(kind)}`);
    validateFd(fd, what);
    const copy = this.#dup(fd, `register ${what}`);
    try {
      let found: FdIdentity;
      try {
        found = this.#identify(copy);
      } catch (err) {
        throw new InvalidArgumentError(`register ${what}: cannot inspect it (${(err as Error).message})`);
      }
      if (found.kind !== kind) throw new InvalidArgumentError(`register ${what}: expected ${KIND_TEXT[kind]}, but it is ${KIND_TEXT[found.kind]}`);
      if (options.inode !== undefined && found.inode !== options.inode) {
        throw new InvalidArgumentError(`register ${what}: it is no longer the ${kind} ${options.inode} (now ${found.inode})`);
      }
    } catch (err) {
      this.#closeQuietly(copy);
      throw err;
    }
    const handle = `h:${this.#next++}`;
    this.#entries.set(handle, { fd: copy, kind, what, released: false });
    this.#version += 1;
    return handle;
  }

  fd(handle: string): number {
    const entry = this.#entries.get(handle);
    if (!entry) throw new NotFoundError(`socket handle ${JSON.stringify(handle)}`, this.#whyUnknown(handle));
    return entry.fd;
  }

  /** The kind a handle was registered as. */
  kindOf(handle: string): SocketHandleKind {
    this.fd(handle);
    return this.#entries.get(handle)!.kind;
  }

  release(handle: string): void {
    const entry = this.#entries.get(handle);
    if (!entry || entry.released) return;
    entry.released = true;
    this.#released.add(handle);
    this.#sweep();
  }

  committer(): HandleCommitter {
    const state: CommitterState = { inForce: new Set(), inForceId: 0, pending: new Map() };
    this.#committers.add(state);
    return {
      begin: (handles) => {
        if (this.#closed) throw new ClosedError('the socket-handle registry');
        const named = new Set(handles);
        for (const h of named) this.fd(h); // NotFoundError before anything is noted
        const id = this.#nextCommit++;
        state.pending.set(id, named);
        return id;
      },
      settle: (id, inForce) => {
        const named = state.pending.get(id);
        if (!named) return;
        state.pending.delete(id);
        if (inForce && id > state.inForceId) {
          state.inForce = named;
          state.inForceId = id;
        }
        this.#sweep();
      },
      end: () => {
        this.#committers.delete(state);
        this.#sweep();
      },
    };
  }

  table(): ReadonlyMap<string, number> {
    return new Map([...this.#entries].map(([h, e]) => [h, e.fd]));
  }

  closeAll(): void {
    this.#closed = true;
    this.#committers.clear();
    for (const entry of this.#entries.values()) this.#closeQuietly(entry.fd);
    if (this.#entries.size > 0) this.#version += 1;
    this.#entries.clear();
    this.#released.clear();
  }

  /** Closes every released handle that no commit in force or pending names (only released ones can close). */
  #sweep(): void {
    let closed = false;
    for (const handle of [...this.#released]) {
      if (this.#named(handle)) continue;
      this.#released.delete(handle);
      this.#closeQuietly(this.#entries.get(handle)!.fd);
      this.#entries.delete(handle);
      closed = true;
    }
    if (closed) this.#version += 1;
  }

  #named(handle: string): boolean {
    for (const c of this.#committers) {
      if (c.inForce.has(handle)) return true;
      for (const named of c.pending.values()) if (named.has(handle)) return true;
    }
    return false;
  }

  #whyUnknown(handle: string): string {
    if (typeof handle !== 'string' || !HANDLE.test(handle)) return 'not a handle: handles look like "h:<n>"';
    if (this.#closed) return 'the registry is closed';
    return Number(handle.slice(2)) < this.#next ? 'it was closed' : 'it was never registered';
  }

  #closeQuietly(fd: number): void {
    try {
      this.#close(fd);
    } catch {
      // already closed: nothing left to release
    }
  }
}
