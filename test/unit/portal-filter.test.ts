// The Add Endpoint form's score threshold and filter, as one endpoint filter and back, checked against
// the filter engine the worker uses: the threshold gates lead.score_changed only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointFilterSchema, matchesFilter } from '../../domain/filters';
import { composeFilter, splitFilter } from '../../web/src/filter-form';

const envelope = (type: string, data: Record<string, unknown>) => ({ id: 'evt_1', type, created: '', tenant_id: 't', data, api_version: '' });

void test('a threshold with only lead.score_changed selected is the plain score_threshold condition', () => {
  const f = composeFilter(null, 80, ['lead.score_changed']);
  assert.deepEqual(f, { score_threshold: 80 });
  assert.deepEqual(splitFilter(f), { own: null, threshold: 80 });
});

void test('with other event types selected, the threshold still lets them through', () => {
  const events = ['lead.created', 'lead.score_changed'];
  const f = endpointFilterSchema.parse(composeFilter(null, 80, events));
  assert.equal(matchesFilter(f, envelope('lead.created', {})), true);
  assert.equal(matchesFilter(f, envelope('lead.score_changed', { previous_score: 70, score: 85 })), true);
  assert.equal(matchesFilter(f, envelope('lead.score_changed', { previous_score: 60, score: 70 })), false);
  assert.deepEqual(splitFilter(f), { own: null, threshold: 80 });
});

void test('the customer’s own conditions are kept beside the threshold, and read back apart', () => {
  const own = { 'data.region': 'EU' };
  const f = endpointFilterSchema.parse(composeFilter(own, 50, ['lead.created', 'lead.score_changed']));
  assert.equal(matchesFilter(f, envelope('lead.created', { region: 'EU' })), true);
  assert.equal(matchesFilter(f, envelope('lead.created', { region: 'US' })), false);
  assert.deepEqual(splitFilter(f), { own, threshold: 50 });

  const withOr = { $or: [{ 'data.a': 1 }, { 'data.b': 2 }] };
  const g = composeFilter(withOr, 50, ['lead.created', 'lead.score_changed'])!;
  assert.ok('$and' in g, 'a colliding $or is combined with $and, not overwritten');
  assert.deepEqual(splitFilter(g), { own: withOr, threshold: 50 });
});

void test('no threshold: the own filter as it is; nothing: null; a filter written elsewhere stays whole', () => {
  assert.equal(composeFilter(null, null, ['lead.created']), null);
  assert.equal(composeFilter({}, null, ['lead.created']), null);
  assert.deepEqual(composeFilter({ 'data.score': { $gte: 80 } }, null, ['lead.created']), { 'data.score': { $gte: 80 } });
  const foreign = { $or: [{ score_threshold: 80 }, { 'data.x': 1 }] };
  assert.deepEqual(splitFilter(foreign), { own: foreign, threshold: null });
  assert.deepEqual(splitFilter(null), { own: null, threshold: null });
});
