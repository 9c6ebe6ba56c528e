/**
 * The admin API: HTTP on a unix socket created 0600 (parent directory 0700 when we create it).
 * Refuses a socket path a live agent holds; replaces a stale socket file; never removes a non-socket.
 */
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { claimSocketPath } from './claim-socket-path.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AdminSocketInUseError, errorMessage } from './errors.js';

export interface AdminHandlers {
  status(): unknown;
  health(): { ok: boolean };
}

async function claimPath(socketPath: string, logger: Logger): Promise<void> {
  const { removedStale } = await claimSocketPath(socketPath, {
    refuse: (detail) => new AdminSocketInUseError(socketPath, detail),
    holder: 'another agent',
  });
  if (removedStale) logger.info({ socket: socketPath }, 'removed stale admin socket');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class AdminServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #ino: number;
  readonly #logger: Logger;

  private constructor(socketPath: string, server: Server, ino: number, logger: Logger) {
    this.socketPath = socketPath;
    this.#server = server;
    this.#ino = ino;
    this.#logger = logger;
  }

  static async listen(socketPath: string, handlers: AdminHandlers, logger: Logger): Promise<AdminServer> {
    await claimPath(socketPath, logger);
    const server = createServer((req, res) => AdminServer.#route(req, res, handlers, logger));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          err.code === 'EADDRINUSE'
            ? new AdminSocketInUseError(socketPath, 'the path was taken while starting (another agent?)')
            : err,
        );
      };
      server.once('error', onError);
      const previous = process.umask(0o177); // the socket is created 0600, never wider
      try {
        server.listen({ path: socketPath }, () => {
          server.off('error', onError);
          resolve();
        });
      } finally {
        process.umask(previous);
      }
    });
    await chmod(socketPath, 0o600);
    const { ino } = await stat(socketPath);
    logger.info({ socket: socketPath }, 'admin API listening');
    return new AdminServer(socketPath, server, ino, logger);
  }

  static #route(req: IncomingMessage, res: ServerResponse, handlers: AdminHandlers, logger: Logger): void {
    const path = new URL(req.url ?? '/', 'http://agent').pathname;
    try {
      if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        send(res, 405, { error: `method ${req.method} not allowed; use GET` });
      } else if (path === '/v1/status') {
        send(res, 200, handlers.status());
      } else if (path === '/v1/health') {
        const health = handlers.health();
        send(res, health.ok ? 200 : 503, health);
      } else {
        send(res, 404, { error: `no such endpoint ${path}`, endpoints: ['/v1/status', '/v1/health'] });
      }
    } catch (err) {
      logger.error({ err }, 'admin request failed');
      send(res, 500, { error: errorMessage(err) });
    }
  }

  /** Stops listening and removes the socket file if it is still ours. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    try {
      const info = await lstat(this.socketPath);
      if (info.isSocket() && info.ino === this.#ino) await unlink(this.socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger.warn({ err }, 'could not remove admin socket');
    }
  }
}
