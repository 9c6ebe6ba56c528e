/** A client of the agent's admin API over its unix socket. */
import type { Socket } from 'node:net';
import { nodeHttp } from './node-http.js';
import { AgentUnavailableError } from './errors.js';

export interface AdminResponse {
  readonly status: number;
  readonly body: unknown;
}

function explain(code: string | undefined, socketPath: string): string {
  switch (code) {
    case 'ENOENT':
      return 'the socket does not exist (is `bpfsteer run` running?)';
    case 'ECONNREFUSED':
      return 'nothing listens on the socket (stale socket file: the agent is not running)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (the socket is 0600; run as the agent's user, usually root)`;
    case 'ENOTSOCK':
      return `${socketPath} is not a socket`;
    default:
      return code ?? 'unknown error';
  }
}

export interface AdminRequestOptions {
  readonly timeoutMs?: number;
  /** default GET */
  readonly method?: 'GET' | 'POST';
  /** send it on this connection, opened to the agent before (its socket path may lead elsewhere by now) */
  readonly connection?: Socket;
}

/**
 * `path` (e.g. "/v1/status") from the agent listening on `socketPath`. Node's client keeps
 * connections alive: a request sent on a kept connection that the agent closed meanwhile (idle,
 * or the agent stopped after handing over to a new one) fails with ECONNRESET or EPIPE before the
 * agent saw it, and a GET is sent once more on a new connection, as Node's documentation advises (reusedSocket).
 */
export async function adminRequest(socketPath: string, path: string, options: AdminRequestOptions = {}): Promise<AdminResponse> {
  try {
    return await requestOnce(socketPath, path, options);
  } catch (err) {
    if (!(err instanceof ResetOnReusedSocket)) throw err;
    return requestOnce(socketPath, path, options);
  }
}

/** A request sent on a kept-alive connection was reset: nothing reached the agent. */
class ResetOnReusedSocket extends AgentUnavailableError {}

function requestOnce(socketPath: string, path: string, options: AdminRequestOptions): Promise<AdminResponse> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const { connection } = options;
  return new Promise((resolve, reject) => {
    const target = connection ? { createConnection: () => connection } : { socketPath };
    const req = nodeHttp.request({ ...target, path, method: options.method ?? 'GET', headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new AgentUnavailableError(socketPath, err.message, { cause: err })));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        } catch (err) {
          reject(new AgentUnavailableError(socketPath, 'the answer is not JSON', { cause: err }));
        }
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(new AgentUnavailableError(socketPath, `no answer within ${timeoutMs} ms`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AgentUnavailableError) return reject(err);
      // only a GET is sent again: it changes nothing
      const again = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !connection && (options.method ?? 'GET') === 'GET';
      const Failure = again ? ResetOnReusedSocket : AgentUnavailableError;
      reject(new Failure(socketPath, explain(err.code, socketPath), { cause: err }));
    });
    req.end();
  });
}
