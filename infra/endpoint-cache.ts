// The endpoint rows the API read to resolve an event's targets, kept a moment for that event's first
// attempt: with eager start the first workflow task runs in the same process milliseconds later, and the
// attempt needs the same URL and secrets. Short-lived and used once, so edits, rotations, disabling and
// deletion reach every later attempt (which reads PostgreSQL).
import type { EndpointForDelivery } from './store';

export const RESOLVED_ENDPOINT_TTL_MS = 2000;
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
