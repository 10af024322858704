// Endpoint management on the real stack: create (201, whsec_ secret of ≥ 24 random bytes, enabled),
// list with cursor paging, get without the secret, PATCH with validation, DELETE (204 then 404), another
// tenant's id is 404; GET …/secret; after POST …/rotate-secret deliveries carry two v1= entries (new
// secret first, old second); POST …/test delivers a synthetic event to that endpoint only; and
// GET /v1/event-types lists the catalog.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, deliveriesStartedFor, startStack, type ApiResponse, type Stack } from '../support/stack';
import { verify } from '../support/docs-snippet';


const CATALOG = [
  'lead.created',
  'lead.score_changed',
  'lead.stage_changed',
  'conversation.started',
  'conversation.handoff',
  'conversation.ended',
  'crawl_task.completed',
  'export.ready',
  'endpoint.disabled',
];
const ENDPOINT_KEYS = ['created_at', 'description', 'disabled_at', 'disabled_reason', 'events', 'filter', 'id', 'signature_scheme', 'status', 'updated_at', 'url'];

let stack: Stack;
const receivers: Receiver[] = [];
before(async () => {
  stack = await startStack();
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

function assertError(res: ApiResponse, status: number, code: string, path?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  if (path !== undefined) {
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path);
    assert.ok(paths.includes(path), `details name ${path}: ${JSON.stringify(res.body.error.details)}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('create: 201 with an ep_ id, a whsec_ secret of at least 24 random bytes, status enabled', async () => {
  const tenant = await createTenant(stack);
  const filter = { 'data.score': { $gte: 80 } };
  const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, {
    url: 'https://hooks.example.com/anvil',
    events: ['lead.created', 'lead.score_changed', 'lead.created'],
    description: 'CRM sync',
    filter,
  });
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys(res.body).sort(), [...ENDPOINT_KEYS, 'secret'].sort());
  assert.match(res.body.id, /^ep_[0-9A-Z]{26}$/);
  assert.equal(res.body.url, 'https://hooks.example.com/anvil');
  assert.deepEqual(res.body.events, ['lead.created', 'lead.score_changed']);
  assert.equal(res.body.description, 'CRM sync');
  assert.deepEqual(res.body.filter, filter);
  assert.equal(res.body.status, 'enabled');
  assert.ok(!Number.isNaN(Date.parse(res.body.created_at)));
  assert.match(res.body.secret, /^whsec_[A-Za-z0-9_-]+$/);
  assert.ok(Buffer.from(res.body.secret.slice('whsec_'.length), 'base64url').length >= 24);
  const second = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'https://hooks.example.com/b', events: ['export.ready'] });
  assert.equal(second.status, 201);
  assert.notEqual(second.body.secret, res.body.secret);
  assert.equal(second.body.description, null);
  assert.equal(second.body.filter, null);
});

void test('list pages with a cursor (limit=2 over 5 endpoints); items carry no secret', async () => {
  const tenant = await createTenant(stack);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: `https://hooks.example.com/${i}`, events: ['lead.created'] });
    ids.push(res.body.id);
  }
  const seen: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const page: ApiResponse = await call(stack, 'GET', `/v1/endpoints?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, tenant.key);
    assert.equal(page.status, 200);
    assert.deepEqual(Object.keys(page.body).sort(), ['data', 'next_cursor']);
    sizes.push(page.body.data.length);
    for (const ep of page.body.data) {
      assert.deepEqual(Object.keys(ep).sort(), ENDPOINT_KEYS);
      seen.push(ep.id);
    }
    cursor = page.body.next_cursor;
  } while (cursor !== null && sizes.length < 10);
  assert.deepEqual(sizes, [2, 2, 1]);
  assert.deepEqual([...seen].sort(), [...ids].sort());
  assert.equal(new Set(seen).size, 5);
  assertError(await call(stack, 'GET', '/v1/endpoints?limit=0', tenant.key), 400, 'validation_error', 'limit');
  assertError(await call(stack, 'GET', '/v1/endpoints?cursor=%21%21', tenant.key), 400, 'validation_error', 'cursor');
});

void test('get has no secret; PATCH updates events, url, status and refuses bad values; DELETE is 204 then 404', async () => {
  const tenant = await createTenant(stack);
  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'https://hooks.example.com/a', events: ['lead.created'] });
  const id = created.body.id as string;
  const got = await call(stack, 'GET', `/v1/endpoints/${id}`, tenant.key);
  assert.equal(got.status, 200);
  assert.deepEqual(Object.keys(got.body).sort(), ENDPOINT_KEYS);
  assert.equal(got.body.id, id);
  assert.ok(!JSON.stringify(got.body).includes(created.body.secret));

  const patched = await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, {
    events: ['export.ready', 'lead.score_changed'],
    url: 'https://hooks.example.com/b',
    status: 'disabled',
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.body.events, ['export.ready', 'lead.score_changed']);
  assert.equal(patched.body.url, 'https://hooks.example.com/b');
  assert.equal(patched.body.status, 'disabled');
  assert.ok(!('secret' in patched.body));
  const again = await call(stack, 'GET', `/v1/endpoints/${id}`, tenant.key);
  assert.deepEqual(
    { events: again.body.events, url: again.body.url, status: again.body.status },
    { events: ['export.ready', 'lead.score_changed'], url: 'https://hooks.example.com/b', status: 'disabled' },
  );
  assert.equal((await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { status: 'enabled' })).body.status, 'enabled');

  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { events: ['lead.nope'] }), 400, 'validation_error', 'events[0]');
  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { events: [] }), 400, 'validation_error', 'events');
  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { url: 'ftp://x.example.com' }), 400, 'validation_error', 'url');
  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { status: 'paused' }), 400, 'validation_error', 'status');
  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, { secret: 'whsec_mine' }), 400, 'validation_error', 'secret');
  assertError(await call(stack, 'PATCH', `/v1/endpoints/${id}`, tenant.key, {}), 400, 'validation_error');
  const unchanged = await call(stack, 'GET', `/v1/endpoints/${id}`, tenant.key);
  assert.equal(unchanged.body.url, 'https://hooks.example.com/b');
  assert.equal(unchanged.body.status, 'enabled');

  const del = await call(stack, 'DELETE', `/v1/endpoints/${id}`, tenant.key);
  assert.equal(del.status, 204);
  assert.equal(del.body, null);
  for (const [method, p] of [
    ['GET', ''],
    ['PATCH', ''],
    ['DELETE', ''],
    ['GET', '/secret'],
  ] as const) {
    assertError(await call(stack, method, `/v1/endpoints/${id}${p}`, tenant.key, method === 'PATCH' ? { status: 'enabled' } : undefined), 404, 'not_found');
  }
  const list = await call(stack, 'GET', '/v1/endpoints', tenant.key);
  assert.deepEqual(list.body.data, []);
});

void test("another tenant's endpoint id is 404 on every route, and left untouched", async () => {
  const owner = await createTenant(stack);
  const intruder = await createTenant(stack);
  const ep = await call(stack, 'POST', '/v1/endpoints', owner.key, { url: 'https://hooks.example.com/o', events: ['lead.created'] });
  const id = ep.body.id as string;
  const attempts: [string, string, unknown][] = [
    ['GET', `/v1/endpoints/${id}`, undefined],
    ['PATCH', `/v1/endpoints/${id}`, { status: 'disabled' }],
    ['DELETE', `/v1/endpoints/${id}`, undefined],
    ['GET', `/v1/endpoints/${id}/secret`, undefined],
    ['POST', `/v1/endpoints/${id}/rotate-secret`, undefined],
    ['POST', `/v1/endpoints/${id}/test`, {}],
  ];
  for (const [method, p, body] of attempts) assertError(await call(stack, method, p, intruder.key, body), 404, 'not_found');
  const still = await call(stack, 'GET', `/v1/endpoints/${id}/secret`, owner.key);
  assert.equal(still.body.secret, ep.body.secret);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${id}`, owner.key)).body.status, 'enabled');
  assert.deepEqual((await call(stack, 'GET', '/v1/endpoints', intruder.key)).body.data, []);
});

