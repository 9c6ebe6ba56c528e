/**
 * The admin API: HTTP on a unix socket created 0600 (parent directory 0700 when we create it).
 * Refuses a socket path a live agent holds; replaces a stale socket file; never removes a non-socket.
 */
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { claimSocketPath } from './claim-socket-path.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { nodeHttp } from './node-http.js';
import type { Logger } from 'pino';
import { AdminSocketInUseError, errorMessage } from './errors.js';

export interface AdminHandlers {
  status(): unknown | Promise<unknown>;
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

/** The path of a request target (origin or absolute form), or undefined when it is not a valid URL. */
function requestPath(target: string): string | undefined {
  try {
    return new URL(target, 'http://agent').pathname;
  } catch {
    return undefined;
  }
}

/** A request-supplied string cut to a length fit for an error message. */
function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
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
    const server = nodeHttp.createServer((req, res) => void AdminServer.#route(req, res, handlers, logger));
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

  static async #route(req: IncomingMessage, res: ServerResponse, handlers: AdminHandlers, logger: Logger): Promise<void> {
    // nothing a request carries may throw or reject out of here: that would end the agent
    try {
      const path = requestPath(req.url ?? '/');
      if (path === undefined) {
        send(res, 400, { error: `invalid request target ${JSON.stringify(shorten(req.url ?? ''))}; use e.g. /v1/status` });
      } else if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        send(res, 405, { error: `method ${req.method} not allowed; use GET` });
      } else if (path === '/v1/status') {
        send(res, 200, await handlers.status());
      } else if (path === '/v1/health') {
        const health = handlers.health();
        send(res, health.ok ? 200 : 503, health);
      } else {
        send(res, 404, { error: `no such endpoint ${shorten(path)}`, endpoints: ['/v1/status', '/v1/health'] });
      }
    } catch (err) {
      logger.error({ err }, 'admin request failed');
      try {
        if (res.headersSent) res.destroy();
        else send(res, 500, { error: errorMessage(err) });
      } catch (sendErr) {
        logger.warn({ err: sendErr }, 'could not answer a failed admin request');
        res.destroy();
      }
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
