import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { endpointFilterSchema, matchesFilter, FILTER_LIMITS, type EndpointFilter } from '../../domain/filters';

const envelope = {
  id: 'evt_01J0000000000000000000000',
  type: 'lead.score_changed',
  created: '2025-03-10T12:00:00.000Z',
  tenant_id: 'ten_1',
  api_version: '2025-01-01',
  data: {
    score: 85,
    previous_score: 70,
    status: 'open',
    nothing: null,
    flag: false,
    tags: ['hot', 'b2b'],
    lead: { id: 'lead_1', owner: { id: 'usr_9', name: 'Ada' } },
    numeric_string: '85',
  },
};

function scoreEvent(previous: unknown, score: unknown, type = 'lead.score_changed'): unknown {
  return { ...envelope, type, data: { ...envelope.data, previous_score: previous, score } };
}

function issues(input: unknown): { path: PropertyKey[]; message: string }[] {
  const result = endpointFilterSchema.safeParse(input);
  if (result.success) assert.fail(`expected ${JSON.stringify(input)} to be rejected`);
  return result.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
}

function nestAnd(levels: number): unknown {
  // levels = number of filter objects from the top-level down (top-level counts as 1)
  let filter: unknown = { type: 'lead.score_changed' };
  for (let i = 1; i < levels; i++) filter = { $and: [filter] };
  return filter;
}

// ---------------------------------------------------------------------------------------------------
// matchesFilter: empty filters

void test('null, undefined and {} match everything', () => {
  assert.equal(matchesFilter(null, envelope), true);
  assert.equal(matchesFilter(undefined, envelope), true);
  assert.equal(matchesFilter({}, envelope), true);
  assert.equal(matchesFilter({}, 'not even an object'), true);
});

// ---------------------------------------------------------------------------------------------------
// Operators