void test('GET …/secret; after rotate-secret deliveries carry v1=<new>,v1=<old> and each verifies', async () => {
  const tenant = await createTenant(stack);
  const r = await receiver();
  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: r.url, events: ['lead.created'] });
  const id = created.body.id as string;
  const oldSecret = created.body.secret as string;
  const secret = await call(stack, 'GET', `/v1/endpoints/${id}/secret`, tenant.key);
  assert.equal(secret.status, 200);
  assert.equal(secret.body.secret, oldSecret);

  // Before the rotation: one v1 entry.
  await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 1 } });
  const [before] = await r.waitFor(1);
  assert.match(before!.headers['anvil-signature'] as string, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.equal(verify(before!.rawBody, before!.headers['anvil-signature'] as string, oldSecret), true);

  const rotated = await call(stack, 'POST', `/v1/endpoints/${id}/rotate-secret`, tenant.key);
  assert.ok(rotated.status === 200 || rotated.status === 201, `rotate-secret answered ${rotated.status}`);
  const newSecret = rotated.body.secret as string;
  assert.match(newSecret, /^whsec_/);
  assert.ok(Buffer.from(newSecret.slice('whsec_'.length), 'base64url').length >= 24);
  assert.notEqual(newSecret, oldSecret);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${id}/secret`, tenant.key)).body.secret, newSecret);

  const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 2 } });
  const [, after] = await r.waitFor(2);
  assert.equal(after!.headers['anvil-event-id'], published.body.id);
  const header = after!.headers['anvil-signature'] as string;
  assert.match(header, /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  const [tPart, newest, previous] = header.split(',') as [string, string, string];
  // The docs snippet reads the first entry: the new secret.
  assert.equal(verify(after!.rawBody, header, newSecret), true);
  assert.equal(verify(after!.rawBody, header, oldSecret), false);
  // The second entry is the old secret's.
  assert.equal(verify(after!.rawBody, `${tPart},${previous}`, oldSecret), true);
  assert.equal(verify(after!.rawBody, `${tPart},${newest}`, newSecret), true);
});

void test('POST …/test: 202 {event_id}; a synthetic event reaches that endpoint only', async () => {
  const tenant = await createTenant(stack);
  const [target, bystander] = await Promise.all([receiver(), receiver()]);
  const ep = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: target.url, events: ['lead.score_changed', 'export.ready'] });
  const other = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: bystander.url, events: ['lead.score_changed', 'export.ready'] });
  assert.equal(other.status, 201);

  // No body at all: the type defaults to the endpoint's first subscribed type.
  const res = await call(stack, 'POST', `/v1/endpoints/${ep.body.id as string}/test`, tenant.key);
  assert.equal(res.status, 202);
  assert.deepEqual(Object.keys(res.body), ['event_id']);
  assert.match(res.body.event_id, /^evt_[0-9A-Z]{26}$/);
  const [req] = await target.waitFor(1);
  assert.equal(req!.headers['anvil-event-id'], res.body.event_id);
  assert.equal(verify(req!.rawBody, req!.headers['anvil-signature'] as string, ep.body.secret), true);
  const envelope = JSON.parse(req!.rawBody);
  assert.deepEqual(Object.keys(envelope), ['id', 'type', 'created', 'tenant_id', 'data', 'api_version']);
  assert.equal(envelope.id, res.body.event_id);
  assert.equal(envelope.type, 'lead.score_changed');
  assert.equal(envelope.tenant_id, tenant.id);
  assert.equal(typeof envelope.data, 'object');

  const typed = await call(stack, 'POST', `/v1/endpoints/${ep.body.id as string}/test`, tenant.key, { type: 'export.ready' });
  assert.equal(typed.status, 202);
  const [, second] = await target.waitFor(2);
  assert.equal(JSON.parse(second!.rawBody).type, 'export.ready');
  assertError(await call(stack, 'POST', `/v1/endpoints/${ep.body.id as string}/test`, tenant.key, { type: 'lead.created' }), 400, 'validation_error', 'type');
  assertError(await call(stack, 'POST', `/v1/endpoints/${ep.body.id as string}/test`, tenant.key, { type: 'nope' }), 400, 'validation_error', 'type');

  // The test events fanned out to the one endpoint; the other endpoint subscribed to the same types got nothing.
  for (const eventId of [res.body.event_id as string, typed.body.event_id as string]) {
    assert.deepEqual(await deliveriesStartedFor(stack, eventId), [`${eventId}:${ep.body.id as string}`]);
  }
  await sleep(1500);
  assert.equal(bystander.requests.length, 0);
  assert.equal(target.requests.length, 2);
});

void test('GET /v1/event-types lists the 9 catalog types', async () => {
  const tenant = await createTenant(stack);
  const res = await call(stack, 'GET', '/v1/event-types', tenant.key);
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.body.data.map((t: { name: string }) => t.name),
    CATALOG,
  );
  for (const t of res.body.data as { description: unknown }[]) assert.equal(typeof t.description, 'string');
  assert.equal(res.body.next_cursor, null);
});
