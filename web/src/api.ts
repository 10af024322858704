// The public REST API, as the Settings pages call it: every action is the same request a customer's own
// code would make, with the same validation and the same errors.
import { clearSession, currentSession } from './session';

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
  }
}

let sessionEnded: () => void = () => {};
/** Called when the API says the session is over (expired or signed out elsewhere). */
export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = currentSession();
  if (!session) {
    sessionEnded();
    throw new ApiError(401, 'session_expired', 'Your session has ended.');
  }
  let res: Response;
  try {
    res = await fetch(`/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const payload = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; details?: FieldError[] } } | null;
  if (!res.ok) {
    const e = payload?.error;
    if (res.status === 401) {
      clearSession();
      sessionEnded();
    }
    throw new ApiError(res.status, e?.code ?? 'http_error', sentence(e?.message ?? `The server answered ${res.status}.`), e?.details ?? []);
  }
  return payload as T;
}

/** All pages of a list route. */
export async function listAll<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: { data: T[]; next_cursor: string | null } = await api('GET', `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

export const sentence = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * Splits an API error into messages for the form's fields (by the first segment of each detail's path,
 * through `fieldOf`) and one message for the form as a whole.
 */
export function formErrors(
  err: unknown,
  fieldOf: (path: string) => string | null,
): { fields: Record<string, string>; form: string | null } {
  if (!(err instanceof ApiError)) return { fields: {}, form: 'Something went wrong. Try again.' };
  const fields: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const d of err.details) {
    const field = fieldOf(d.path);
    if (field && !fields[field]) fields[field] = sentence(d.message);
    else if (!field) unplaced.push(`${d.path}: ${d.message}`);
  }
  const form = Object.keys(fields).length === 0 ? err.message : unplaced.length > 0 ? sentence(unplaced.join('; ')) : null;
  return { fields, form };
}

/** The first segment of an error path: "filter.data.score" → "filter", "events[0]" → "events". */
export const topField = (path: string) => path.split(/[.[]/)[0] ?? path;

// --- the shapes the pages read ----------------------------------------------------------------------
export interface EventType {
  name: string;
  description: string;
}

export interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  filter: Record<string, unknown> | null;
  status: 'enabled' | 'disabled';
  /** Why a disabled endpoint is off: its deliveries kept failing (it turned itself off), or disabled manually. */
  disabled_reason?: string | null;
  disabled_at?: string | null;
  created_at: string;
  updated_at: string;
}

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'canceled';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['pending', 'retrying', 'succeeded', 'failed', 'canceled'];

export interface DeliverySummary {
  id: string;
  event_id: string | null;
  endpoint_id: string | null;
  event_type: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface Attempt {
  attempt: number;
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  /** Made by Retry now / re-send rather than by the schedule. */
  manual: boolean;
}

export interface DeliveryDetail extends Omit<DeliverySummary, 'attempts'> {
  attempts: Attempt[];
}

export interface WebhookSettings {
  enabled: boolean;
  url: string | null;
  token: string | null;
  public_key: string | null;
}

export interface ObjectUrl {
  type: 'etch-packet' | 'weld-data';
  eid: string;
  url: string;
  updated_at: string;
}
