/**
 * The diverter's requests answered in-process by this API (fastify's inject: the same routes,
 * validation, errors and bodies as over the socket), for the native client's calls the agent runs
 * itself (diverter-routes.ts, diverter-spool.ts); the event stream straight from the service.
 */
import type { FastifyInstance } from 'fastify';
import { refusal, type DiverterCalls } from '../diverter/execute-request.js';
import type { ZitiService } from '../ziti-service.js';
import { eventLine } from './event-line.js';

export interface InjectedCallsOptions {
  /** the header of the request that brought the call (the TCP API checks it on each request) */
  readonly authorization?: string;
  /** aborted when the API closes: the event stream ends as the agent's doing */
  readonly closing?: AbortSignal;
}

export function injectedCalls(app: FastifyInstance, service: ZitiService, { authorization, closing }: InjectedCallsOptions = {}): DiverterCalls {
  return {
    async call(method, path, body) {
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