void test('literal shorthand is $eq', () => {
  assert.equal(matchesFilter({ type: 'lead.score_changed' }, envelope), true);
  assert.equal(matchesFilter({ type: 'lead.created' }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner.id': 'usr_9' }, envelope), true);
  assert.equal(matchesFilter({ 'data.lead.owner.id': 'usr_8' }, envelope), false);
});

void test('$eq and $neq', () => {
  assert.equal(matchesFilter({ 'data.score': { $eq: 85 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $eq: 84 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $neq: 84 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $neq: 85 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.nothing': { $eq: null } }, envelope), true);
  assert.equal(matchesFilter({ 'data.flag': { $eq: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.flag': { $eq: null } }, envelope), false);
});

void test('$gt $gte $lt $lte on numbers', () => {
  assert.equal(matchesFilter({ 'data.score': { $gt: 84 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $gt: 85 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $gte: 85 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $gte: 86 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $lt: 86 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $lt: 85 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $lte: 85 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $lte: 84 } }, envelope), false);
});

void test('ordering operators on strings are lexicographic (ISO dates work)', () => {
  assert.equal(matchesFilter({ created: { $gte: '2025-03-01T00:00:00.000Z' } }, envelope), true);
  assert.equal(matchesFilter({ created: { $gte: '2025-04-01T00:00:00.000Z' } }, envelope), false);
  assert.equal(matchesFilter({ created: { $lt: '2025-03-10T12:00:00.001Z' } }, envelope), true);
  assert.equal(matchesFilter({ 'data.status': { $gt: 'closed' } }, envelope), true);
  assert.equal(matchesFilter({ 'data.status': { $gt: 'z' } }, envelope), false);
  // lexicographic, not numeric
  assert.equal(matchesFilter({ 'data.numeric_string': { $gt: '9' } }, envelope), false);
});

void test('multiple operators on one path must all hold (range)', () => {
  assert.equal(matchesFilter({ 'data.score': { $gte: 80, $lt: 90 } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $gte: 80, $lt: 85 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $gte: 90, $lt: 100 } }, envelope), false);
});

void test('$in and $nin', () => {
  assert.equal(matchesFilter({ 'data.status': { $in: ['open', 'won'] } }, envelope), true);
  assert.equal(matchesFilter({ 'data.status': { $in: ['lost', 'won'] } }, envelope), false);
  assert.equal(matchesFilter({ 'data.status': { $nin: ['lost', 'won'] } }, envelope), true);
  assert.equal(matchesFilter({ 'data.status': { $nin: ['open', 'won'] } }, envelope), false);
  assert.equal(matchesFilter({ type: { $in: ['lead.created', 'lead.score_changed'] } }, envelope), true);
});

void test('$in compares whole values: no implicit array traversal', () => {
  assert.equal(matchesFilter({ 'data.tags': { $in: ['hot'] } }, envelope), false);
  assert.equal(matchesFilter({ 'data.tags': { $in: [['hot', 'b2b']] } }, envelope), true);
  assert.equal(matchesFilter({ 'data.tags': 'hot' }, envelope), false);
  assert.equal(matchesFilter({ 'data.tags.0': 'hot' }, envelope), true);
});

void test('$exists', () => {
  assert.equal(matchesFilter({ 'data.score': { $exists: true } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score': { $exists: false } }, envelope), false);
  assert.equal(matchesFilter({ 'data.missing': { $exists: true } }, envelope), false);
  assert.equal(matchesFilter({ 'data.missing': { $exists: false } }, envelope), true);
  // null is a present value
  assert.equal(matchesFilter({ 'data.nothing': { $exists: true } }, envelope), true);
  // undefined counts as missing
  assert.equal(matchesFilter({ 'data.u': { $exists: false } }, { data: { u: undefined } }), true);
});

// ---------------------------------------------------------------------------------------------------
// Deep equality

void test('deep equality of objects and arrays in $eq, literals and $in', () => {
  const owner = { name: 'Ada', id: 'usr_9' }; // different key order
  assert.equal(matchesFilter({ 'data.lead.owner': owner }, envelope), true);
  assert.equal(matchesFilter({ 'data.lead.owner': { $eq: owner } }, envelope), true);
  assert.equal(matchesFilter({ 'data.lead.owner': { $eq: { id: 'usr_9' } } }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner': { $eq: { id: 'usr_9', name: 'Ada', x: 1 } } }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner': { $eq: { id: 'usr_9', name: 'Bob' } } }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner': { $neq: owner } }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner': { $in: [{ id: 'x' }, owner] } }, envelope), true);
  assert.equal(matchesFilter({ 'data.lead.owner': { $nin: [{ id: 'x' }, owner] } }, envelope), false);
  assert.equal(matchesFilter({ 'data.tags': ['hot', 'b2b'] }, envelope), true);
  assert.equal(matchesFilter({ 'data.tags': ['b2b', 'hot'] }, envelope), false, 'arrays are ordered');
  assert.equal(matchesFilter({ 'data.tags': ['hot'] }, envelope), false);
  assert.equal(matchesFilter({ 'data.lead.owner': ['usr_9', 'Ada'] }, envelope), false, 'array vs object');
});

void test('operator objects need $eq to match an object that has $ keys literally', () => {
  const env = { data: { q: { $gt: 5 } } };
  assert.equal(matchesFilter({ 'data.q': { $eq: { $gt: 5 } } }, env), true);
  // without $eq it is an operator object: {$gt: 5} against an object value does not match
  assert.equal(matchesFilter({ 'data.q': { $gt: 5 } }, env), false);
});

void test('non-JSON envelope values equal nothing', () => {
  const env = { data: { when: new Date(0), n: Number.NaN } };
  assert.equal(matchesFilter({ 'data.when': {} }, env), false);
  assert.equal(matchesFilter({ 'data.when': { $exists: true } }, env), true);
  assert.equal(matchesFilter({ 'data.n': { $gte: 0 } }, env), false);
  assert.equal(matchesFilter({ 'data.n': { $lt: 0 } }, env), false);
});

// ---------------------------------------------------------------------------------------------------
// Missing paths and type mismatches

void test('missing path: only $exists:false, $neq and $nin match', () => {
  const p = 'data.nope.deeper';
  assert.equal(matchesFilter({ [p]: 1 }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $eq: null } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $eq: 1 } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $gt: 0 } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $gte: 0 } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $lt: 0 } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $lte: 0 } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $in: [null, 1] } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $exists: true } }, envelope), false);
  assert.equal(matchesFilter({ [p]: { $neq: 1 } }, envelope), true);
  assert.equal(matchesFilter({ [p]: { $neq: null } }, envelope), true);
  assert.equal(matchesFilter({ [p]: { $nin: [1, 2] } }, envelope), true);
  assert.equal(matchesFilter({ [p]: { $exists: false } }, envelope), true);
});

void test('path resolution: array indexes, out of range, non-index segments, prototype keys, scalars', () => {
  assert.equal(matchesFilter({ 'data.tags.1': 'b2b' }, envelope), true);
  assert.equal(matchesFilter({ 'data.tags.2': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.tags.01': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.tags.length': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.constructor': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.score.value': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ 'data.status.0': { $exists: false } }, envelope), true);
  assert.equal(matchesFilter({ type: { $exists: true } }, null), false);
  assert.equal(matchesFilter({ type: { $exists: false } }, 42), true);
});

void test('type mismatches never match ordering operators or equality', () => {
  assert.equal(matchesFilter({ 'data.numeric_string': { $gte: 80 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.numeric_string': { $lt: 100 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $gte: '80' } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $lt: '9' } }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': '85' }, envelope), false);
  assert.equal(matchesFilter({ 'data.score': { $in: ['85'] } }, envelope), false);
  assert.equal(matchesFilter({ 'data.flag': { $lt: 1 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.nothing': { $gte: 0 } }, envelope), false);
  assert.equal(matchesFilter({ 'data.nothing': { $eq: 0 } }, envelope), false);
});

// ---------------------------------------------------------------------------------------------------
// Combinators

void test('implicit AND across top-level keys', () => {
  assert.equal(matchesFilter({ type: 'lead.score_changed', 'data.score': { $gte: 80 } }, envelope), true);
  assert.equal(matchesFilter({ type: 'lead.score_changed', 'data.score': { $gte: 90 } }, envelope), false);
  assert.equal(matchesFilter({ type: 'lead.created', 'data.score': { $gte: 80 } }, envelope), false);
});

void test('$and and $or', () => {
  const hot: EndpointFilter = { 'data.score': { $gte: 80 } };
  const cold: EndpointFilter = { 'data.score': { $lt: 20 } };
  const open: EndpointFilter = { 'data.status': 'open' };
  assert.equal(matchesFilter({ $and: [hot, open] }, envelope), true);
  assert.equal(matchesFilter({ $and: [hot, cold] }, envelope), false);
  assert.equal(matchesFilter({ $or: [cold, hot] }, envelope), true);
  assert.equal(matchesFilter({ $or: [cold, { 'data.status': 'lost' }] }, envelope), false);
  // nested and combined with sibling keys (implicit AND)
  assert.equal(matchesFilter({ tenant_id: 'ten_1', $or: [cold, { $and: [hot, open] }] }, envelope), true);
  assert.equal(matchesFilter({ tenant_id: 'ten_2', $or: [cold, { $and: [hot, open] }] }, envelope), false);
  assert.equal(matchesFilter({ $and: [{}] }, envelope), true);
});

void test('fails closed on malformed filters instead of throwing', () => {
  const bad = (f: unknown) => matchesFilter(f as EndpointFilter, envelope);
  assert.equal(bad({ 'data.score': { $regex: '.*' } }), false);
  assert.equal(bad({ 'data.score': { $gte: 80, extra: 1 } }), false);
  assert.equal(bad({ 'data.score': { $in: 85 } }), false);
  assert.equal(bad({ 'data.score': { $nin: 1 } }), false);
  assert.equal(bad({ 'data.score': { $exists: 'yes' } }), false);
  assert.equal(bad({ $and: [] }), false);
  assert.equal(bad({ $or: 'x' }), false);
  assert.equal(bad({ $not: { type: 'x' } }), false);
  assert.equal(bad('type=lead.created'), false);
  assert.equal(bad(nestAnd(6)), false, 'too deep');
  assert.equal(bad(nestAnd(5)), true);
  const throwing = {
    get data(): unknown {
      throw new Error('boom');
    },
  };
  // the envelope's getter throws; evaluation returns false instead of propagating
  assert.equal(matchesFilter({ 'data.x': { $exists: false } }, throwing), false);
});

// ---------------------------------------------------------------------------------------------------
// score_threshold

void test('score_threshold: upward crossing', () => {
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(70, 85)), true);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(79, 80)), true, 'landing exactly on T');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(79.5, 80)), true);
});

