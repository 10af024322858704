// One cursor scheme for every list (`{"data": [...], "next_cursor": string|null}`): an opaque string
// holding a position (JSON) and a check over that position and the query it pages, so a cursor made up,
// altered, or reused with other filters or by another tenant is a 400 naming `cursor`, never a query
// with a position nobody issued (Temporal answers an unknown page token with an internal error). The
// check is not a secret: every query carries its tenant anyway.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { ApiError } from './errors';

const invalidCursor = () =>
  new ApiError(400, 'validation_error', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned for this query' }]);

const check = (position: string, scope: string) =>
  createHash('sha256').update(scope).update('\0').update(position).digest().subarray(0, 12).toString('base64url');

export function sealCursor(position: unknown, scope: string): string {
  const encoded = Buffer.from(JSON.stringify(position)).toString('base64url');
  return `${encoded}.${check(encoded, scope)}`;
}

/** The position a cursor holds, checked against the query's scope; null when no cursor was given. */
export function openCursor<T>(cursor: string | undefined, scope: string, isPosition: (v: unknown) => v is T): T | null {
  if (cursor === undefined || cursor === '') return null;
  const [encoded, sum, extra] = cursor.split('.');
  if (!encoded || !sum || extra !== undefined) throw invalidCursor();
  const want = Buffer.from(check(encoded, scope));
  const got = Buffer.from(sum);
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw invalidCursor();
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!isPosition(position)) throw invalidCursor();
  return position;
}

/**
 * Keyset paging by id (`{after: <last id of the page>}`): the id is checked by its shape before any query,
 * since the check above is not a secret and a crafted cursor must not carry a NUL byte to PostgreSQL.
 */
export const afterIdOf =
  (shape: z.ZodType<string>) =>
  (v: unknown): v is { after: string } =>
    shape.safeParse((v as { after?: unknown } | null)?.after).success;

export { invalidCursor };
