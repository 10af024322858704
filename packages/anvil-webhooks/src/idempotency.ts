// Deliveries are at least once: the same event can arrive again (a retry after a time-out your server
// did not see, a re-send from the delivery log). Its id (`Anvil-Event-Id`, or `webhook-id`) is the same
// every time; run the work once per id.

/** Where processed ids are remembered. The default is this process's memory; pass your own (Redis, SQL). */
export interface IdempotencyStore {
  /** True when `id` was processed. */
  has(id: string): boolean | Promise<boolean>;
  /** Remembers `id` as processed for `ttlMs`. */
  add(id: string, ttlMs: number): void | Promise<void>;
}

/** Anvil retries for up to 72 h, and a delivery can be re-sent later: remember ids for 7 days by default. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_REMEMBERED = 100_000;

export function memoryIdempotencyStore(): IdempotencyStore {
  const ids = new Map<string, number>();
  return {
    has(id) {
      const until = ids.get(id);
      if (until === undefined) return false;
      if (until > Date.now()) return true;
      ids.delete(id);
      return false;
    },
    add(id, ttlMs) {
      if (ids.size >= MAX_REMEMBERED) ids.delete(ids.keys().next().value as string);
      ids.set(id, Date.now() + ttlMs);
    },
  };
}

export interface Once {
  /**
   * Runs `work` unless this event id was already processed (or is being processed right now, in which
   * case it waits for that run). The id is remembered only when `work` succeeds: if it throws, answer
   * non-2xx and the retry runs it again.
   */
  <T>(eventId: string, work: () => T | Promise<T>): Promise<{ duplicate: true } | { duplicate: false; result: T }>;
}

export function createIdempotency(options: { store?: IdempotencyStore; ttlMs?: number } = {}): Once {
  const store = options.store ?? memoryIdempotencyStore();
  const ttl = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  // Runs per id in this process, chained: a second delivery of an id waits for the first, then sees it.
  const running = new Map<string, Promise<unknown>>();
  return <T>(eventId: string, work: () => T | Promise<T>) => {
    if (typeof eventId !== 'string' || eventId === '') {
      return Promise.reject(new TypeError('an event id is required (the Anvil-Event-Id header)'));
    }
    const previous = running.get(eventId);
    const run = (async (): Promise<{ duplicate: true } | { duplicate: false; result: T }> => {
      if (previous) await previous.catch(() => undefined);
      if (await store.has(eventId)) return { duplicate: true };
      const result = await work();
      await store.add(eventId, ttl);
      return { duplicate: false, result };
    })();
    running.set(eventId, run);
    return run.finally(() => {
      if (running.get(eventId) === run) running.delete(eventId);
    });
  };
}
