/**
 * Endpoint filters: decide whether an Events API endpoint receives an event envelope
 * `{id, type, created, tenant_id, data, api_version}`.
 *
 * Grammar (Mongo-style, but deliberately smaller and stricter):
 *   filter    := { key: condition, ... }            every key must hold (implicit AND); {} matches all
 *   key       := dotted path | "$and" | "$or" | "score_threshold"
 *   path      := segments joined by "." into the envelope: "type", "data.score", "data.lead.owner.id",
 *                "data.tags.0". A segment indexes an array only if it is a canonical integer ("0", "12").
 *                Only own properties of plain objects and elements of arrays are traversed.
 *   condition := literal                            shorthand for { "$eq": literal }
 *              | { "$op": arg, ... }                one or more operators, all must hold
 *   "$and" / "$or": a non-empty array of filters (all / at least one must match).
 *   "score_threshold": a finite number T, see below.
 *
 * A condition object whose keys all start with "$" is an operator object; an object with no "$" keys is
 * a literal (compared by deep equality); mixing both is rejected. To match an object that itself has
 * "$" keys, wrap it: { "$eq": {...} }.
 *
 * Operators:
 *   $eq / $neq     deep equality on JSON values (key order irrelevant, arrays ordered, 1 === 1.0).
 *   $gt $gte $lt $lte   match only when both sides are numbers or both are strings; strings compare
 *                  lexicographically by UTF-16 code unit, so ISO-8601 timestamps in the same format order
 *                  correctly. Any other type pairing (e.g. "80" vs 80) does not match.
 *   $in / $nin     a non-empty array (at most 100 values); value deep-equals one / none of them.
 *                  No implicit array traversal: an array-valued field is compared as a whole.
 *   $exists        true: the path resolves (to any value, including null); false: it does not.
 * Missing path (or one resolving to undefined): `$exists: false`, `$neq` and `$nin` match; every other
 * operator and every literal does not. Unlike MongoDB, `{ "$eq": null }` does NOT match a missing path.
 *
 * score_threshold: T matches only when `type` is "lead.score_changed", `data.previous_score` and
 * `data.score` are both finite numbers, and the score crosses T in either direction:
 * `previous_score < T <= score` (upward) or `score < T <= previous_score` (downward). Choice: for every
 * other event type it does NOT match (it is an ordinary condition under the implicit AND), so an endpoint
 * that wants other events too should say so: { "$or": [ { "score_threshold": 80 },
 * { "type": { "$neq": "lead.score_changed" } } ] }.
 *
 * Values follow the JSON data model. Keys whose value is `undefined` are ignored everywhere, exactly as
 * a JSON round trip would drop them; any other non-JSON value in a filter is rejected by the schema, and
 * non-JSON values in an envelope (Dates, Maps, class instances, NaN...) equal nothing and order with
 * nothing.
 *
 * Limits (so a tenant cannot make evaluation expensive), enforced by `endpointFilterSchema`:
 *   - serialized filter (JSON, UTF-8) at most 4096 bytes;
 *   - nesting depth at most 5 levels of filter objects (top level = 1, each $and/$or element +1);
 *   - at most 50 conditions in total (each literal, each operator and each score_threshold counts 1);
 *   - at most 10 segments per path; $in/$nin at most 100 values.
 *
 * `matchesFilter` never throws and fails closed: anything malformed (unknown operator, non-array $in,
 * excessive nesting, ...) evaluates to false, so an unvalidated filter cannot widen delivery.
 */
import { z } from 'zod';

export type JsonPrimitive = null | boolean | number | string;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

export interface FieldOperators {
  $eq?: JsonValue;
  $neq?: JsonValue;
  $gt?: number | string;
  $gte?: number | string;
  $lt?: number | string;
  $lte?: number | string;
  $in?: JsonValue[];
  $nin?: JsonValue[];
  $exists?: boolean;
}

/** A literal (implicit `$eq`) or an operator object. */
export type FieldCondition = JsonValue | FieldOperators;