void test('score_threshold: downward crossing', () => {
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(85, 70)), true);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(80, 79)), true, 'leaving T downward');
});

void test('score_threshold: no crossing', () => {
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(85, 90)), false, 'both above');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(80, 85)), false, 'from exactly T upward');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(60, 70)), false, 'both below');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(79, 79.9)), false, 'below, approaching');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(85, 85)), false, 'equal to previous (above)');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(80, 80)), false, 'equal to previous (at T)');
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(70, 70)), false, 'equal to previous (below)');
});

void test('score_threshold: wrong event type or non-numeric scores never match', () => {
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(70, 85, 'lead.created')), false);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent('70', 85)), false);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(70, '85')), false);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(null, 85)), false);
  assert.equal(matchesFilter({ score_threshold: 80 }, { type: 'lead.score_changed', data: { score: 85 } }), false);
  assert.equal(matchesFilter({ score_threshold: 80 }, scoreEvent(Number.NaN, 85)), false);
  // a malformed threshold fails closed
  assert.equal(matchesFilter({ score_threshold: '80' } as unknown as EndpointFilter, scoreEvent(70, 85)), false);
});

void test('score_threshold combines with other conditions and $or', () => {
  assert.equal(matchesFilter({ score_threshold: 80, tenant_id: 'ten_1' }, scoreEvent(70, 85)), true);
  assert.equal(matchesFilter({ score_threshold: 80, tenant_id: 'ten_2' }, scoreEvent(70, 85)), false);
  const orOtherTypes: EndpointFilter = {
    $or: [{ score_threshold: 80 }, { type: { $neq: 'lead.score_changed' } }],
  };
  assert.equal(matchesFilter(orOtherTypes, scoreEvent(70, 85, 'lead.created')), true);
  assert.equal(matchesFilter(orOtherTypes, scoreEvent(70, 75)), false);
  assert.equal(matchesFilter(orOtherTypes, scoreEvent(70, 85)), true);
});

