/**
 * The native client's endpoints (native/bpfsteer-diverter.c): POST /v1/diverter runs one call
 * (program name and arguments as the router gave them) and streams its output and exit status as
 * frames (diverter-frames.ts); POST /v1/diverter/drain asks the agent to apply the calls kept in
 * the spool (a client that kept one asks at once).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DiverterSpool } from '../diverter-spool.js';
import { exitFrame, FRAMES_CONTENT_TYPE, keepFrame, stderrFrame, stdoutFrame } from '../diverter/diverter-frames.js';
import { EXIT_AGENT } from '../diverter/execute-request.js';
import { forwardedCallSchema, runForwardedCall, type RouterWatch } from '../diverter/forwarded-call.js';
import type { ZitiService } from '../ziti-service.js';
import { slowReaderWriter } from './event-stream.js';
import { inProcessCalls } from './in-process-calls.js';
import { errorSchema } from './schemas.js';

/** Why a call's signal aborts: its client closed the connection. */
const CLIENT_GONE = 'the client closed the connection';

const drainSchema = z.strictObject({ draining: z.boolean().meta({ description: 'false: this listener has no spool' }) });

/** `closing`: aborted when the API closes (a forwarded -M ends then, exit 1); `router`: told of a router's -V and inserts. */
export function registerDiverterRoutes(
  app: FastifyInstance,
  service: ZitiService,
  spool: DiverterSpool | undefined,
  closing: AbortSignal,
  router: RouterWatch | undefined,
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

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
      const res = reply.raw;
      res.writeHead(200, { 'content-type': FRAMES_CONTENT_TYPE, 'cache-control': 'no-store' });
      const gone = new AbortController();
      res.on('close', () => gone.abort(CLIENT_GONE)); // (a reason: abort() makes a DOMException, ~40 µs of each call)
      // a client that reads too slowly (-M) loses output rather than growing the agent's memory
      const bounded = slowReaderWriter(res, (dropped) => stderrFrame(`(${dropped} lines dropped: the client read too slowly)\n`));
      const write = (frame: Buffer): void => {
        if (!gone.signal.aborted) bounded(frame);
      };
      const calls = inProcessCalls(app, service, { authorization: request.headers.authorization, closing });
      const io = {
        stdout: { write: (text: string) => write(stdoutFrame(text)) },
        stderr: { write: (text: string) => write(stderrFrame(text)) },
        signal: gone.signal,
      };
      runForwardedCall(request.body, calls, io, router).then(
        // a change refused for a reason that may pass: the client keeps it (only where kept calls are applied)
        (result) => res.end(result.transient && spool !== undefined ? keepFrame() : exitFrame(result.status)),
        (err: unknown) => res.end(Buffer.concat([stderrFrame(`${String(err)}\n`), exitFrame(EXIT_AGENT)])),
      );
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
