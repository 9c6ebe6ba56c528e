/**
 * The native client's endpoints (native/bpfsteer-diverter.c): POST /v1/diverter runs one call
 * (program name and arguments as the router gave them) and streams its output and exit status as
 * frames (diverter-frames.ts); POST /v1/diverter/drain asks the agent to apply the calls kept in
 * the spool (a client that kept one asks at once).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DiverterSpool } from '../diverter-spool.js';
import { exitFrame, FRAMES_CONTENT_TYPE, keepFrame, stderrFrame, stdoutFrame } from '../diverter/diverter-frames.js';
import { EXIT_AGENT, EXIT_OK, EXIT_USAGE, type DiverterCalls } from '../diverter/execute-request.js';
import { forwardedCallSchema, runForwardedCall, type ForwardedCall, type RouterWatch } from '../diverter/forwarded-call.js';
import { installDiverterFastLane } from './diverter-fast-lane.js';
import type { ZitiService } from '../ziti-service.js';
import { slowReaderWriter } from './event-stream.js';
import { inProcessCalls } from './in-process-calls.js';
import { errorSchema } from './schemas.js';
import type { DiverterCallOutcome, ZitiMetrics } from '../ziti-metrics.js';

const DIVERTER_PATH = '/v1/diverter';

/** Why a call's signal aborts: its client closed the connection. */
const CLIENT_GONE = 'the client closed the connection';

const drainSchema = z.strictObject({ draining: z.boolean().meta({ description: 'false: this listener has no spool' }) });

interface ServeContext {
  readonly calls: DiverterCalls;
  readonly spool: DiverterSpool | undefined;
  readonly router: RouterWatch | undefined;
  readonly metrics: ZitiMetrics | undefined;
}

/** A call's outcome as bpfsteer_ziti_diverter_calls_total counts it. */
function callOutcome(status: number, kept: boolean): DiverterCallOutcome {
  if (kept) return 'kept';
  return status === EXIT_OK ? 'ok' : status === EXIT_USAGE ? 'usage' : 'refused';
}

/**
 * Runs one forwarded call (already checked against forwardedCallSchema) and streams its output and
 * exit status to `res` as frames: what POST /v1/diverter answers, by its route or its fast lane.
 */
function serveForwardedCall(res: ServerResponse, call: ForwardedCall, { calls, spool, router, metrics }: ServeContext): void {
  res.writeHead(200, { 'content-type': FRAMES_CONTENT_TYPE, 'cache-control': 'no-store' });
  const gone = new AbortController();
  res.on('close', () => gone.abort(CLIENT_GONE)); // (a reason: abort() makes a DOMException, ~40 µs of each call)
  // a client that reads too slowly (-M) loses output rather than growing the agent's memory
  const bounded = slowReaderWriter(res, (dropped) => stderrFrame(`(${dropped} lines dropped: the client read too slowly)\n`));
  const write = (frame: Buffer): void => {
    if (!gone.signal.aborted) bounded(frame);
  };
  const io = {
    stdout: { write: (text: string) => write(stdoutFrame(text)) },
    stderr: { write: (text: string) => write(stderrFrame(text)) },
    signal: gone.signal,
  };
  runForwardedCall(call, calls, io, router).then(
    (result) => {
      // a change refused for a reason that may pass: the client keeps it (only where kept calls are applied)
      const kept = result.transient && spool !== undefined;
      metrics?.diverterCall(callOutcome(result.status, kept));
      res.end(kept ? keepFrame() : exitFrame(result.status));
    },
    (err: unknown) => {
      metrics?.diverterCall('refused');
      res.end(Buffer.concat([stderrFrame(`${String(err)}\n`), exitFrame(EXIT_AGENT)]));
    },
  );
}

export interface DiverterRoutesOptions {
  readonly spool: DiverterSpool | undefined;
  /** aborted when the API closes (a forwarded -M ends then, exit 1) */
  readonly closing: AbortSignal;
  /** told of a router's -V and inserts */
  readonly router: RouterWatch | undefined;
  /** the calls come in by the fast lane (diverter-fast-lane.ts): the listener has no token */
  readonly fastLane: boolean;
  /** where the calls (and the fast lane's requests) are counted */
  readonly metrics?: ZitiMetrics | undefined;
}

export function registerDiverterRoutes(app: FastifyInstance, service: ZitiService, { spool, closing, router, fastLane, metrics }: DiverterRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const serve = (res: ServerResponse, call: ForwardedCall, authorization: string | undefined): void =>
    serveForwardedCall(res, call, { calls: inProcessCalls(app, service, { authorization, closing }), spool, router, metrics });
  if (fastLane) {
    // the lane's requests never reach fastify's hooks: counted as the unix listener's POST /v1/diverter
    const answered = metrics && ((status: number, seconds: number) => metrics.apiRequest('unix', DIVERTER_PATH, 'POST', status, seconds));
    installDiverterFastLane(app, serve, closing, answered);
  }

  r.post(DIVERTER_PATH, {
    schema: {
      summary: "Run one call of the native bpfsteer-diverter client: its output and exit status as frames ('o <n>\\n', 'e <n>\\n' + n bytes, last 'x <code>\\n')",
      tags: ['diverter'],
      body: forwardedCallSchema,
      response: {
        200: { description: 'frames until the connection closes', content: { [FRAMES_CONTENT_TYPE]: { schema: z.string() } } },
        400: errorSchema,
        401: errorSchema,
      },
    },
    handler: (request, reply) => {
      reply.hijack();
      serve(reply.raw, request.body, request.headers.authorization);
    },
  });

  r.post('/v1/diverter/drain', {
    schema: {
      summary: 'Apply the calls the native client kept while the agent was unreachable (answers at once; they apply in the background)',
      tags: ['diverter'],
      response: { 202: drainSchema, 401: errorSchema },
    },
    handler: async (_request, reply) => {
      void spool?.drain();
      return reply.code(202).send({ draining: spool !== undefined });
    },
  });
}