export interface EndpointFilter {
  $and?: EndpointFilter[];
  $or?: EndpointFilter[];
  score_threshold?: number;
  [path: string]: FieldCondition | EndpointFilter[] | undefined;
}

export const FILTER_LIMITS = {
  maxDepth: 5,
  maxConditions: 50,
  maxPathSegments: 10,
  maxSerializedBytes: 4096,
  maxListItems: 100,
} as const;

export const FIELD_OPERATORS = ['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists'] as const;

const SCORE_THRESHOLD_KEY = 'score_threshold';
const SCORE_CHANGED_TYPE = 'lead.score_changed';
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

// ---------------------------------------------------------------------------------------------------
// Shared helpers

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Own keys whose value is not undefined (JSON semantics). */
function definedKeys(obj: PlainObject): string[] {
  return Object.keys(obj).filter((key) => obj[key] !== undefined);
}

/** A condition is an operator object when it is a plain object with at least one defined "$" key. */
function isOperatorObject(value: unknown): value is PlainObject {
  return isPlainObject(value) && definedKeys(value).some((key) => key.startsWith('$'));
}

// ---------------------------------------------------------------------------------------------------
// Evaluation

type Resolved = { found: true; value: unknown } | { found: false };
const MISSING: Resolved = { found: false };

function resolvePath(root: unknown, path: string): Resolved {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (segment === '') return MISSING;
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment)) return MISSING;
      const index = Number(segment);
      if (index >= current.length) return MISSING;
      current = current[index];
    } else if (isPlainObject(current)) {
      if (!Object.hasOwn(current, segment)) return MISSING;
      current = current[segment];
    } else {
      return MISSING;
    }
    if (current === undefined) return MISSING;
  }
  return { found: true, value: current };
}

/** Deep equality on JSON values; `b` is the filter side (finite, acyclic), which bounds recursion. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === null || b === null) return a === b;
  if (typeof b === 'number') return typeof a === 'number' && Number.isFinite(a) && a === b;
  if (typeof b === 'string' || typeof b === 'boolean') return a === b;
  if (Array.isArray(b)) {
    if (!Array.isArray(a) || a.length !== b.length) return false;
    for (let i = 0; i < b.length; i++) {
      if (!jsonEqual(a[i], b[i])) return false;
    }
    return true;
  }
  if (isPlainObject(b)) {
    if (!isPlainObject(a)) return false;
    const bKeys = definedKeys(b);
    if (definedKeys(a).length !== bKeys.length) return false;
    for (const key of bKeys) {
      if (!Object.hasOwn(a, key) || !jsonEqual(a[key], b[key])) return false;
    }
    return true;
  }
  return false;
}

/** -1, 0 or 1 when both sides are numbers or both are strings; undefined for any other pairing. */
function compareOrderable(a: unknown, b: unknown): -1 | 0 | 1 | undefined {
  if ((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')) {
    if (a < b) return -1;
    if (a > b) return 1;
    return a === b ? 0 : undefined; // NaN
  }
  return undefined;
}

function evalOperator(op: string, arg: unknown, resolved: Resolved): boolean {
  switch (op) {
    case '$eq':
      return resolved.found && jsonEqual(resolved.value, arg);
    case '$neq':
      return !resolved.found || !jsonEqual(resolved.value, arg);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      if (!resolved.found) return false;
      const cmp = compareOrderable(resolved.value, arg);
      if (cmp === undefined) return false;
      if (op === '$gt') return cmp > 0;
      if (op === '$gte') return cmp >= 0;
      if (op === '$lt') return cmp < 0;
      return cmp <= 0;
    }
    case '$in':
      return Array.isArray(arg) && arg.length > 0 && resolved.found && arg.some((item) => jsonEqual(resolved.value, item));
    case '$nin':
      return Array.isArray(arg) && arg.length > 0 && (!resolved.found || !arg.some((item) => jsonEqual(resolved.value, item)));
    case '$exists':
      return typeof arg === 'boolean' && arg === resolved.found;
    default:
      return false; // unknown operator or a literal key mixed into an operator object: fail closed
  }
}

