/**
 * Closing what serves clients without cutting a request short, as every API of the agent does
 * (the admin API; a source's API, e.g. the ziti source's fastify): stop accepting, let requests in
 * progress be answered, close idle keep-alive connections, and cut what is left only after
 * CLOSE_GRACE_MS. Closing a listening socket resets the connections still waiting in its backlog,
 * so an agent that hands over first lets the event loop accept and read them (afterLoopTurns).
 */
import type { Server } from 'node:http';

/** How long requests in progress may take to be answered once a server closes (ms). */
export const CLOSE_GRACE_MS = 2000;

/** Resolves after `turns` full turns of the event loop, each with its poll phase (accepts, reads). */
export function afterLoopTurns(turns: number): Promise<void> {
  return new Promise((resolve) => {
    const next = (left: number): void => {
      if (left === 0) resolve();
      else setImmediate(() => next(left - 1));
    };
    next(turns);
  });
}

/** server.close(): no new connections; idle ones closed at once, busy ones once answered or after `graceMs`. */
export function closeGracefully(server: Server, graceMs = CLOSE_GRACE_MS): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
