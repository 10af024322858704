// The service's REST API as the CLI uses it: JSON in and out, errors turned into one readable sentence.
import type { Settings } from './settings.js';

export class ApiCallError extends Error {
  override name = 'ApiCallError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function apiCall<T>(settings: Settings, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(settings.apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${settings.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ApiCallError(`cannot reach ${settings.apiUrl}: ${causeOf(err)}`, 0);
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const error = (parsed as { error?: { message?: string } } | null)?.error;
    throw new ApiCallError(`${method} ${path}: HTTP ${res.status}${error?.message ? `: ${error.message}` : ''}`, res.status);
  }
  return parsed as T;
}

/** The most useful sentence of a fetch failure (undici hides the system error in `cause`). */
export function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  return e?.cause?.message ?? e?.message ?? String(err);
}
