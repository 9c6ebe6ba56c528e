/**
 * The agent's Prometheus metrics on a TCP address (agent.metrics.listen), for scrapers that cannot
 * reach the admin socket: `GET /metrics` and nothing else; with agent.metrics.tokenFile, only for
 * requests with `Authorization: Bearer <token>` (Prometheus' `authorization.credentials_file`).
 * `sendExposition` answers /metrics here and on the admin socket.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Exposition } from './agent-metrics.js';
import { bearerMatches, readTokenFile } from './bearer-token.js';
import { AgentError, errorMessage } from './errors.js';
import { closeGracefully } from './graceful-close.js';
import { parseListenAddress } from './listen-address.js';
import { nodeHttp } from './node-http.js';

export interface MetricsServerOptions {
  /** host:port (validated by the config) */
  readonly listen: string;
  readonly tokenFile?: string;
}

/** Answers a scrape with the exposition (HEAD: its headers). */
export async function sendExposition(req: IncomingMessage, res: ServerResponse, metrics: () => Promise<Exposition>): Promise<void> {
  const { contentType, text } = await metrics();
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export class MetricsServer {
  readonly address: string;
  readonly #server: Server;

  private constructor(server: Server, address: string) {
    this.#server = server;
    this.address = address;
  }

  static async listen(options: MetricsServerOptions, metrics: () => Promise<Exposition>, logger: Logger): Promise<MetricsServer> {
    const address = parseListenAddress(options.listen);
    if (address === undefined) throw new AgentError('ERR_METRICS_LISTEN', `metrics: invalid listen address ${JSON.stringify(options.listen)}`);
    const token = options.tokenFile === undefined ? undefined : await readTokenFile(options.tokenFile);
    const server = nodeHttp.createServer((req, res) => {
      void MetricsServer.#route(req, res, token, metrics).catch((err: unknown) => {
        logger.error({ err }, 'metrics request failed');
        if (res.headersSent) res.destroy();
        else sendText(res, 500, `${errorMessage(err)}\n`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new AgentError('ERR_METRICS_LISTEN', `metrics: cannot listen on ${options.listen}: ${errorMessage(err)}`, { cause: err })));
      server.listen({ host: address.host, port: address.port }, resolve);
    });
    server.on('error', (err) => logger.error({ err }, 'metrics server error'));
    const bound = server.address();
    const text = bound !== null && typeof bound === 'object' ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : options.listen;
    logger.info({ address: text, token: token !== undefined }, 'metrics listening');
    return new MetricsServer(server, text);
  }

  static async #route(req: IncomingMessage, res: ServerResponse, token: string | undefined, metrics: () => Promise<Exposition>): Promise<void> {
    req.resume(); // (a body is not read)
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      sendText(res, 401, 'a bearer token is required\n', { 'www-authenticate': 'Bearer' });
    } else if ((req.url ?? '').split('?')[0] !== '/metrics') {
      sendText(res, 404, 'not found; the metrics are at /metrics\n');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, `method ${req.method} not allowed; use GET\n`, { allow: 'GET, HEAD' });
    } else {
      await sendExposition(req, res, metrics);
    }
  }

  async close(): Promise<void> {
    await closeGracefully(this.#server);
  }
}
