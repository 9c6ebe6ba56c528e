/**
 * The API's application/json body parser. Ordinary bodies go to fastify's own parser
 * (secure-json-parse: `__proto__` and `constructor.prototype` keys refused). A large body (a batch
 * of many rules) is kept as the chunks it arrived in, decoded one by one, and parsed in slices that
 * yield to the event loop (parseJsonInSlices): it is never one 16 MB string (fastify's reader joins
 * and decodes the whole body in one step), so the health endpoint and the agent's other sockets
 * keep answering while it is read. A large body that may hold a poisoning key (or an escape that
 * could spell one), or one the slices cannot take, goes to fastify's parser whole: errors are
 * always fastify's.
 *
 * The body is read as fastify reads it: larger than the body limit (announced or received) is
 * FST_ERR_CTP_BODY_TOO_LARGE, a length other than the announced one is
 * FST_ERR_CTP_INVALID_CONTENT_LENGTH, a stream error is a 400.
 */
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { parseJsonInSlices, SLICE_PARSE_MIN } from '../parse-json-in-slices.js';
import { NotAFastBatch, type BatchBodyConverter } from './fast-validation.js';

/** A route's `config` may name a converter of its large bodies (see BatchBodyConverter). */
export interface BodyConverterConfig {
  readonly bodyConverter?: () => BatchBodyConverter;
}

const POISON = ['__proto__', 'constructor', '\\u'];
/** Characters of the previous chunk kept to find a key cut between two chunks. */
const OVERLAP = 16;

/**
 * Whether secure-json-parse might find a poisoning key in `chunk` (or cut between it and the
 * previous one). Checked as each chunk arrives: over a 16 MB body at once it was one ~10 ms step.
 */
function mayHoldPoisoningKey(previous: string | undefined, chunk: string): boolean {
  const seam = previous === undefined ? '' : previous.slice(-OVERLAP) + chunk.slice(0, OVERLAP);
  return POISON.some((p) => chunk.includes(p) || seam.includes(p));
}

/** The body as decoded chunks, checked against the limit and the announced length as fastify checks them. */
function readChunks(payload: IncomingMessage, limit: number, announced: number): Promise<{ chunks: string[]; length: number; poison: boolean }> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    const chunks: string[] = [];
    let received = 0;
    let length = 0;
    let poison = false;
    const keep = (text: string): void => {
      if (!poison) poison = mayHoldPoisoningKey(chunks.at(-1), text);
      chunks.push(text);
      length += text.length;
    };
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limit) {
        stop();
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      const text = decoder.write(bytes); // a character cut between two chunks waits for the next
      if (text) keep(text);
    };
    const onEnd = (err?: Error & { statusCode?: number }): void => {
      stop();
      if (err != null) {
        if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
        reject(err);
        return;
      }
      if (!Number.isNaN(announced) && received !== announced) {
        reject(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      const rest = decoder.end();
      if (rest) keep(rest);
      resolve({ chunks, length, poison });
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  });
}

export function installJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  const secure = app.getDefaultJsonParser('error', 'error');
  const parseWhole = (request: FastifyRequest, text: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      secure(request, text, (err, value) => (err ? reject(err) : resolve(value)));
    });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', async (request: FastifyRequest, payload: IncomingMessage) => {
    const limit = request.routeOptions.bodyLimit ?? bodyLimit;
    const announced = Number(request.headers['content-length']);
    if (announced > limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    const { chunks, length, poison } = await readChunks(payload, limit, announced);
    if (length <= SLICE_PARSE_MIN || poison) return parseWhole(request, chunks.join(''));
    const whole = (text: string): Promise<unknown> => parseWhole(request, text);
    // a route may check and convert its body's elements while they are parsed (the batch route)
    const converter = (request.routeOptions.config as BodyConverterConfig | undefined)?.bodyConverter?.();
    if (converter) {
      try {
        const body = await parseJsonInSlices(chunks, new TimeSlicer(), whole, undefined, converter.convert);
        if (converter.accept(body) || converter.converted === 0) return body; // (nothing converted: the body as it is)
      } catch (err) {
        if (!(err instanceof NotAFastBatch)) throw err;
      }
      // refused or partly converted: parsed again as it is, and checked as usual
    }
    return parseJsonInSlices(chunks, new TimeSlicer(), whole);
  });
}
