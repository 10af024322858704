// Two facts about an event that Temporal's visibility cannot hold without costing the happy path, kept on
// its `events` row and written behind, in batches:
//   - started_at: the workflow start was acknowledged (idempotency beyond Temporal's retention);
//   - first_attempts: {target: status code} of first attempts that succeeded. A workflow whose every first
//     attempt succeeds completes without writing any per-target state to Temporal (that is what keeps it at
//     2 state transitions and 6 history events), so the delivery log's list reads the code from here.
// Write-behind, because neither fact may slow a delivery down: a batch is one UPDATE, at most every
// FLUSH_MS. If the process dies before a batch is written, the list shows no status code for those
// deliveries (their detail still reads it from the history) and a repeated client id finds the workflow
// already started.
import type { Db } from './db';
import { log as currentLog } from './log';

export const FLUSH_MS = 100;
const MAX_BATCH = 500;

export function createEventFacts(db: Db, onError: (err: Error) => void = (err) => currentLog().warn(`[event-facts] ${err.message}`)) {
  let pending = new Map<string, Record<string, number>>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  const write = async (batch: Map<string, Record<string, number>>) => {
    await db.query(
      `UPDATE events AS e
          SET started_at = COALESCE(e.started_at, now()),
              first_attempts = CASE WHEN v.codes = '{}'::jsonb THEN e.first_attempts
                                    ELSE COALESCE(e.first_attempts, '{}'::jsonb) || v.codes END
         FROM unnest($1::text[], $2::jsonb[]) AS v(id, codes)
        WHERE e.id = v.id`,
      [[...batch.keys()], [...batch.values()].map((codes) => JSON.stringify(codes))],
    );
  };

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size === 0) return writing;
    const batch = pending;
    pending = new Map();
    writing = writing.then(() => write(batch)).catch((err: unknown) => onError(err as Error));
    return writing;
  };

  const note = (eventId: string, codes?: Record<string, number>) => {
    pending.set(eventId, { ...pending.get(eventId), ...codes });
    if (pending.size >= MAX_BATCH) void flush();
    else if (!timer) {
      timer = setTimeout(() => void flush(), FLUSH_MS);
      timer.unref();
    }
  };

  return {
    /** The event's workflow(s) started (or it had no target). */
    started(eventId: string) {
      note(eventId);
    },
    /** A target's first attempt succeeded with this status code. */
    firstAttemptSucceeded(eventId: string, targetId: string, statusCode: number) {
      note(eventId, { [targetId]: statusCode });
    },
    /** Writes what is pending (shutdown, tests). */
    flush,
  };
}

export type EventFacts = ReturnType<typeof createEventFacts>;
