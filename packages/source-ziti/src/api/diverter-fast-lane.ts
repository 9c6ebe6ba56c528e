/**
 * The fast lane of POST /v1/diverter on the unix socket: every call an OpenZiti router makes goes
 * through it (native/bpfsteer-diverter.c), one after another under the router's service lock, so
 * what the agent spends before the call runs is paid once per service. The lane answers a
 * well-formed call from the HTTP server's request event, before fastify's routing, hooks, content
 * type parser and validator compiler: measured ~0.2 ms less per call on the project's 2-vCPU
 * machine (bench/diverter-call.bench.mjs), a fifth of the budget of 1 ms over a bare exec.
 *
 * It checks the same things: the body must be JSON (application/json, a content-length, at most
 * FAST_LANE_MAX_BYTES) matching forwardedCallSchema. Anything else (another request, a body it
 * cannot take, one that fails those checks, a listener with a token, an API closing) goes to
 * fastify, untouched or replayed through inject with the body it read, so refusals, errors and
 * their bodies are fastify's own.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { forwardedCallSchema, type ForwardedCall } from '../diverter/forwarded-call.js';

/** Larger bodies (a delete from a router listening on tens of thousands of ports) go through fastify. */
export const FAST_LANE_MAX_BYTES = 1024 * 1024;

const PATH = '/v1/diverter';

/** Runs a checked call and answers it on `res`. */
export type ServeCall = (res: ServerResponse, call: ForwardedCall, authorization: string | undefined) => void;

/** Told of each request the lane answered (itself or replayed): its status and duration. */
export type LaneAnswered = (status: number, seconds: number) => void;

/** The call in `text` when it is one the lane may run: JSON, no prototype keys, matching the schema. */
export function laneCall(text: string): ForwardedCall | undefined {
  // fastify refuses bodies with these keys (onProtoPoisoning / onConstructorPoisoning: 'error')
  if (text.includes('__proto__') || text.includes('constructor')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const checked = forwardedCallSchema.safeParse(value);
  return checked.success ? checked.data : undefined;
}

/** Whether the lane reads this request (else fastify takes it as it comes). */
function lanePicks(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url !== PATH) return false;
  const type = req.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type)) return false;
  const length = Number(req.headers['content-length']);
  return Number.isInteger(length) && length > 0 && length <= FAST_LANE_MAX_BYTES && req.headers['transfer-encoding'] === undefined;
}

/** Answers `req` (whose body the lane read) as fastify does, through inject; resolves to the status. */
async function replay(app: FastifyInstance, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<number> {
  const headers: Record<string, string> = { 'content-type': req.headers['content-type']! };
  if (req.headers.authorization !== undefined) headers.authorization = req.headers.authorization;
  const answer = await app.inject({ method: 'POST', url: PATH, headers, payload: body });
  const { 'content-length': _length, 'transfer-encoding': _encoding, connection: _connection, ...kept } = answer.headers;
  res.writeHead(answer.statusCode, kept as Record<string, string>);
  res.end(answer.rawPayload);
  return answer.statusCode;
}

/**
 * Puts the lane in front of fastify's request handler on `app`'s server. Only for a listener
 * without a token (the unix socket: the native client's only way in); `closing` aborted: every
 * request goes to fastify (which answers 503 then).
 */
export function installDiverterFastLane(app: FastifyInstance, serve: ServeCall, closing: AbortSignal, answered?: LaneAnswered): void {
  const server = app.server;
  const handlers = server.listeners('request') as RequestListener[];
  if (handlers.length !== 1) return; // not the server fastify made: leave it as it is
  const [fastify] = handlers as [RequestListener];
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing.aborted || !lanePicks(req)) return fastify(req, res);
    const start = answered ? performance.now() : 0;
    // at most FAST_LANE_MAX_BYTES: node's parser gives no more than the content-length
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const call = laneCall(body.toString('utf8'));
      if (call !== undefined) {
        // counted once its answer is sent whole, as fastify's onResponse hooks count (not when the client left first)
        if (answered) res.once('finish', () => answered(res.statusCode, (performance.now() - start) / 1000));
        return serve(res, call, req.headers.authorization);
      }
      replay(app, req, body, res).then(
        (status) => answered?.(status, (performance.now() - start) / 1000),
        (err: unknown) => res.destroy(err as Error),
      );
    });
  });
}