// ---------------------------------------------------------------------------------------------------
// Schema: acceptance

void test('schema accepts valid filters and returns them unchanged', () => {
  const filters: unknown[] = [
    {},
    { 'data.score': { $gte: 80 } },
    { type: 'lead.created', 'data.lead.owner.id': 'usr_9', 'data.tags.0': 'hot' },
    { created: { $gte: '2025-01-01', $lt: '2026-01-01' } },
    { 'data.lead.owner': { id: 'usr_9', name: 'Ada' } },
    { 'data.x': { $eq: { $literal: true } } },
    { 'data.status': { $in: ['open', { a: [1] }], $nin: [null] }, 'data.y': { $exists: false, $neq: 0 } },
    { $and: [{ type: 'a' }, { $or: [{ 'data.a': 1 }, { score_threshold: 80 }] }] },
    { score_threshold: 80 },
    nestAnd(FILTER_LIMITS.maxDepth),
    { 'a.b.c.d.e.f.g.h.i.j': 1 },
    { 'data.x': { $in: Array.from({ length: 100 }, (_, i) => i) } },
  ];
  for (const filter of filters) {
    const result = endpointFilterSchema.safeParse(filter);
    assert.equal(result.success, true, `${JSON.stringify(filter)}: ${JSON.stringify(result.error?.issues)}`);
    assert.deepEqual(result.data, filter);
  }
});

