// The one error shape every route uses: {"error": {"code", "message", "details"?: [{"path", "message"}]}}.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';

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
  ) {
    super(message);
  }
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

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Maps every error to the JSON shape; bad input is never a 500. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let apiError: ApiError;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  if (err instanceof ApiError) apiError = err;
  else if (e.type === 'entity.too.large') {
    apiError = new ApiError(413, 'payload_too_large', `request body exceeds the limit of ${e.limit} bytes`, [
      { path: '(body)', message: `larger than ${e.limit} bytes` },
    ]);
  } else if (e.type === 'entity.parse.failed') {
    apiError = new ApiError(400, 'invalid_json', `request body is not valid JSON: ${e.message}`, [
      { path: '(body)', message: 'malformed JSON' },
    ]);
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    apiError = new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  } else {
    console.error(`[api] ${req.method} ${req.path} failed:`, err);
    apiError = new ApiError(500, 'internal_error', 'internal error');
  }
  res.status(apiError.status).json({
    error: {
      code: apiError.code,
      message: apiError.message,
      ...(apiError.details ? { details: apiError.details } : {}),
    },
  });
};
