// Opaque cursors for `{"data": [...], "next_cursor": string|null}` lists.
import { ApiError } from './errors';

export const encodeCursor = (value: string) => Buffer.from(value, 'utf8').toString('base64url');

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null;
  const value = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!value || encodeCursor(value) !== cursor) {
    throw new ApiError(400, 'validation_error', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
  }
  return value;
}
