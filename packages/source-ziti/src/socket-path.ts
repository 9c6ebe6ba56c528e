/**
 * Claiming the unix socket path before listening (the same rules as the agent's admin socket):
 * the parent directory is created 0700 when missing; a live socket (something answers) or a
 * non-socket is never replaced; a stale socket file is removed.
 */
import { createConnection } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ZitiSourceError } from './errors.js';

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

/** Makes `socketPath` free to listen on; returns whether a stale socket was removed. */
export async function claimSocketPath(socketPath: string): Promise<{ removedStale: boolean }> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  let info;
  try {
    info = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removedStale: false };
    throw err;
  }
  if (!info.isSocket()) {
    throw new ZitiSourceError('ERR_ZITI_SOCKET', `ziti API socket ${socketPath}: the path exists and is not a socket; refusing to replace it`);
  }
  if (await socketIsLive(socketPath)) {
    throw new ZitiSourceError('ERR_ZITI_SOCKET', `ziti API socket ${socketPath}: another process answers on it (a running agent?); refusing to replace it`);
  }
  await unlink(socketPath);
  return { removedStale: true };
}
