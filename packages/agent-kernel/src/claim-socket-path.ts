/**
 * Claiming a unix socket path before listening on it (the admin API, a source's API): the parent
 * directory is created 0700 when missing; a live socket (something answers) or a non-socket is
 * never replaced; a stale socket file is removed.
 */
import { createConnection } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

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

export interface ClaimSocketPathOptions {
  /** the error to throw when the path cannot be taken; `detail` says why */
  readonly refuse: (detail: string) => Error;
  /** what a live socket is probably held by, for the message (default "another process") */
  readonly holder?: string;
}

/** Makes `socketPath` free to listen on; returns whether a stale socket file was removed. */
export async function claimSocketPath(socketPath: string, options: ClaimSocketPathOptions): Promise<{ removedStale: boolean }> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  let info;
  try {
    info = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removedStale: false };
    throw err;
  }
  if (!info.isSocket()) throw options.refuse('the path exists and is not a socket; refusing to replace it');
  if (await socketIsLive(socketPath)) {
    throw options.refuse(`${options.holder ?? 'another process'} is running (it answers on this socket)`);
  }
  await unlink(socketPath);
  return { removedStale: true };
}
