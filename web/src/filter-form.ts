// The Add Endpoint form's "Score threshold" and "Filter" fields, and the one endpoint `filter` the API
// stores. The API's `score_threshold` condition holds only for lead.score_changed events, and conditions
// are ANDed: an endpoint subscribed to other types too would then receive none of them. So when other
// types are selected the form writes the threshold as "score crosses T, or the event is another type",
// which is what a customer means by it; reading an endpoint back recognises both shapes.
// Pure: no DOM, so the unit tests run it in Node.
export const SCORE_CHANGED = 'lead.score_changed';

export type Filter = Record<string, unknown>;

function thresholdCondition(threshold: number, events: readonly string[]): Filter {
  if (events.every((e) => e === SCORE_CHANGED)) return { score_threshold: threshold };
  return { $or: [{ score_threshold: threshold }, { type: { $neq: SCORE_CHANGED } }] };
}

/** The filter to send: the customer's own conditions and the threshold, or null for "every event". */
export function composeFilter(own: Filter | null, threshold: number | null, events: readonly string[]): Filter | null {
  const base = own && Object.keys(own).length > 0 ? own : null;
  if (threshold === null) return base;
  const condition = thresholdCondition(threshold, events);
  if (!base) return condition;
  if (Object.keys(condition).every((k) => !(k in base))) return { ...base, ...condition };
  return { $and: [base, condition] };
}

const isObject = (v: unknown): v is Filter => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The threshold a condition written by `thresholdCondition` holds, else null. */
function thresholdOf(condition: unknown): number | null {
  if (!isObject(condition)) return null;
  const keys = Object.keys(condition);
  if (keys.length === 1 && typeof condition.score_threshold === 'number') return condition.score_threshold;
  const or = condition.$or;
  if (keys.length !== 1 || !Array.isArray(or) || or.length !== 2) return null;
  const [first, second] = or as unknown[];
  const t = isObject(first) && Object.keys(first).length === 1 ? first.score_threshold : undefined;
  const other =
    isObject(second) && Object.keys(second).length === 1 && isObject(second.type) && Object.keys(second.type).length === 1
      ? second.type.$neq
      : undefined;
  return typeof t === 'number' && other === SCORE_CHANGED ? t : null;
}

/** Splits a stored filter back into the form's two fields. */
export function splitFilter(filter: Filter | null): { own: Filter | null; threshold: number | null } {
  if (!filter) return { own: null, threshold: null };
  const orNull = (f: Filter) => (Object.keys(f).length > 0 ? f : null);
  if (typeof filter.score_threshold === 'number') {
    const { score_threshold, ...own } = filter;
    return { own: orNull(own), threshold: score_threshold };
  }
  if (filter.$or !== undefined) {
    const t = thresholdOf({ $or: filter.$or });
    if (t !== null) {
      const { $or: _or, ...own } = filter;
      return { own: orNull(own), threshold: t };
    }
  }
  const and = filter.$and;
  if (Object.keys(filter).length === 1 && Array.isArray(and) && and.length === 2 && isObject(and[0])) {
    const t = thresholdOf(and[1]);
    if (t !== null) return { own: and[0], threshold: t };
  }
  return { own: filter, threshold: null };
}
