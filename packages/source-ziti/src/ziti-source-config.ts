/** The `ziti` source's entry in the agent config. */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { DEFAULT_HTTP_LIMITS } from './api/http-limits.js';
import { interfaceNameSchema } from './api/schemas.js';
import { DEFAULT_ROUTER_RESTART_GRACE_MS, DEFAULT_SOCKET, DEFAULT_SPOOL, DEFAULT_STATE_FILE } from './defaults.js';

export { DEFAULT_ROUTER_RESTART_GRACE_MS, DEFAULT_SOCKET, DEFAULT_SPOOL, DEFAULT_STATE_FILE };

const absolutePath = (what: string) =>
  z
    .string({ error: `${what} must be an absolute path` })
    .refine((p) => isAbsolute(p) && !p.includes('\0'), { error: `${what} must be an absolute path` });

const milliseconds = (what: string) =>
  z.number({ error: `${what} must be a number of milliseconds` }).int().min(1).max(3_600_000);

const httpSchema = z
  .strictObject({
    /** a client must have sent the headers within this (408 and closed otherwise) */
    headersTimeoutMs: milliseconds('http.headersTimeoutMs').default(DEFAULT_HTTP_LIMITS.headersTimeoutMs),
    /** ... and the whole request, body included (a half-sent body is cut off) */
    requestTimeoutMs: milliseconds('http.requestTimeoutMs').default(DEFAULT_HTTP_LIMITS.requestTimeoutMs),
    /** an idle keep-alive connection is closed after this */
    keepAliveTimeoutMs: milliseconds('http.keepAliveTimeoutMs').default(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs),
    /** larger request bodies get 413 */
    maxBodyBytes: z.number().int().min(1024).max(1 << 30).default(DEFAULT_HTTP_LIMITS.maxBodyBytes),
  })
  .refine((h) => h.headersTimeoutMs <= h.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    error: 'http.headersTimeoutMs must not be larger than http.requestTimeoutMs',
  });

export const zitiSourceConfigSchema = z.strictObject({
  /** the unix socket of the API (created 0600; its directory 0700 when created) */
  socket: absolutePath('socket')
    .refine((p) => Buffer.byteLength(p) <= 107, { error: 'socket path is longer than 107 bytes (the unix socket limit)' })
    .default(DEFAULT_SOCKET),
  /** optional TCP listener; requests must carry the bearer token read from tokenFile */
  tcp: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(1).max(65535),
      tokenFile: absolutePath('tcp.tokenFile'),
    })
    .optional(),
  /** where the rules are persisted (written atomically after every commit, read at start) */
  stateFile: absolutePath('stateFile').default(DEFAULT_STATE_FILE),
  /**
   * the directory where the native bpfsteer-diverter client keeps the calls it made while the
   * agent was unreachable; applied in order at start and when asked (created 0700)
   */
  spool: absolutePath('spool').default(DEFAULT_SPOOL),
  /**
   * after an OpenZiti router's restart (its -V through the native client, then its inserts), how
   * long until the rules of services it did not insert again are removed (router-generations.ts);
   * 0: never
   */
  /**
   * the OpenZiti router's config file: pass rules for its own listeners (edge, link, Edge API
   * proxy, web bind points) are kept from it, re-read when it changes (router-config.ts)
   */
  routerConfig: absolutePath('routerConfig').optional(),
  routerRestartGraceMs: z
    .number({ error: 'routerRestartGraceMs must be a number of milliseconds' })
    .int()
    .min(0)
    .max(86_400_000)
    .default(DEFAULT_ROUTER_RESTART_GRACE_MS),
  /** when set, requests may only name these interfaces (others get 422 before reaching the plugin) */
  interfaces: z.array(interfaceNameSchema).min(1).optional(),
  /** time-outs and the body limit of both listeners (unix socket and TCP) */
  http: httpSchema.prefault({}),
});

export type ZitiSourceConfig = z.output<typeof zitiSourceConfigSchema>;
export type ZitiSourceConfigInput = z.input<typeof zitiSourceConfigSchema>;