function evalCondition(envelope: unknown, path: string, condition: unknown): boolean {
  const resolved = resolvePath(envelope, path);
  if (isOperatorObject(condition)) {
    return definedKeys(condition).every((op) => evalOperator(op, condition[op], resolved));
  }
  return resolved.found && jsonEqual(resolved.value, condition);
}

function evalScoreThreshold(envelope: unknown, threshold: unknown): boolean {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) return false;
  const type = resolvePath(envelope, 'type');
  if (!type.found || type.value !== SCORE_CHANGED_TYPE) return false;
  const prev = resolvePath(envelope, 'data.previous_score');
  const score = resolvePath(envelope, 'data.score');
  if (!prev.found || !score.found) return false;
  const p = prev.value;
  const s = score.value;
  if (typeof p !== 'number' || typeof s !== 'number' || !Number.isFinite(p) || !Number.isFinite(s)) return false;
  return (p < threshold && threshold <= s) || (s < threshold && threshold <= p);
}

function evalFilter(filter: unknown, envelope: unknown, level: number): boolean {
  if (level > FILTER_LIMITS.maxDepth || !isPlainObject(filter)) return false;
  for (const key of definedKeys(filter)) {
    const condition = filter[key];
    let ok: boolean;
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition) || condition.length === 0) return false;
      ok =
        key === '$and'
          ? condition.every((sub) => evalFilter(sub, envelope, level + 1))
          : condition.some((sub) => evalFilter(sub, envelope, level + 1));
    } else if (key === SCORE_THRESHOLD_KEY) {
      ok = evalScoreThreshold(envelope, condition);
    } else if (key.startsWith('$')) {
      ok = false;
    } else {
      ok = evalCondition(envelope, key, condition);
    }
    if (!ok) return false;
  }
  return true;
}

/**
 * Whether `envelope` passes `filter`. null, undefined and {} match everything. Never throws: a malformed
 * filter (or an envelope whose property access throws) yields false.
 */
