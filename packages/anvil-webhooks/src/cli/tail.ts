// `deliveries tail`: what changed in the delivery log since the last poll, one line per change.
//
// Each poll reads the newest page of deliveries. A delivery still pending or retrying when newer ones push
// it off that page is watched: a few of them are read one by one each poll (oldest check first) until
// they finish, so a retry that succeeds or fails after a hundred newer deliveries is still shown. Only
// the newest page and the watched deliveries are remembered: a long tail keeps its memory flat.

export interface TailDelivery {
  id: string;
  event_type: string | null;
  status: string;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
}

export interface TailSource {
  /** The newest deliveries, newest first. */
  newest(limit: number): Promise<TailDelivery[]>;
  /** One delivery as it is now; null when it no longer exists. */
  one(id: string): Promise<TailDelivery | null>;
}

export interface TailOptions {
  pageSize?: number;
  /** Watched deliveries read per poll. */
  checksPerPoll?: number;
  /** Watched deliveries at most (the oldest are dropped beyond it). */
  maxWatched?: number;
}

const unfinished = (d: TailDelivery) => d.status === 'pending' || d.status === 'retrying';
const stateOf = (d: TailDelivery) => `${d.status}/${d.attempts}/${d.next_attempt_at ?? ''}`;

export function tailLine(d: TailDelivery, now = new Date()): string {
  const code = d.last_status_code === null ? '' : ` [${d.last_status_code}]`;
  const next = d.next_attempt_at ? `, next attempt ${d.next_attempt_at}` : '';
  return `${now.toISOString().slice(11, 19)}  ${d.id}  ${d.event_type ?? ''}  ${d.status}${code} after ${d.attempts} attempt(s)${next}`;
}

export function createTail(source: TailSource, { pageSize = 50, checksPerPoll = 10, maxWatched = 1000 }: TailOptions = {}) {
  /** Last state shown (or, on the first poll, found) of what is on the newest page or watched. */
  let known = new Map<string, string>();
  /** Unfinished deliveries off the newest page, in the order they are checked. */
  let watched: string[] = [];
  let first = true;

  return {
    /** The deliveries that changed since the previous poll (none on the first: only what happens from now on). */
    async poll(): Promise<TailDelivery[]> {
      const changed: TailDelivery[] = [];
      const note = (d: TailDelivery) => {
        if (known.get(d.id) === stateOf(d)) return;
        known.set(d.id, stateOf(d));
        if (!first) changed.push(d);
      };
      const page = await source.newest(pageSize);
      const onPage = new Set(page.map((d) => d.id));
      for (const d of [...page].reverse()) note(d);

      const checks = watched.filter((id) => !onPage.has(id)).slice(0, checksPerPoll);
      const stillWatched = new Set(watched.filter((id) => !onPage.has(id)));
      for (const id of checks) {
        const d = await source.one(id);
        if (d) note(d);
        if (!d || !unfinished(d)) stillWatched.delete(id);
      }
      // Checked ones go to the back of the line; deliveries that just left the page join it.
      const leftPage = [...known.keys()].filter((id) => !onPage.has(id) && !stillWatched.has(id) && !checks.includes(id));
      const previousUnfinished = leftPage.filter((id) => /^(pending|retrying)\//.test(known.get(id)!));
      watched = [...watched.filter((id) => stillWatched.has(id) && !checks.includes(id)), ...previousUnfinished, ...checks.filter((id) => stillWatched.has(id))];
      if (watched.length > maxWatched) watched = watched.slice(watched.length - maxWatched);

      const keep = new Set([...onPage, ...watched]);
      known = new Map([...known].filter(([id]) => keep.has(id)));
      first = false;
      return changed;
    },
  };
}
