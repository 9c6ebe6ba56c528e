/**
 * The diverter's requests answered in-process by this API, for the native client's calls the agent
 * runs itself (diverter-routes.ts, diverter-spool.ts): an insert or a delete (every call a router
 * makes) by the routes' own handlers, anything else through fastify's inject (the same routes,
 * validation, errors and bodies as over the socket); the event stream straight from the service.
 * The inserts and deletes skip HTTP's second trip: the diverter's parser made their bodies (the
 * handlers check them again), and its request passed the listener's token check.
 */
import type { FastifyInstance } from 'fastify';
import { refusal, type DiverterCalls } from '../diverter/execute-request.js';
import type { ZitiService } from '../ziti-service.js';
import { toApiError } from './error-handling.js';
import { eventLine } from './event-stream.js';
import { DEFAULT_HTTP_LIMITS } from './http-limits.js';
import { deleteRule, insertRule } from './rule-routes.js';

/** the requests answered by their route's handler directly */
const direct: Record<string, (service: ZitiService, body: never) => Promise<unknown>> = {
  '/v1/rules': insertRule,
  '/v1/rules/delete': deleteRule,
};

export interface InProcessCallsOptions {
  /** the header of the request that brought the call (the TCP API checks it on each request) */
  readonly authorization?: string;
  /** aborted when the API closes: the event stream ends as the agent's doing */
  readonly closing?: AbortSignal;
}

export function inProcessCalls(app: FastifyInstance, service: ZitiService, { authorization, closing }: InProcessCallsOptions = {}): DiverterCalls {
  return {
    async call(method, path, body) {
      const handler = method === 'POST' ? direct[path] : undefined;
      if (handler !== undefined) {
        try {
          return await handler(service, body as never);
        } catch (err) {
          const error = toApiError(err as Error, DEFAULT_HTTP_LIMITS.maxBodyBytes);
          throw refusal(error.status, error.toBody());
        }
      }
      const response = await app.inject({
        method,
        url: path,
        ...(body !== undefined && { payload: body as object }),
        ...(authorization !== undefined && { headers: { authorization } }),
      });
      const parsed: unknown = response.body ? JSON.parse(response.body) : undefined;
      if (response.statusCode >= 400) throw refusal(response.statusCode, parsed);
      return parsed;
    },
    events(onLine, signal) {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve('client');
        if (closing?.aborted) return resolve('agent');
        const stop = service.watchEvents((event) => {
          const line = eventLine(event);
          if (line) onLine(line.slice(0, -1));
        });
        const end = (by: 'agent' | 'client') => (): void => {
          stop();
          signal.removeEventListener('abort', byClient);
          closing?.removeEventListener('abort', byAgent);
          resolve(by);
        };
        const byClient = end('client');
        const byAgent = end('agent');
        signal.addEventListener('abort', byClient, { once: true });
        closing?.addEventListener('abort', byAgent, { once: true });
      });
    },
  };
}
