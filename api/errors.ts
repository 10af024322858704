// The one error shape every route uses: {"error": {"code", "message", "details"?: [{"path", "message"}]}}.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import { log } from '../infra/log';

export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    /** Seconds a client should wait before trying again (429, 503): sent as Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** How long a client should wait when a dependency is down before it tries again. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

// Connection-level failures of PostgreSQL (node errno codes, SQLSTATE class 08, shutdown and start-up,
// too many connections) and of Temporal (gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const PG_UNAVAILABLE = /^(08...|57P0[1-3]|53300)$/;
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is insecure|Connection ended/i;
const GRPC_UNAVAILABLE = new Set([4, 8, 14]);

/** Which dependency an error says is unreachable, if any. */
export function unavailableDependency(err: unknown): 'postgres' | 'temporal' | null {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'number' && GRPC_UNAVAILABLE.has(e.code)) return 'temporal';
    if (e.name === 'ServiceError' && typeof e.message === 'string' && /UNAVAILABLE|DEADLINE_EXCEEDED|No connection established/.test(e.message)) return 'temporal';
    if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || PG_UNAVAILABLE.test(e.code))) return 'postgres';
    if (typeof e.message === 'string' && PG_MESSAGES.test(e.message)) return 'postgres';
    if (e instanceof AggregateError && e.errors.length > 0) return unavailableDependency(e.errors[0]);
    e = e.cause as typeof e;
  }
  return null;
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

function issuePath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(body)';
}

export function validationError(issues: z.core.$ZodIssue[], where = 'request body'): ApiError {
  const details = issues.map((i) => ({
    path: i.code === 'unrecognized_keys' ? i.keys.join(', ') : issuePath(i.path),
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
  const first = details[0];
  const message = first ? `invalid ${where}: ${first.path}: ${first.message}` : `invalid ${where}`;
  return new ApiError(400, 'validation_error', message, details);
}

/** Parses with a zod schema or throws a 400 that names each failing field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where?: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error.issues, where);
  return result.data;
}

/** Parses one named value (a path or query parameter) or throws a 400 naming it. */
export function parseField<T extends z.ZodType>(schema: T, value: unknown, field: string, where = 'request'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error.issues.map((i) => ({ ...i, path: [field, ...i.path] })), where);
  return result.data;
}

/**
 * An id from the path, checked by its shape before any query. An id that cannot exist is not found (404,
 * as an unknown well-formed id is), with the rule it breaks named under `id`.
 */
export function parsePathId<T extends z.ZodType<string>>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError(404, 'not_found', `${what} not found: the id is malformed`, [
      { path: 'id', message: result.error.issues[0]?.message ?? 'malformed' },
    ]);
  }
  return result.data;
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Maps every error to the JSON shape; bad input is never a 500, a dependency that is down a 503. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let apiError: ApiError;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  const down = err instanceof ApiError ? null : unavailableDependency(err);
  if (err instanceof ApiError) apiError = err;
  else if (down) {
    log().warn({ dependency: down, err: { message: e.message } }, `${req.method} ${req.path}: ${down} unavailable`);
    apiError = new ApiError(
      503,
      `${down}_unavailable`,
      `${down === 'postgres' ? 'the database' : 'Temporal'} is unavailable; retry later`,
      undefined,
      DEPENDENCY_RETRY_AFTER_SECONDS,
    );
  }
  else if (e.type === 'entity.too.large') {
    apiError = new ApiError(413, 'payload_too_large', `request body exceeds the limit of ${e.limit} bytes`, [
      { path: '(body)', message: `larger than ${e.limit} bytes` },
    ]);
  } else if (e.type === 'entity.parse.failed') {
    apiError = new ApiError(400, 'invalid_json', `request body is not valid JSON: ${e.message}`, [
      { path: '(body)', message: 'malformed JSON' },
    ]);
  } else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    apiError = new ApiError(415, 'unsupported_encoding', e.message ?? 'unsupported content encoding', [
      { path: '(body)', message: 'send UTF-8 JSON, optionally gzip or deflate encoded' },
    ]);
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    apiError = new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  } else {
    log().error({ err }, `${req.method} ${req.path} failed`);
    apiError = new ApiError(500, 'internal_error', 'internal error');
  }
  if (res.headersSent) return;
  if (apiError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(apiError.retryAfterSeconds));
  res.status(apiError.status).json({
    error: {
      code: apiError.code,
      message: apiError.message,
      ...(apiError.details ? { details: apiError.details } : {}),
    },
  });
};
