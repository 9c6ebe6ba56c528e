/**
 * Listening on a unix socket path, as every API of the agent does (the admin API, a source's API).
 * The server is bound under a temporary name in the socket's directory (created 0700 when
 * missing), made 0600, then renamed over the path: atomically, so a client never finds the path
 * missing or open to others, even while it replaces another socket. A live socket (something
 * answers) is refused unless the caller takes over from it (`bpfsteer run --take-over`: the old
 * agent goes on serving the connections it has, every new one reaches the new agent); a stale
 * socket file is replaced; a non-socket is never replaced. At close only the socket that is still
 * this one is removed: a socket that took over the path is left alone.
 */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { chmod, lstat, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Whether something accepts connections on `socketPath`. */
export function socketIsLive(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(true); // it exists and did not refuse: treat it as held
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(err);
    });
  });
}

export interface ListenUnixSocketOptions {
  /** the error to throw when the path cannot be taken; `detail` says why */
  readonly refuse: (detail: string) => Error;
  /** what a live socket is probably held by, for the message (default "another process") */
  readonly holder?: string;
  /** replace a live socket instead of refusing it (an agent taking over from a running one) */
  readonly takeOver?: boolean;
}

/** A socket path this process listens on (listenUnixSocket). */
export interface UnixSocketPath {
  readonly path: string;
  /** what was at the path before: nothing, a stale socket file, or a live socket taken over */
  readonly replaced: 'nothing' | 'stale' | 'live';
  /** Whether the path is still this socket (false once another agent took it over). */
  holds(): Promise<boolean>;
  /** Removes the socket file if it is still this one (call it once the server is closed). */
  release(): Promise<void>;
}

/**
 * Binds a server on `path` (see the module comment): `listen(tempPath)` must make the server listen
 * on the unix socket path it is given. Rejects with `options.refuse(...)` when the path is taken.
 */
export async function listenUnixSocket(
  path: string,
  listen: (tempPath: string) => Promise<void>,
  options: ListenUnixSocketOptions,
): Promise<UnixSocketPath> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const replaced = await whatIsAt(path, options);
  const temp = join(dir, `.${basename(path).slice(0, 40)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const previous = process.umask(0o177); // bound 0600, never wider
  try {
    await listen(temp);
  } finally {
    process.umask(previous);
  }
  let ino: number;
  try {
    await chmod(temp, 0o600);
    await rename(temp, path);
    ino = (await stat(path)).ino;
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // still this socket: not replaced by one that took the path over
  const holds = async (): Promise<boolean> => {
    try {
      const info = await lstat(path);
      return info.isSocket() && info.ino === ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  };
  return {
    path,
    replaced,
    holds,
    async release() {
      if (!(await holds())) return;
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}

async function whatIsAt(path: string, options: ListenUnixSocketOptions): Promise<UnixSocketPath['replaced']> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'nothing';
    throw err;
  }
  if (!info.isSocket()) throw options.refuse('the path exists and is not a socket; refusing to replace it');
  if (!(await socketIsLive(path))) return 'stale';
  if (options.takeOver) return 'live';
  throw options.refuse(`${options.holder ?? 'another process'} is running (it answers on this socket)`);
}
