/**
 * A listening unix SOCK_SEQPACKET socket at a filesystem path, accepting on Node's event loop.
 *
 * The socket file appears atomically with its final permissions: it is bound under a temporary
 * name in the same directory, chmod/chown'ed, and renamed into place, so no client can connect
 * while it still has the umask's mode. An existing socket file at the path is replaced only when
 * nothing listens on it any more (a stale file of a dead server); a live one, or a file that is not
 * a socket, is refused. close() removes the file if it is still the one this server bound.
 */
import { createRequire } from 'node:module';
import { chmodSync, chownSync, closeSync, lstatSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { C, check, libcRaw } from './ffi/libc.js';
import { lastErrno } from './ffi/lib.js';
import { type FdWatch, watchFd } from './ffi/fd-watch.js';
import { libcSocket } from './ffi/libc-socket.js';
import { SK } from './ffi/socket-constants.js';
import { ClosedError, ERRNO, InvalidArgumentError, SyscallError } from './errors.js';
import { checkSocketOptions, SeqpacketSocket, type SeqpacketSocketOptions } from './seqpacket-socket.js';
import { encodeUnixAddress, validateUnixPath } from './unix-address.js';

/** node:crypto, loaded on first use: importing it cost ~12 ms of every thread's start (each plugin thread loads this package). */
let cryptoModule: typeof import('node:crypto') | undefined;
const nodeCrypto = (): typeof import('node:crypto') => (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

export interface SeqpacketListenOptions {
  /** permission bits of the socket file; default 0o600, or 0o660 when `group` is given */
  readonly mode?: number;
  /** group id to give the socket file (with `mode` allowing that group to connect) */
  readonly group?: number;
  /** listen(2) backlog; default 64 */
  readonly backlog?: number;
  /** options of every accepted connection */
  readonly connection?: SeqpacketSocketOptions;
  /** whether the listening server keeps the process alive; default true */
  readonly keepAlive?: boolean;
}

const ACCEPT_BURST = 64;
const ACCEPT_ERROR_PAUSE_MS = 100;

function checkListenOptions(options: SeqpacketListenOptions): {
  mode: number;
  group?: number;
  backlog: number;
  connection: SeqpacketSocketOptions;
  keepAlive: boolean;
} {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('SeqpacketServer.listen: options must be an object');
  const known = ['mode', 'group', 'backlog', 'connection', 'keepAlive'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw new InvalidArgumentError(`SeqpacketServer.listen: unknown option ${unknown.join(', ')}: accepted are ${known.join(', ')}`);
  const { group } = options;
  if (group !== undefined && (!Number.isInteger(group) || group < 0 || group > 0xfffffffe)) {
    throw new InvalidArgumentError(`SeqpacketServer.listen: invalid group ${String(group)}: expected a numeric gid`);
  }
  const mode = options.mode ?? (group === undefined ? 0o600 : 0o660);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new InvalidArgumentError(`SeqpacketServer.listen: invalid mode ${String(mode)}: expected permission bits 0..0o777`);
  }
  const backlog = options.backlog ?? 64;
  if (!Number.isInteger(backlog) || backlog < 1 || backlog > 65535) {
    throw new InvalidArgumentError(`SeqpacketServer.listen: invalid backlog ${String(backlog)}: expected an integer 1..65535`);
  }
  const connection = options.connection ?? {};
  checkSocketOptions(connection, 'SeqpacketServer.listen connection');
  if (options.keepAlive !== undefined && typeof options.keepAlive !== 'boolean') {
    throw new InvalidArgumentError('SeqpacketServer.listen: keepAlive must be a boolean');
  }
  return { mode, ...(group !== undefined ? { group } : {}), backlog, connection, keepAlive: options.keepAlive ?? true };
}

/** Whether something accepts connections at `path` right now. */
function someoneListens(path: string): boolean {
  try {
    SeqpacketSocket.connect(path, { keepAlive: false }).close();
    return true;
  } catch (err) {
    if (err instanceof SyscallError && (err.errno === 'ECONNREFUSED' || err.errno === 'ENOENT')) return false;
    if (err instanceof SyscallError && err.errno === 'EAGAIN') return true; // backlog full: alive
    if (err instanceof SyscallError && err.errno === 'EPROTOTYPE') return true; // a live socket of another type
    throw err;
  }
}

/** Refuse a path that holds something other than a stale socket. */
function checkTarget(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new InvalidArgumentError(`listen on ${path}: cannot inspect the path: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!st.isSocket()) throw new InvalidArgumentError(`listen on ${path}: the path exists and is not a socket; refusing to replace it`);
  if (someoneListens(path)) throw new SyscallError('bind', ERRNO.EADDRINUSE, `listen on ${path}: another server is listening there`);
}

export class SeqpacketServer implements Disposable {
  readonly path: string;
  readonly #connection: SeqpacketSocketOptions;
  readonly #keepAlive: boolean;
  #fd: number;
  #inode: bigint;
  #watch: FdWatch | undefined;

  private constructor(path: string, fd: number, inode: bigint, connection: SeqpacketSocketOptions, keepAlive: boolean) {
    this.path = path;
    this.#fd = fd;
    this.#inode = inode;
    this.#connection = connection;
    this.#keepAlive = keepAlive;
  }

  /** Bind and listen at `path` (see the module comment for permissions and stale files). */
  static listen(path: string, options: SeqpacketListenOptions = {}): SeqpacketServer {
    validateUnixPath(path);
    const opts = checkListenOptions(options);
    checkTarget(path);
    const temp = join(dirname(path), `.${basename(path).slice(0, 40)}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}`);
    const { addr, length } = encodeUnixAddress(temp);
    const fd = check('socket', libcRaw.socket(C.AF_UNIX, SK.SOCK_SEQPACKET | SK.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0), `listen on ${path}`);
    let bound = false;
    try {
      if (libcSocket.bind(fd, addr, length) < 0) throw new SyscallError('bind', lastErrno(), `listen on ${path}`);
      bound = true;
      if (opts.group !== undefined) chownSync(temp, process.getuid?.() ?? 0, opts.group);
      chmodSync(temp, opts.mode);
      if (libcSocket.listen(fd, opts.backlog) < 0) throw new SyscallError('listen', lastErrno(), `listen on ${path}`);
      renameSync(temp, path);
      const inode = statSync(path, { bigint: true }).ino;
      return new SeqpacketServer(path, fd, inode, opts.connection, opts.keepAlive);
    } catch (err) {
      closeSync(fd);
      if (bound) rmSync(temp, { force: true });
      throw err;
    }
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Accept connections on the event loop: each one is handed to `onConnection` (not yet started).
   * `onError` gets accept errors that do not stop the server (e.g. EMFILE) and a failed poll.
   */
  start(onConnection: (socket: SeqpacketSocket) => void, onError: (err: Error) => void = () => {}): void {
    if (this.#fd < 0) throw new ClosedError(`seqpacket server ${this.path}`);
    if (this.#watch) throw new InvalidArgumentError(`seqpacket server ${this.path}: already started`);
    if (typeof onConnection !== 'function') throw new InvalidArgumentError('SeqpacketServer.start: expected an onConnection function');
    this.#watch = watchFd(
      this.#fd,
      { readable: true, writable: false },
      () => this.#accept(onConnection, onError),
      (err) => onError(err),
      `poll seqpacket server ${this.path}`,
    );
    this.#watch.keepAlive(this.#keepAlive);
  }

  /** Stop listening and remove the socket file (if it is still ours). Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    this.#watch?.close();
    this.#watch = undefined;
    closeSync(this.#fd);
    this.#fd = -1;
    try {
      if (statSync(this.path, { bigint: true }).ino === this.#inode) rmSync(this.path, { force: true });
    } catch {
      // already gone
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #pause(): void {
    const watch = this.#watch;
    watch?.want({ readable: false, writable: false });
    setTimeout(() => {
      if (this.#watch === watch && this.#fd >= 0) watch?.want({ readable: true, writable: false });
    }, ACCEPT_ERROR_PAUSE_MS).unref();
  }

  #accept(onConnection: (socket: SeqpacketSocket) => void, onError: (err: Error) => void): void {
    for (let i = 0; i < ACCEPT_BURST && this.#fd >= 0; i++) {
      const fd = libcSocket.accept4(this.#fd, null, null, SK.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
      if (fd < 0) {
        const errno = lastErrno();
        if (errno === ERRNO.EAGAIN) return;
        if (errno === ERRNO.EINTR || errno === ERRNO.ECONNABORTED) continue;
        onError(new SyscallError('accept4', errno, `accept on ${this.path}`));
        this.#pause(); // e.g. EMFILE: the backlog stays readable, do not spin on it
        return;
      }
      let socket: SeqpacketSocket;
      try {
        socket = SeqpacketSocket.adopt(fd, `${this.path}#${fd}`, this.#connection);
      } catch (err) {
        closeSync(fd);
        onError(err as Error);
        continue;
      }
      try {
        onConnection(socket);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }
}
