/**
 * The HTTP API of the ziti source as a fastify instance (not listening yet): zod validation and
 * serialisation, JSON errors, and (for the TCP listener) a bearer token required on every request;
 * with `openApi`, the OpenAPI document from the route schemas (openapi-document.ts).
 */
import { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { bearerMatches, CLOSE_GRACE_MS, type Logger } from '@bpfsteer/agent-kernel';
import { ApiError } from '../errors.js';
import { packageInfo } from '../version.js';
import type { ZitiService } from '../ziti-service.js';
import type { DiverterSpool } from '../diverter-spool.js';
import type { RouterWatch } from '../diverter/forwarded-call.js';
import { UNMATCHED_ROUTE, type ZitiMetrics } from '../ziti-metrics.js';
import { registerDiverterRoutes } from './diverter-routes.js';
import { installErrorHandling } from './error-handling.js';
import { withFastPath } from './fast-validation.js';
import { withTrustedResponses } from './response-serializer.js';
import { DEFAULT_HTTP_LIMITS, httpServerOptions, type HttpLimits } from './http-limits.js';
import { installJsonBodyParser } from './json-body-parser.js';
import { registerInterfaceRoutes } from './interface-routes.js';
import { registerMetaRoutes } from './meta-routes.js';
import { registerRuleRoutes } from './rule-routes.js';
import { pruneUnusedSchemas } from './prune-schemas.js';
import { apiSchemas } from './schemas.js';

export interface CreateApiOptions {
  readonly service: ZitiService;
  /** absent: fastify logs nothing */
  readonly logger?: Logger;
  /** when set, every request must carry `Authorization: Bearer <token>` */
  readonly token?: string;
  /** time-outs and the body size limit (absent fields: DEFAULT_HTTP_LIMITS) */
  readonly limits?: Partial<HttpLimits>;
  /**
   * Registers @fastify/swagger ahead of the routes, so that `app.swagger()` gives the OpenAPI
   * document (what buildOpenApiDocument uses). Without it the API still serves its document
   * (GET /v1/openapi.json builds it once, with an instance of its own): swagger and the modules it
   * loads (a second `yaml` among them) cost ~40 ms of every agent start before the API listens.
   */
  readonly openApi?: boolean;
  /** the calls the native diverter client kept while the agent was unreachable (POST /v1/diverter/drain) */
  readonly spool?: DiverterSpool;
  /** told of a router's -V and inserts through the native client (router-generations.ts) */
  readonly router?: RouterWatch;
  /** where the requests are counted (ziti-metrics.ts); absent: not counted */
  readonly metrics?: ZitiMetrics;
}

const API_DESCRIPTION = `The API of the bpfsteer ziti source: the tproxy firewall rules an OpenZiti router (or its
diverter CLI, bpfsteer-diverter) inserts and deletes. Served on a unix socket (0600); on TCP only
with a bearer token. Every refused request gets { error: { code, message, details? } }:
400 ERR_VALIDATION / ERR_BAD_REQUEST (the request is malformed or does not match the schema),
401 ERR_UNAUTHORIZED (TCP: bad token), 404 ERR_NOT_FOUND / ERR_RULE_NOT_FOUND,
413 ERR_BODY_TOO_LARGE, 415 ERR_UNSUPPORTED_MEDIA_TYPE,
422 ERR_UNKNOWN_INTERFACE / ERR_REJECTED (well-formed, but the source or the plugin refuses the
resulting state), 500 ERR_APPLY_FAILED / ERR_PERSIST / ERR_INTERNAL, 503 ERR_UNAVAILABLE (no
dataplane). A refused request changes nothing. 409 is not used: inserts are idempotent upserts.`;

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * The zod compilers (with this API's fast paths) from the start, as setValidatorCompiler and
 * setSerializerCompiler would set them: fastify then never loads its default ones, ajv and
 * fast-json-stringify's (~40 ms of every agent start before the API listens). fastify's types
 * describe those defaults only; at run time a factory returns any compiler of a route's schema.
 */
function zodCompilers(): CompilersFactory {
  const validator = withFastPath(validatorCompiler);
  const serializer = withTrustedResponses(serializerCompiler);
  return { buildValidator: () => validator, buildSerializer: () => serializer } as unknown as CompilersFactory;
}

export async function createApi(options: CreateApiOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const bodyLimit = limits.maxBodyBytes;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    // no logger per request: with request logging off, its reqId would match no other line (and
    // making it was ~10 µs of every request)
    childLoggerFactory: (logger) => logger,
    ...httpServerOptions(limits),
    // at close: idle keep-alive connections closed, requests in progress answered (the event streams
    // end at preClose, below; what is left after CLOSE_GRACE_MS is cut)
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    schemaController: { compilersFactory: zodCompilers() },
  }) as unknown as FastifyInstance;
  installErrorHandling(app, bodyLimit);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is a 415
  installJsonBodyParser(app, bodyLimit); // large bodies kept in chunks and parsed in slices
  if (options.openApi) await registerOpenApi(app);

  const token = options.token;
  if (options.metrics) countRequests(app, options.metrics, token === undefined ? 'unix' : 'tcp');
  if (token !== undefined) {
    app.addHook('onRequest', async (request) => {
      if (!bearerMatches(request.headers.authorization, token)) {
        throw new ApiError('ERR_UNAUTHORIZED', 'missing or wrong bearer token; send "Authorization: Bearer <token>"');
      }
    });
  }

  // aborted when the API closes: the streams that never end by themselves (GET /v1/events, a
  // forwarded -M) end then, so the close waits only for requests that do
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS).unref();
    done();
  });
  registerMetaRoutes(app, options.service, closing.signal);
  registerRuleRoutes(app, options.service);
  registerInterfaceRoutes(app, options.service);
  registerDiverterRoutes(app, options.service, {
    spool: options.spool,
    closing: closing.signal,
    router: options.router,
    fastLane: token === undefined,
    metrics: options.metrics,
  });
  return app;
}

/**
 * Counts every request that came in on the listener once answered (401s and 404s too), by its
 * route template. Requests made in-process (fastify's inject: the diverter's and the spool's own
 * calls, the fast lane's replays) are counted by what made them: they have no socket of their own.
 * The fast lane's calls never reach fastify and are counted by the lane (diverter-fast-lane.ts).
 */
function countRequests(app: FastifyInstance, metrics: ZitiMetrics, listener: 'unix' | 'tcp'): void {
  app.addHook('onResponse', (request, reply, done) => {
    if (request.raw.socket instanceof Socket) {
      metrics.apiRequest(listener, request.routeOptions.url ?? UNMATCHED_ROUTE, request.method, reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });
}

/** @fastify/swagger, loaded only here: it documents the routes registered after it. */
async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const { default: fastifySwagger } = await import('@fastify/swagger');
  const toObject = createJsonSchemaTransformObject({ schemaRegistry: apiSchemas });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'bpfsteer ziti source API', version: packageInfo().version, description: API_DESCRIPTION },
      tags: [
        { name: 'rules', description: 'tproxy firewall rules' },
        { name: 'interfaces', description: 'per-interface settings' },
        { name: 'meta', description: 'version, health, events' },
        { name: 'diverter', description: 'the native bpfsteer-diverter client an OpenZiti router runs' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'required on the TCP listener only' },
        },
      },
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
    transformObject: (document) => pruneUnusedSchemas(toObject(document)),
  });
}
