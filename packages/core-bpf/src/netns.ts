/**
 * Network namespaces: an open handle to one, and a synchronous section run inside one.
 *
 * `withNetns` switches the calling (main) thread with setns(2) and always switches back before it
 * returns or throws. Only work done synchronously inside `fn` happens in the namespace: sockets
 * created there stay in it, but Node's thread pool, DNS lookups and anything awaited run in the
 * original namespace, so `fn` must not be async.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { C, check, libcRaw } from './ffi/libc.js';
import { BpfError, ClosedError, InvalidArgumentError, NotFoundError } from './errors.js';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;
export const NETNS_RUN_DIR = '/var/run/netns';

/** Path of a netns given by name (`ip netns` style, under /var/run/netns) or by absolute path. */
export function netnsPath(nameOrPath: string): string {
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0) {
    throw new InvalidArgumentError('netns: expected a name (as in `ip netns`) or an absolute path, got an empty value');
  }
  if (nameOrPath.startsWith('/')) return nameOrPath;
  if (!NAME_RE.test(nameOrPath) || nameOrPath === '.' || nameOrPath === '..') {
    throw new InvalidArgumentError(
      `netns: invalid name ${JSON.stringify(nameOrPath)}: a name uses letters, digits, '_', '.', '-' (or pass an absolute path)`,
    );
  }
  return `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/** Open a namespace file, checking that it is a network namespace. Returns the fd. */
function openNetnsFd(path: string, label: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`network namespace ${label} (${path})`);
    throw new InvalidArgumentError(`netns ${label}: cannot open ${path}: ${code ?? String(err)}`);
  }
  const type = libcRaw.ioctl(fd, C.NS_GET_NSTYPE);
  if (type !== C.CLONE_NEWNET) {
    closeSync(fd);
    throw new InvalidArgumentError(`netns ${label}: ${path} is not a network namespace file`);
  }
  return fd;
}

/** An open reference to a network namespace (keeps it alive while open). */
export class NetnsHandle implements Disposable {
  readonly path: string;
  readonly #label: string;
  #fd: number;

  private constructor(fd: number, path: string, label: string) {
    this.#fd = fd;
    this.path = path;
    this.#label = label;
  }

  /** Open by `ip netns` name or by path (e.g. /proc/1234/ns/net, /var/run/netns/NAME). */
  static open(nameOrPath: string): NetnsHandle {
    const path = netnsPath(nameOrPath);
    return new NetnsHandle(openNetnsFd(path, nameOrPath), path, nameOrPath);
  }

  /** The open fd (valid until close). */
  get fd(): number {
    if (this.#fd < 0) throw new ClosedError(`netns handle ${this.#label}`);
    return this.#fd;
  }

  /** The namespace's inode number: equal for two handles of the same namespace. */
  get inode(): bigint {
    return fstatSync(this.fd, { bigint: true }).ino;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  close(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#label;
  }
}

/** A human-readable label for a netns argument. */
export function netnsLabel(netns: string | NetnsHandle): string {
  return typeof netns === 'string' ? netns : netns.toString();
}

/**
 * Run `fn` synchronously inside `netns` (a name, a path or an open handle) and switch back
 * afterwards, also when `fn` throws. Nested calls work. A thenable result is refused: the await
 * would continue outside the namespace.
 */
export function withNetns<T>(netns: string | NetnsHandle, fn: () => T): T {
  const own = typeof netns === 'string' ? NetnsHandle.open(netns) : undefined;
  const target = own ?? (netns as NetnsHandle);
  let original = -1;
  try {
    original = openNetnsFd('/proc/thread-self/ns/net', 'of the current thread');
    check('setns', libcRaw.setns(target.fd, C.CLONE_NEWNET), `enter netns ${netnsLabel(netns)}`);
    let result: T;
    try {
      result = fn();
    } finally {
      const back = libcRaw.setns(original, C.CLONE_NEWNET);
      if (back < 0) {
        // the thread is stuck in the wrong namespace: nothing later can be trusted
        throw new BpfError('ERR_BPF_SYSCALL', `withNetns: could not switch back from netns ${netnsLabel(netns)}`);
      }
    }
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      throw new InvalidArgumentError(
        'withNetns: fn returned a promise; only synchronous work runs inside the namespace (awaited code runs outside)',
      );
    }
    return result;
  } finally {
    if (original >= 0) closeSync(original);
    own?.close();
  }
}

/** Run `fn` in `netns` when given, else directly. */
export function inNetns<T>(netns: string | NetnsHandle | undefined, fn: () => T): T {
  return netns === undefined ? fn() : withNetns(netns, fn);
}
