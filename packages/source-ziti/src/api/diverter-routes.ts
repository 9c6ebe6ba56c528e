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
import { EXIT_AGENT, type DiverterCalls } from '../diverter/execute-request.js';
import { forwardedCallSchema, runForwardedCall, type ForwardedCall, type RouterWatch } from '../diverter/forwarded-call.js';
import { installDiverterFastLane } from './diverter-fast-lane.js';
import type { ZitiService } from '../ziti-service.js';
import { slowReaderWriter } from './event-stream.js';
import { inProcessCalls } from './in-process-calls.js';
import { errorSchema } from './schemas.js';

/** Why a call's signal aborts: its client closed the connection. */
const CLIENT_GONE = 'the client closed the connection';

const drainSchema = z.strictObject({ draining: z.boolean().meta({ description: 'false: this listener has no spool' }) });

interface ServeContext {
  readonly calls: DiverterCalls;
  readonly spool: DiverterSpool | undefined;
  readonly router: RouterWatch | undefined;
}

/**
 * Runs one forwarded call (already checked against forwardedCallSchema) and streams its output and
 * exit status to `res` as frames: what POST /v1/diverter answers, by its route or its fast lane.
 */
function serveForwardedCall(res: ServerResponse, call: ForwardedCall, { calls, spool, router }: ServeContext): void {
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
    // a change refused for a reason that may pass: the client keeps it (only where kept calls are applied)
    (result) => res.end(result.transient && spool !== undefined ? keepFrame() : exitFrame(result.status)),
    (err: unknown) => res.end(Buffer.concat([stderrFrame(`${String(err)}\n`), exitFrame(EXIT_AGENT)])),
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
}

export function registerDiverterRoutes(app: FastifyInstance, service: ZitiService, { spool, closing, router, fastLane }: DiverterRoutesOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const serve = (res: ServerResponse, call: ForwardedCall, authorization: string | undefined): void =>
    serveForwardedCall(res, call, { calls: inProcessCalls(app, service, { authorization, closing }), spool, router });
  if (fastLane) installDiverterFastLane(app, serve, closing);

  r.post('/v1/diverter', {
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
