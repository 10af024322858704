// A client-supplied event id is an idempotency key: the same id with the same payload is the same
// request (200, nothing re-sent); with a different payload it is a mistake the client must hear about
// (409 naming `id`), never a silent 200 for an event that was not the one they meant.
import { isDeepStrictEqual } from 'node:util';
import { ApiError } from './errors';

/** The parts of a published body a client chose (not `created`, which the service stamps). */
const CLIENT_FIELDS = ['type', 'action', 'object', 'data'] as const;

export function assertSamePayload(id: string, stored: Record<string, unknown>, incoming: Record<string, unknown>): void {
  const differing = CLIENT_FIELDS.filter((f) => !isDeepStrictEqual(stored[f] ?? null, JSON.parse(JSON.stringify(incoming[f] ?? null))));
  if (differing.length > 0) {
    throw new ApiError(409, 'id_conflict', `id ${id} was already used for a different payload (${differing.join(', ')} differ)`, [
      { path: 'id', message: `already used with a different ${differing.join(', ')}; use a new id for a new event` },
    ]);
  }
}