void test('schema composes inside an object schema with prefixed issue paths', () => {
  const endpoint = z.object({ url: z.string(), filter: endpointFilterSchema.nullish() });
  assert.equal(endpoint.safeParse({ url: 'https://x', filter: null }).success, true);
  assert.equal(endpoint.safeParse({ url: 'https://x' }).success, true);
  const bad = endpoint.safeParse({ url: 'https://x', filter: { 'data.score': { $regex: 'x' } } });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues[0]!.path, ['filter', 'data.score', '$regex']);
});

// ---------------------------------------------------------------------------------------------------
// Schema: rejections

void test('unknown path operator: issue at the operator listing allowed operators', () => {
  const found = issues({ 'data.score': { $regex: '^8' } });
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.path, ['data.score', '$regex']);
  assert.match(found[0]!.message, /unknown operator "\$regex"/);
  assert.match(found[0]!.message, /\$eq, \$neq, \$gt, \$gte, \$lt, \$lte, \$in, \$nin, \$exists/);
});

void test('unknown operator inside $and/$or gets a full path', () => {
  const found = issues({ $or: [{ type: 'a' }, { 'data.x': { $gte: 1, $like: 'a' } }] });
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.path, ['$or', 1, 'data.x', '$like']);
});

void test('unknown filter-level operator', () => {
  const found = issues({ $not: { type: 'a' } });
  assert.deepEqual(found[0]!.path, ['$not']);
  assert.match(found[0]!.message, /unknown filter-level operator "\$not"/);
  assert.match(found[0]!.message, /\$and, \$or, score_threshold/);
});

void test('mixing operators and literal keys is rejected', () => {
  const found = issues({ 'data.score': { $gte: 80, max: 90 } });
  assert.deepEqual(found[0]!.path, ['data.score', 'max']);
  assert.match(found[0]!.message, /cannot mix operators and literal fields/);
});

void test('$in / $nin argument errors', () => {
  let found = issues({ 'data.status': { $in: 'open' } });
  assert.deepEqual(found, [{ path: ['data.status', '$in'], message: '"$in" takes an array of values' }]);
  found = issues({ 'data.status': { $nin: [] } });
  assert.deepEqual(found, [{ path: ['data.status', '$nin'], message: '"$nin" takes a non-empty array of values' }]);
  found = issues({ 'data.x': { $in: Array.from({ length: 101 }, (_, i) => i) } });
  assert.deepEqual(found[0]!.path, ['data.x', '$in']);
  assert.match(found[0]!.message, /at most 100 values; got 101/);
  found = issues({ 'data.x': { $in: [1, () => 1] } });
  assert.deepEqual(found[0]!.path, ['data.x', '$in', 1]);
  assert.match(found[0]!.message, /JSON value/);
});

void test('ordering, $exists and score_threshold argument errors', () => {
  let found = issues({ 'data.score': { $gt: true } });
  assert.deepEqual(found, [{ path: ['data.score', '$gt'], message: '"$gt" takes a finite number or a string' }]);
  found = issues({ 'data.score': { $lte: Number.POSITIVE_INFINITY } });
  assert.deepEqual(found[0]!.path, ['data.score', '$lte']);
  found = issues({ 'data.score': { $lt: [1] } });
  assert.deepEqual(found[0]!.path, ['data.score', '$lt']);
  found = issues({ 'data.score': { $exists: 1 } });
  assert.deepEqual(found, [{ path: ['data.score', '$exists'], message: '"$exists" takes true or false' }]);
  found = issues({ score_threshold: '80' });
  assert.deepEqual(found, [{ path: ['score_threshold'], message: 'score_threshold must be a finite number' }]);
  found = issues({ $and: [{ score_threshold: Number.NaN }] });
  assert.deepEqual(found[0]!.path, ['$and', 0, 'score_threshold']);
});

