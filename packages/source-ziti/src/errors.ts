/**
 * The errors of the ziti source, each with a stable `code` (the style of core-bpf's BpfError and
 * agent-kernel's AgentError). `ApiError` is what an HTTP request is refused with.
 */

export type ZitiErrorCode = 'ERR_ZITI_STATE_FILE' | 'ERR_ZITI_TOKEN_FILE' | 'ERR_ZITI_SOCKET' | 'ERR_ZITI_STOPPED';

/** The source cannot start: unreadable state file, unsafe token file, socket path taken. */
export class ZitiSourceError extends Error {
  readonly code: ZitiErrorCode;
  constructor(code: ZitiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The error codes of the HTTP API, with their status. */
export const apiErrorStatus = {
  /** the request does not match the schema (shape, CIDR, ports, families, action vs. tproxy port) */
  ERR_VALIDATION: 400,
  /** the request cannot be read at all (malformed JSON, empty JSON body, ...) */
  ERR_BAD_REQUEST: 400,
  /** TCP listener only: missing or wrong bearer token */
  ERR_UNAUTHORIZED: 401,
  /** no such endpoint */
  ERR_NOT_FOUND: 404,
  /** a delete names no existing rule (or no rule bound to the named interface) */
  ERR_RULE_NOT_FOUND: 404,
  /** the body is larger than the limit */
  ERR_BODY_TOO_LARGE: 413,
  /** a body that is not application/json */
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  /** the request names an interface outside the source's `interfaces` list */
  ERR_UNKNOWN_INTERFACE: 422,
  /** the agent or the plugin refused the resulting state (e.g. interface not attached, too many rules); nothing changed */
  ERR_REJECTED: 422,
  /** the plugin failed to apply it (kernel error); it kept its previous state */
  ERR_APPLY_FAILED: 500,
  /** applied, but the state file could not be written */
  ERR_PERSIST: 500,
  ERR_INTERNAL: 500,
  /** no running plugin consumes tproxy intents */
  ERR_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof apiErrorStatus;

export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string; readonly details?: unknown };
}

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details?: unknown;
  constructor(code: ApiErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = apiErrorStatus[code];
    this.details = details;
  }

  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details !== undefined && { details: this.details }) } };
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
