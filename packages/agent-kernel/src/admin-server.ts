/**
 * The admin API: HTTP on a unix socket created 0600 (parent directory 0700 when we create it).
 * Refuses a socket path a live agent holds unless it takes over from that agent; replaces a stale
 * socket file; never removes a non-socket (listen-unix-socket.ts).
 *
 *   GET  /v1/status     the agent's status report
 *   GET  /v1/health     200 when running with every plugin running, else 503
 *   GET  /metrics       the Prometheus metrics (text exposition format)
 *   GET  /v1/handover   200 { pid, state }: this agent can hand over to a new one
 *   POST /v1/handover   202 { pid }: it stops keeping its pins (its sockets now belong to the new
 *                       agent, which waits for this process to exit, then adopts the pins)
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { listenUnixSocket, type UnixSocketPath } from './listen-unix-socket.js';
import { closeGracefully } from './graceful-close.js';
import { nodeHttp } from './node-http.js';
import type { Logger } from 'pino';
import { AdminSocketInUseError, errorMessage } from './errors.js';
import type { Exposition } from './agent-metrics.js';
import { sendExposition } from './metrics-server.js';

export interface AdminHandlers {
  status(): unknown | Promise<unknown>;
  health(): { ok: boolean };
  metrics(): Promise<Exposition>;
  /** the agent's state when it can hand over to a new agent, undefined when it cannot (stopping) */
  handoverState(): string | undefined;
  /** starts the stop of a handover (pins kept); called once the 202 is sent */
  handOver(): void;
}

export interface AdminListenOptions {
  /** replace the socket of a running agent (which is asked to hand over next) */
  readonly takeOver?: boolean;
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
  readonly #socket: UnixSocketPath;
  readonly #logger: Logger;

  private constructor(server: Server, socket: UnixSocketPath, logger: Logger) {
    this.socketPath = socket.path;
    this.#server = server;
    this.#socket = socket;
    this.#logger = logger;
  }

  static async listen(socketPath: string, handlers: AdminHandlers, logger: Logger, options: AdminListenOptions = {}): Promise<AdminServer> {
    const server = nodeHttp.createServer((req, res) => void AdminServer.#route(req, res, handlers, logger));
    const socket = await listenUnixSocket(
      socketPath,
      (temp) =>
        new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ path: temp }, () => {
            server.off('error', reject);
            resolve();
          });
        }),
      { refuse: (detail) => new AdminSocketInUseError(socketPath, detail), holder: 'another agent', takeOver: options.takeOver ?? false },
    );
    if (socket.replaced === 'stale') logger.info({ socket: socketPath }, 'replaced a stale admin socket');
    if (socket.replaced === 'live') logger.info({ socket: socketPath }, 'took the admin socket over from the running agent');
    logger.info({ socket: socketPath }, 'admin API listening');
    return new AdminServer(server, socket, logger);
  }

  static async #route(req: IncomingMessage, res: ServerResponse, handlers: AdminHandlers, logger: Logger): Promise<void> {
    // nothing a request carries may throw or reject out of here: that would end the agent
    try {
      const path = requestPath(req.url ?? '/');
      if (path === undefined) {
        send(res, 400, { error: `invalid request target ${JSON.stringify(shorten(req.url ?? ''))}; use e.g. /v1/status` });
      } else if (path === '/v1/handover') {
        AdminServer.#handover(req, res, handlers);
      } else if (path === '/metrics' && req.method === 'HEAD') {
        await sendExposition(req, res, handlers.metrics);
      } else if (req.method !== 'GET') {
        res.setHeader('allow', 'GET');
        send(res, 405, { error: `method ${req.method} not allowed; use GET` });
      } else if (path === '/metrics') {
        await sendExposition(req, res, handlers.metrics);
      } else if (path === '/v1/status') {
        send(res, 200, await handlers.status());
      } else if (path === '/v1/health') {
        const health = handlers.health();
        send(res, health.ok ? 200 : 503, health);
      } else {
        send(res, 404, { error: `no such endpoint ${shorten(path)}`, endpoints: ['/v1/status', '/v1/health', '/v1/handover', '/metrics'] });
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

  static #handover(req: IncomingMessage, res: ServerResponse, handlers: AdminHandlers): void {
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      send(res, 405, { error: `method ${req.method} not allowed; use GET or POST` });
      return;
    }
    const state = handlers.handoverState();
    if (state === undefined) {
      send(res, 409, { error: 'this agent is stopping already; it cannot hand over' });
      return;
    }
    if (req.method === 'GET') {
      send(res, 200, { pid: process.pid, state });
      return;
    }
    req.resume(); // (a body is not read)
    res.once('finish', () => handlers.handOver());
    send(res, 202, { pid: process.pid, stopping: true, keepPinned: true });
  }

  /** Stops listening (graceful-close.ts) and removes the socket file if it is still ours (not if a new agent took it over). */
  async close(): Promise<void> {
    await closeGracefully(this.#server); // a request in progress is answered first
    try {
      await this.#socket.release();
    } catch (err) {
      this.#logger.warn({ err }, 'could not remove admin socket');
    }
  }
}