export function matchesFilter(filter: EndpointFilter | null | undefined, envelope: unknown): boolean {
  if (filter === null || filter === undefined) return true;
  try {
    return evalFilter(filter, envelope, 1);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Validation

type IssuePath = (string | number)[];
type Report = (path: IssuePath, message: string) => void;

const FIELD_OPERATOR_LIST = FIELD_OPERATORS.join(', ');
const JSON_VALUE_HINT = 'a JSON value (null, boolean, finite number, string, array or plain object)';

/** Reports every non-JSON value inside `value` (undefined-valued object keys are ignored). */
function checkJsonValue(value: unknown, path: IssuePath, report: Report): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) report(path, `must be ${JSON_VALUE_HINT}; got a non-finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJsonValue(item, [...path, i], report));
    return;
  }
  if (isPlainObject(value)) {
    for (const key of definedKeys(value)) checkJsonValue(value[key], [...path, key], report);
    return;
  }
  report(path, `must be ${JSON_VALUE_HINT}`);
}

function checkPathKey(key: string, path: IssuePath, report: Report): void {
  const segments = key.split('.');
  if (segments.some((segment) => segment === '')) {
    report(path, `path "${key}" must be non-empty dot-separated segments (e.g. "data.score")`);
  }
  if (segments.length > FILTER_LIMITS.maxPathSegments) {
    report(
      path,
      `path "${key}" has ${segments.length} segments; the limit is ${FILTER_LIMITS.maxPathSegments} path segments`,
    );
  }
}

function checkOperator(op: string, arg: unknown, path: IssuePath, report: Report): void {
  switch (op) {
    case '$eq':
    case '$neq':
      checkJsonValue(arg, path, report);
      return;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof arg === 'string') return;
      if (typeof arg === 'number' && Number.isFinite(arg)) return;
      report(path, `"${op}" takes a finite number or a string`);
      return;
    case '$in':
    case '$nin':
      if (!Array.isArray(arg)) {
        report(path, `"${op}" takes an array of values`);
        return;
      }
      if (arg.length === 0) {
        report(path, `"${op}" takes a non-empty array of values`);
        return;
      }
      if (arg.length > FILTER_LIMITS.maxListItems) {
        report(path, `"${op}" takes at most ${FILTER_LIMITS.maxListItems} values; got ${arg.length}`);
        return;
      }
      arg.forEach((item, i) => checkJsonValue(item, [...path, i], report));
      return;
    case '$exists':
      if (typeof arg !== 'boolean') report(path, `"$exists" takes true or false`);
      return;
    default:
      if (op.startsWith('$')) {
        report(
          path,
          `unknown operator "${op}"; allowed operators: ${FIELD_OPERATOR_LIST}` +
            ' ($and and $or combine whole filters at filter level)',
        );
      } else {
        report(
          path,
          `cannot mix operators and literal fields: "${op}" is not an operator; ` +
            `allowed operators: ${FIELD_OPERATOR_LIST} (to match an object literally use {"$eq": {...}})`,
        );
      }
  }
}

interface WalkState {
  conditions: number;
}

function checkFilter(filter: unknown, path: IssuePath, level: number, state: WalkState, report: Report): void {
  if (!isPlainObject(filter)) {
    report(path, 'a filter must be an object of conditions, e.g. {"data.score": {"$gte": 80}}');
    return;
  }
  if (level > FILTER_LIMITS.maxDepth) {
    report(path, `nesting depth limit exceeded: $and/$or may nest at most ${FILTER_LIMITS.maxDepth} levels deep`);
    return;
  }
  for (const key of definedKeys(filter)) {
    const value = filter[key];
    const at = [...path, key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) {
        report(at, `"${key}" takes a non-empty array of filter objects`);
        continue;
      }
      value.forEach((sub, i) => checkFilter(sub, [...at, i], level + 1, state, report));
    } else if (key === SCORE_THRESHOLD_KEY) {
      state.conditions += 1;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        report(at, 'score_threshold must be a finite number');
      }
    } else if (key.startsWith('$')) {
      report(
        at,
        `unknown filter-level operator "${key}"; allowed at filter level: $and, $or, score_threshold or a ` +
          `dotted path; path operators: ${FIELD_OPERATOR_LIST}`,
      );
    } else {
      checkPathKey(key, at, report);
      if (isOperatorObject(value)) {
        for (const op of definedKeys(value)) {
          state.conditions += 1;
          checkOperator(op, value[op], [...at, op], report);
        }
      } else {
        state.conditions += 1;
        checkJsonValue(value, at, report);
      }
    }
  }
}

function serializedBytes(value: unknown): number | undefined {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? undefined : Buffer.byteLength(json, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Validates an endpoint filter. Issues carry the path of the offending key (e.g. ['data.score', '$regex'])
 * and name the violated rule or limit. Parsing returns the input unchanged.
 */
export const endpointFilterSchema = z.custom<EndpointFilter>().superRefine((value, ctx) => {
  const report: Report = (path, message) => ctx.addIssue({ code: 'custom', path, message });
  const bytes = serializedBytes(value);
  if (bytes === undefined) {
    report([], 'filter must be JSON-serializable');
    return;
  }
  if (bytes > FILTER_LIMITS.maxSerializedBytes) {
    report(
      [],
      `filter size limit exceeded: ${bytes} bytes serialized; the limit is ${FILTER_LIMITS.maxSerializedBytes} bytes (4 KB)`,
    );
    return;
  }
  // Stored as jsonb, which cannot hold a NUL character in a key or a string.
  if (JSON.stringify(value).includes('\\u0000')) {
    report([], 'filter must not contain NUL characters');
    return;
  }
  const state: WalkState = { conditions: 0 };
  try {
    checkFilter(value, [], 1, state, report);
  } catch {
    report([], 'filter could not be read');
    return;
  }
  if (state.conditions > FILTER_LIMITS.maxConditions) {
    report(
      [],
      `condition limit exceeded: ${state.conditions} conditions; the limit is ${FILTER_LIMITS.maxConditions} ` +
        '(each literal, operator and score_threshold counts as one)',
    );
  }
});
