/**
 * The limits of the API's HTTP listeners (unix socket and TCP): how long a client may take to send
 * the headers and the whole request, how long an idle keep-alive connection stays open, and the
 * largest body. A client that stops half-way through a request is cut off (408, connection
 * closed) instead of holding a connection forever. Pure: no I/O.
 */
import type { ServerOptions } from 'node:http';

export interface HttpLimits {
  /** from the connection's first byte (or the previous response) to the end of the headers */
  readonly headersTimeoutMs: number;
  /** to receive the whole request, headers and body (not the time to answer it) */
  readonly requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  readonly keepAliveTimeoutMs: number;
  /** larger bodies get 413 ERR_BODY_TOO_LARGE */
  readonly maxBodyBytes: number;
}

/** The largest request body accepted by default (a batch of ~100,000 rules fits). */
export const BODY_LIMIT = 32 * 1024 * 1024;

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxBodyBytes: BODY_LIMIT,
};

/** The fastify (and node http server) options that enforce `limits`. */
export function httpServerOptions(limits: HttpLimits): {
  bodyLimit: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
  http: ServerOptions;
} {
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not be larger than requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  return {
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: 0, // no idle limit on a connection being answered: GET /v1/events streams for as long as the client reads
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // node checks the two time-outs above only this often (default 30 s): a tenth of the shorter one, 1 s at most
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 10))),
    },
  };
}
