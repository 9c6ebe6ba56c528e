/**
 * The diverter's HTTP client of the ziti source API: over the unix socket, or over TCP with a
 * bearer token. Errors say where the agent was looked for and why it did not answer.
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { AgentAddress } from './parse-diverter-args.js';

// required, not imported: an ESM import of node:http loads node's undici through the module's
// facade, ~50 ms of each diverter call (agent-kernel's node-http.ts says more; this CLI does not
// load agent-kernel)
const { request } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface AgentResponse {
  readonly status: number;
  readonly body: unknown;
}

/** The agent could not be reached (no socket, refused, timed out, not our API). */
export class AgentUnreachableError extends Error {
  constructor(where: string, detail: string) {
    super(`agent not reachable at ${where}: ${detail}`);
    this.name = 'AgentUnreachableError';
  }
}

export interface ResolvedAgent {
  readonly address: AgentAddress;
  /** the token (read from --token-file by the caller) for a URL address */
  readonly token?: string;
}

export function agentLocation(address: AgentAddress): string {
  return address.kind === 'socket' ? address.path : address.url;
}

function explain(code: string | undefined, address: AgentAddress): string {
  switch (code) {
    case 'ENOENT':
      return 'the socket does not exist (is the agent running with a ziti source?)';
    case 'ECONNREFUSED':
      return address.kind === 'socket' ? 'nothing listens on the socket (stale socket: the agent is not running)' : 'connection refused';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (the socket is 0600: run as the agent\'s user, usually root)';
    case 'ENOTSOCK':
      return 'the path is not a socket';
    default:
      return code ?? 'unknown error';
  }
}

function requestOptions(agent: ResolvedAgent, method: string, path: string): RequestOptions {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (agent.token) headers.authorization = `Bearer ${agent.token}`;
  if (agent.address.kind === 'socket') return { socketPath: agent.address.path, path, method, headers };
  const url = new URL(path, agent.address.url);
  return { host: url.hostname, port: url.port || 80, path: url.pathname + url.search, method, headers };
}

/** One request; resolves with any HTTP status, rejects only when the agent cannot be reached. */
export function agentRequest(
  agent: ResolvedAgent,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<AgentResponse> {
  const where = agentLocation(agent.address);
  return new Promise((resolve, reject) => {
    const options = requestOptions(agent, method, path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      options.headers = { ...options.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    }
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new AgentUnreachableError(where, err.message)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        } catch {
          reject(new AgentUnreachableError(where, `the answer (HTTP ${res.statusCode}) is not JSON; is this the bpfsteer ziti API?`));
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new AgentUnreachableError(where, `no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(err instanceof AgentUnreachableError ? err : new AgentUnreachableError(where, explain(err.code, agent.address)));
    });
    req.end(payload);
  });
}

/**
 * Streams NDJSON lines of `path` to `onLine` until the agent ends the stream (resolves) or `signal`
 * aborts (resolves). Rejects when the agent cannot be reached or answers with an error status.
 */
export function agentStream(
  agent: ResolvedAgent,
  path: string,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<{ ended: 'agent' | 'aborted' }> {
  const where = agentLocation(agent.address);
  return new Promise((resolve, reject) => {
    const req = request({ ...requestOptions(agent, 'GET', path), signal }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let message = `HTTP ${res.statusCode}`;
          try {
            message = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { message: string } }).error.message;
          } catch {
            // keep the status
          }
          reject(new Error(message));
        });
        return;
      }
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim()) onLine(line);
        }
      });
      res.on('end', () => resolve({ ended: 'agent' }));
      res.on('error', () => resolve({ ended: signal.aborted ? 'aborted' : 'agent' }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) resolve({ ended: 'aborted' });
      else reject(new AgentUnreachableError(where, explain(err.code, agent.address)));
    });
    req.end();
  });
}