void test('$and / $or shape errors', () => {
  let found = issues({ $and: [] });
  assert.deepEqual(found, [{ path: ['$and'], message: '"$and" takes a non-empty array of filter objects' }]);
  found = issues({ $or: { type: 'a' } });
  assert.deepEqual(found[0]!.path, ['$or']);
  found = issues({ $or: [{ type: 'a' }, 'type=b'] });
  assert.deepEqual(found[0]!.path, ['$or', 1]);
  assert.match(found[0]!.message, /must be an object of conditions/);
});

void test('non-object filters and bad paths are rejected', () => {
  for (const input of [null, 'x', 42, [], [{ type: 'a' }]]) {
    const found = issues(input);
    assert.deepEqual(found[0]!.path, []);
    assert.match(found[0]!.message, /must be an object of conditions/);
  }
  let found = issues({ 'data..score': 1 });
  assert.deepEqual(found[0]!.path, ['data..score']);
  assert.match(found[0]!.message, /non-empty dot-separated segments/);
  found = issues({ '': 1 });
  assert.deepEqual(found[0]!.path, ['']);
  found = issues({ 'data.when': new Date(0) });
  assert.deepEqual(found[0]!.path, ['data.when']);
  assert.match(found[0]!.message, /JSON value/);
});

// ---------------------------------------------------------------------------------------------------
// Schema: limits

void test('limit: nesting depth', () => {
  assert.equal(endpointFilterSchema.safeParse(nestAnd(5)).success, true);
  const found = issues(nestAnd(6));
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.path, ['$and', 0, '$and', 0, '$and', 0, '$and', 0, '$and', 0]);
  assert.match(found[0]!.message, /nesting depth limit exceeded.*5 levels/);
});

void test('limit: total conditions', () => {
  const fifty: Record<string, unknown> = {};
  for (let i = 0; i < 50; i++) fifty[`d.f${i}`] = i;
  assert.equal(endpointFilterSchema.safeParse(fifty).success, true);

  const found = issues({ ...fifty, 'd.extra': { $gte: 1, $lte: 2 } });
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.path, []);
  assert.match(found[0]!.message, /condition limit exceeded: 52 conditions; the limit is 50/);

  // conditions inside $and/$or count too
  const nested = { $or: [fifty, { score_threshold: 1 }] };
  assert.match(issues(nested)[0]!.message, /condition limit exceeded: 51 conditions/);
});

void test('limit: path segments', () => {
  const found = issues({ 'a.b.c.d.e.f.g.h.i.j.k': 1 });
  assert.deepEqual(found, [
    { path: ['a.b.c.d.e.f.g.h.i.j.k'], message: 'path "a.b.c.d.e.f.g.h.i.j.k" has 11 segments; the limit is 10 path segments' },
  ]);
});

void test('limit: serialized size 4 KB', () => {
  const fits = { 'data.s': 'x'.repeat(4096 - JSON.stringify({ 'data.s': '' }).length) };
  assert.equal(JSON.stringify(fits).length, 4096);
  assert.equal(endpointFilterSchema.safeParse(fits).success, true);

  const tooBig = { 'data.s': 'x'.repeat(5000) };
  const found = issues(tooBig);
  assert.equal(found.length, 1);
  assert.deepEqual(found[0]!.path, []);
  assert.match(found[0]!.message, /filter size limit exceeded: 5013 bytes serialized; the limit is 4096 bytes/);

  // bytes, not characters: 2000 two-byte characters exceed the limit
  assert.match(issues({ 'data.s': 'é'.repeat(2100) })[0]!.message, /size limit exceeded/);
});

void test('non-serializable filters are rejected, not thrown', () => {
  const cyclic: Record<string, unknown> = { type: 'a' };
  cyclic.self = cyclic;
  const found = issues(cyclic);
  assert.deepEqual(found, [{ path: [], message: 'filter must be JSON-serializable' }]);
});
