// The endpoint rows the API read to resolve an event's targets, kept for that event's first attempt: with
// eager start the first workflow task runs in the same process milliseconds later, and the attempt needs
// the same URL and secrets. When the start could not be eager (every workflow-task slot busy, as under a
// burst) the first task waits in Temporal's queue for seconds: the rows are kept for 30 s so those first
// attempts do not each read PostgreSQL again. Used once, so edits, rotations, disabling and deletion reach
// every later attempt (which reads PostgreSQL); a first attempt uses the endpoint as it was when the event
// was published (a rotation keeps the previous secret signing, and disable/delete cancel by signal).
import type { EndpointForDelivery } from './store';

export const RESOLVED_ENDPOINT_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

export function createEndpointCache(ttlMs = RESOLVED_ENDPOINT_TTL_MS) {
  const entries = new Map<string, { endpoint: EndpointForDelivery; until: number }>();
  return {
    /** Remembers the row read for `eventId`'s target `endpointId`. */
    put(eventId: string, endpointId: string, endpoint: EndpointForDelivery) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(`${eventId}:${endpointId}`, { endpoint, until: Date.now() + ttlMs });
    },
    /** The row for a first attempt, if still fresh; removed either way. */
    take(eventId: string, endpointId: string): EndpointForDelivery | null {
      const key = `${eventId}:${endpointId}`;
      const hit = entries.get(key);
      if (!hit) return null;
      entries.delete(key);
      return hit.until > Date.now() ? hit.endpoint : null;
    },
  };
}

export type EndpointCache = ReturnType<typeof createEndpointCache>;
