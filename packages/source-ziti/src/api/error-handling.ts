/**
 * Every refused request gets `{ error: { code, message, details? } }` (see apiErrorStatus for the
 * codes): schema failures, fastify's own body errors, refused commits, unknown endpoints.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError, errorMessage } from '../errors.js';

export const ENDPOINTS = [
  'GET /v1/version',
  'GET /v1/health',
  'GET /v1/openapi.json',
  'GET /v1/rules',
  'POST /v1/rules',
  'POST /v1/rules/delete',
  'POST /v1/rules/batch',
  'POST /v1/rules/flush',
  'GET /v1/interfaces',
  'PUT /v1/interfaces/{name}',
  'GET /v1/events',
  'POST /v1/diverter',
  'POST /v1/diverter/drain',
];

interface ValidationIssue {
  instancePath: string;
  message?: string;
}

function pathText(context: string | undefined, instancePath: string): string {
  const inner = instancePath.replace(/^\//, '').replaceAll('/', '.');
  return [context, inner].filter(Boolean).join('.') || '(request)';
}

/** Converts any error thrown while handling a request into an ApiError. */
export function toApiError(err: FastifyError | Error, bodyLimit: number): ApiError {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const issues = (fe.validation as ValidationIssue[]).map((v) => ({
      path: pathText(fe.validationContext, v.instancePath),
      message: v.message ?? 'invalid',
    }));
    const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`);
    const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
    return new ApiError('ERR_VALIDATION', `invalid request: ${shown.join('; ')}${more}`, { issues: issues.slice(0, 100) });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('ERR_BODY_TOO_LARGE', `the body is larger than ${bodyLimit} bytes; split it into several batches`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type; send the body as application/json');
    default:
      break;
  }
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new ApiError('ERR_BODY_TOO_LARGE', `the body is larger than ${bodyLimit} bytes`);
    if (status === 415) return new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type; send the body as application/json');
    return new ApiError('ERR_BAD_REQUEST', `the request cannot be read: ${errorMessage(err)}; send a JSON body (application/json)`);
  }
  return new ApiError('ERR_INTERNAL', `internal error: ${errorMessage(err)}`);
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err, bodyLimit);
    if (apiError.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ code: apiError.code, message: apiError.message }, 'request refused');
    if (apiError.code === 'ERR_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer');
    return reply.code(apiError.status).type('application/json').send(apiError.toBody());
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    const error = new ApiError('ERR_NOT_FOUND', `no endpoint ${request.method} ${path}`, { endpoints: ENDPOINTS });
    return reply.code(404).type('application/json').send(error.toBody());
  });
}
