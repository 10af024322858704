// The Events API acceptance list on the real stack (API + worker + Temporal dev server + Postgres +
// loopback receivers): the docs' verification snippet accepts every delivery, headers and the envelope
// are exactly as documented (key order as received), endpoints get only their subscribed types and
// matching filters, a 500, 500, 200 receiver sees three identical bodies and the delivery log shows them,
// a hanging receiver fails the attempt at the 10 s time-out, a re-published id is delivered once, the
// pro plan stops at 20 endpoints, and refused requests start nothing (no event row, no workflow).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver';
import { call, createTenant, deliveriesStartedFor, eventually, startStack, type ApiResponse, type Stack } from '../support/stack';
import { verify } from '../support/docs-snippet';


const VERSION = (JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
const ENVELOPE_KEYS = ['id', 'type', 'created', 'tenant_id', 'data', 'api_version'];
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let stack: Stack;
let secure: Stack;
const receivers: Receiver[] = [];

before(async () => {
  stack = await startStack();
  secure = await startStack({ secure: true, withWorker: false });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
  await secure.close();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

interface Endpoint {
  id: string;
  secret: string;
  url: string;
}

async function createEndpoint(key: string, url: string, events: string[], filter?: unknown): Promise<Endpoint> {
  const res = await call(stack, 'POST', '/v1/endpoints', key, { url, events, ...(filter ? { filter } : {}) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as Endpoint;
}

async function publish(key: string, body: unknown): Promise<ApiResponse> {
  return call(stack, 'POST', '/v1/events', key, body);
}

const fannedOut = (eventId: string) => deliveriesStartedFor(stack, eventId);

async function deliveryDone(tenantKey: string, deliveryId: string) {
  return eventually(
    async () => {
      const res = await call(stack, 'GET', `/v1/deliveries/${deliveryId}`, tenantKey);
      return res.status === 200 && ['succeeded', 'failed', 'canceled'].includes(res.body.status) ? res.body : undefined;
    },
    30_000,
    `delivery ${deliveryId} to finish`,
  );
}

function signatureParts(header: string): { t: number; v1: string[] } {
  const parts = header.split(',').map((p) => p.split('=') as [string, string]);
  assert.equal(parts[0]?.[0], 't', `header starts with t=: ${header}`);
  const rest = parts.slice(1);
  assert.ok(rest.length > 0 && rest.every(([k]) => k === 'v1'), `only v1= entries after t=: ${header}`);
  return { t: Number(parts[0]![1]), v1: rest.map(([, v]) => v) };
}

/** Everything the docs promise about one request on the wire. */
function assertDelivery(req: ReceivedRequest, secret: string, tenantId: string): Record<string, unknown> {
  assert.equal(req.method, 'POST');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['user-agent'], `anvil-webhooks/${VERSION}`);
  const header = req.headers['anvil-signature'];
  assert.equal(typeof header, 'string', 'Anvil-Signature header present');
  assert.equal(verify(req.rawBody, header as string, secret), true, 'the docs snippet verifies the signature');
  const { t } = signatureParts(header as string);
  assert.ok(Math.abs(req.at / 1000 - t) <= 5 * 60, `t=${t} within 5 minutes of the receipt time`);
  const envelope = JSON.parse(req.rawBody) as Record<string, unknown>;
  assert.deepEqual(Object.keys(envelope), ENVELOPE_KEYS, 'envelope keys in the documented order');
  assert.match(envelope.id as string, /^evt_[A-Za-z0-9]{8,64}$/);
  assert.equal(req.headers['anvil-event-id'], envelope.id);
  assert.match(envelope.created as string, ISO_UTC_MS);
  assert.equal(envelope.tenant_id, tenantId);
  assert.equal(typeof envelope.data, 'object');
  assert.equal(envelope.api_version, '2026-01-01');
  return envelope;
}

void test('deliveries verify with the docs snippet, carry the documented headers and envelope, and follow subscriptions and filters', async () => {
  const tenant = await createTenant(stack);
  const other = await createTenant(stack);
  const [all, atLeast80, threshold, conversations, otherTenant] = await Promise.all([
    receiver(),
    receiver(),
    receiver(),
    receiver(),
    receiver(),
  ]);
  const epAll = await createEndpoint(tenant.key, all!.url, ['lead.created', 'lead.score_changed']);
  const epGte = await createEndpoint(tenant.key, atLeast80!.url, ['lead.score_changed'], { 'data.score': { $gte: 80 } });
  const epThreshold = await createEndpoint(tenant.key, threshold!.url, ['lead.score_changed'], { score_threshold: 80 });
  const epConv = await createEndpoint(tenant.key, conversations!.url, ['conversation.started']);
  await createEndpoint(other.key, otherTenant!.url, ['lead.created', 'lead.score_changed', 'conversation.started']);

  // Key order inside data is the publisher's, kept byte for byte.
  const events = [
    { name: 'created', type: 'lead.created', data: { lead_id: 'lead_1', score: 90, name: 'Zoë ✓ "q"' } },
    { name: 'up across 80', type: 'lead.score_changed', data: { score: 85, previous_score: 50, lead_id: 'lead_1' } },
    { name: 'stays above 80', type: 'lead.score_changed', data: { lead_id: 'lead_1', previous_score: 85, score: 90 } },
    { name: 'stays below 80', type: 'lead.score_changed', data: { lead_id: 'lead_1', previous_score: 60, score: 70 } },
    { name: 'down across 80', type: 'lead.score_changed', data: { lead_id: 'lead_1', previous_score: 90, score: 70 } },
    { name: 'conversation', type: 'conversation.started', data: { conversation_id: 'conv_1', z: 1, a: 2 } },
  ];
  const expected: Record<string, Endpoint[]> = {
    created: [epAll],
    'up across 80': [epAll, epGte, epThreshold],
    'stays above 80': [epAll, epGte],
    'stays below 80': [epAll],
    'down across 80': [epAll, epThreshold],
    conversation: [epConv],
  };

  const published = new Map<string, { name: string; envelope: Record<string, unknown> }>();
  for (const e of events) {
    const res = await publish(tenant.key, { type: e.type, data: e.data });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ENVELOPE_KEYS);
    assert.match(res.body.id, /^evt_[0-9A-Z]{26}$/);
    assert.match(res.body.created, ISO_UTC_MS);
    assert.ok(Math.abs(Date.parse(res.body.created) - Date.now()) < 60_000);
    assert.equal(res.body.type, e.type);
    assert.equal(res.body.tenant_id, tenant.id);
    assert.equal(res.body.api_version, '2026-01-01');
    assert.deepEqual(res.body.data, e.data);
    published.set(res.body.id, { name: e.name, envelope: res.body });
  }

  // Each event fans out to exactly the expected endpoints.
  for (const [id, { name }] of published) {
    assert.deepEqual(await fannedOut(id), expected[name]!.map((ep) => `${id}:${ep.id}`).sort(), `targets of "${name}"`);
  }
  const perEndpoint = new Map<string, string[]>();
  for (const [id, { name }] of published) {
    for (const ep of expected[name]!) perEndpoint.set(ep.id, [...(perEndpoint.get(ep.id) ?? []), id]);
  }
  const checks: [Receiver, Endpoint][] = [
    [all!, epAll],
    [atLeast80!, epGte],
    [threshold!, epThreshold],
    [conversations!, epConv],
  ];
  for (const [r, ep] of checks) {
    const want = perEndpoint.get(ep.id)!;
    const got = await r.waitFor(want.length, 30_000);
    for (const req of got) {
      const envelope = assertDelivery(req, ep.secret, tenant.id);
      const sent = published.get(envelope.id as string);
      assert.ok(sent, `${envelope.id as string} was published`);
      // The bytes on the wire are the 202's envelope, same keys in the same order, same values.
      assert.equal(req.rawBody, JSON.stringify(sent.envelope));
      assert.equal(req.path, '/hook');
    }
    assert.deepEqual(got.map((q) => q.headers['anvil-event-id']).sort(), [...want].sort(), `events received by ${ep.id}`);
  }
  for (const id of published.keys()) {
    for (const d of await fannedOut(id)) assert.equal((await deliveryDone(tenant.key, d)).status, 'succeeded');
  }
  // Nothing beyond the expected deliveries arrives, and the other tenant's endpoint gets nothing.
  await new Promise((r) => setTimeout(r, 1000));
  for (const [r, ep] of checks) assert.equal(r.requests.length, perEndpoint.get(ep.id)!.length, `requests at ${ep.id}`);
  assert.equal(otherTenant!.requests.length, 0);
});

void test('a receiver answering 500, 500, 200: three attempts, same bytes and event id, each signed; the log shows them', async () => {
  const tenant = await createTenant(stack);
  const flaky = await receiver((_req, i) => (i < 2 ? { status: 500, body: 'boom' } : { status: 200, body: 'ok' }));
  const ep = await createEndpoint(tenant.key, flaky.url, ['lead.created']);
  const res = await publish(tenant.key, { type: 'lead.created', data: { lead_id: 'lead_flaky' } });
  assert.equal(res.status, 202);
  const eventId = res.body.id as string;
  const deliveryId = `${eventId}:${ep.id}`;

  const got = await flaky.waitFor(3, 30_000);
  assert.equal(new Set(got.map((r) => r.rawBody)).size, 1, 'identical body bytes on every attempt');
  assert.equal(got[0]!.rawBody, JSON.stringify(res.body));
  for (const req of got) {
    assertDelivery(req, ep.secret, tenant.id);
    assert.equal(req.headers['anvil-event-id'], eventId);
  }
  // Each attempt is signed afresh: headers differ exactly when the timestamps differ.
  const headers = got.map((r) => r.headers['anvil-signature'] as string);
  for (let i = 1; i < headers.length; i++) {
    const [a, b] = [signatureParts(headers[i - 1]!), signatureParts(headers[i]!)];
    assert.ok(b.t >= a.t, 'timestamps never go back');
    assert.equal(headers[i] === headers[i - 1], a.t === b.t);
  }

  const detail = await deliveryDone(tenant.key, deliveryId);
  assert.equal(detail.id, deliveryId);
  assert.equal(detail.event_id, eventId);
  assert.equal(detail.endpoint_id, ep.id);
  assert.equal(detail.event_type, 'lead.created');
  assert.equal(detail.status, 'succeeded');
  assert.equal(detail.attempts.length, 3);
  assert.deepEqual(
    detail.attempts.map((a: { attempt: number; status_code: number }) => [a.attempt, a.status_code]),
    [
      [1, 500],
      [2, 500],
      [3, 200],
    ],
  );
  assert.equal(detail.attempts[0].response_excerpt, 'boom');
  assert.equal(detail.last_status_code, 200);
  assert.equal(detail.next_attempt_at, null);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(flaky.requests.length, 3, 'no attempt after the success');
});

void test('a receiver that hangs: the attempt fails at the 10 s time-out and the next one is made', async () => {
  const tenant = await createTenant(stack);
  const slow = await receiver((_req, i) => (i === 0 ? 'hang' : { status: 200 }));
  const ep = await createEndpoint(tenant.key, slow.url, ['export.ready']);
  const res = await publish(tenant.key, { type: 'export.ready', data: { export_id: 'exp_1' } });
  assert.equal(res.status, 202);
  const got = await slow.waitFor(2, 40_000);
  const gap = got[1]!.at - got[0]!.at;
  assert.ok(gap >= 9_500 && gap < 20_000, `second attempt ${gap} ms after the first`);
  const detail = await deliveryDone(tenant.key, `${res.body.id as string}:${ep.id}`);
  assert.equal(detail.status, 'succeeded');
  const [first, second] = detail.attempts as { status_code: number | null; duration_ms: number; error: string | null }[];
  assert.equal(first!.status_code, null);
  assert.match(first!.error ?? '', /timed out/i);
  assert.ok(first!.duration_ms >= 9_000 && first!.duration_ms <= 15_000, `duration_ms ${first!.duration_ms}`);
  assert.equal(second!.status_code, 200);
  assert.equal(second!.error, null);
});

void test('the same id published twice: 202 then 200 with the same envelope, one delivery per endpoint', async () => {
  const tenant = await createTenant(stack);
  const [a, b] = await Promise.all([receiver(), receiver()]);
  const epA = await createEndpoint(tenant.key, a!.url, ['lead.stage_changed']);
  const epB = await createEndpoint(tenant.key, b!.url, ['lead.stage_changed']);
  const id = `evt_${crypto.randomBytes(12).toString('hex')}`;
  const body = { id, type: 'lead.stage_changed', data: { lead_id: 'lead_1', stage: 'won' } };
  const first = await publish(tenant.key, body);
  assert.equal(first.status, 202);
  assert.equal(first.body.id, id);
  const second = await publish(tenant.key, body);
  assert.equal(second.status, 200);
  assert.deepEqual(second.body, first.body);

  // Concurrent re-publishes of a fresh id: exactly one 202.
  const raceId = `evt_${crypto.randomBytes(12).toString('hex')}`;
  const race = await Promise.all(
    Array.from({ length: 5 }, () => publish(tenant.key, { ...body, id: raceId })),
  );
  assert.deepEqual(race.map((r) => r.status).sort(), [200, 200, 200, 200, 202]);
  assert.equal(new Set(race.map((r) => JSON.stringify(r.body))).size, 1, 'every answer carries the same envelope');

  for (const eventId of [id, raceId]) {
    assert.deepEqual(await fannedOut(eventId), [`${eventId}:${epA.id}`, `${eventId}:${epB.id}`].sort());
  }
  await a!.waitFor(2);
  await b!.waitFor(2);
  // Publish once more after delivery, then wait: still exactly one request per (event, endpoint).
  assert.equal((await publish(tenant.key, body)).status, 200);
  await new Promise((r) => setTimeout(r, 2500));
  for (const r of [a!, b!]) {
    assert.deepEqual(r.requests.map((q) => q.headers['anvil-event-id']).sort(), [id, raceId].sort());
  }
  const rows = await stack.db.query('SELECT id FROM events WHERE id = ANY($1)', [[id, raceId]]);
  assert.equal(rows.rowCount, 2);
});

void test('the 21st endpoint of a pro tenant is 403 plan_limit; an enterprise tenant can have more', async () => {
  const pro = await createTenant(stack, 'pro');
  const url = 'http://127.0.0.1:9/hook';
  const created: string[] = [];
  for (let i = 0; i < 20; i++) created.push((await createEndpoint(pro.key, url, ['lead.created'])).id);
  const over = await call(stack, 'POST', '/v1/endpoints', pro.key, { url, events: ['lead.created'] });
  assert.equal(over.status, 403);
  assert.equal(over.body.error.code, 'plan_limit');
  assert.match(over.body.error.message, /20/);
  // A deleted endpoint frees its place.
  assert.equal((await call(stack, 'DELETE', `/v1/endpoints/${created[0]!}`, pro.key)).status, 204);
  assert.equal((await call(stack, 'POST', '/v1/endpoints', pro.key, { url, events: ['lead.created'] })).status, 201);
  assert.equal((await call(stack, 'POST', '/v1/endpoints', pro.key, { url, events: ['lead.created'] })).status, 403);

  // Concurrent creations cannot overrun the limit.
  const racer = await createTenant(stack, 'pro');
  const results = await Promise.all(
    Array.from({ length: 24 }, () => call(stack, 'POST', '/v1/endpoints', racer.key, { url, events: ['lead.created'] })),
  );
  assert.equal(results.filter((r) => r.status === 201).length, 20);
  assert.equal(results.filter((r) => r.status === 403 && r.body.error.code === 'plan_limit').length, 4);

  const enterprise = await createTenant(stack, 'enterprise');
  for (let i = 0; i < 22; i++) await createEndpoint(enterprise.key, url, ['lead.created']);
  const count = await stack.db.query('SELECT count(*)::int AS n FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL', [enterprise.id]);
  assert.equal(count.rows[0].n, 22);
});

function assertRefused(res: ApiResponse, status: number, code: string, path: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(Array.isArray(res.body.error.details), 'details present');
  const paths = (res.body.error.details as { path: string; message: string }[]).map((d) => {
    assert.equal(typeof d.message, 'string');
    return d.path;
  });
  assert.ok(paths.includes(path), `details name ${path}: ${JSON.stringify(res.body.error.details)}`);
}

async function assertNothingStarted(id: string): Promise<void> {
  const rows = await stack.db.query('SELECT id FROM events WHERE id = $1', [id]);
  assert.equal(rows.rowCount, 0, `no events row for ${id}`);
  await assert.rejects(stack.client.workflow.getHandle(id).describe(), WorkflowNotFoundError);
}

void test('refused publishes are 4xx naming the problem, and start nothing', async () => {
  const tenant = await createTenant(stack);
  const newId = () => `evt_${crypto.randomBytes(10).toString('hex')}`;

  let id = newId();
  const unknownType = await publish(tenant.key, { id, type: 'lead.deleted', data: {} });
  assertRefused(unknownType, 400, 'validation_error', 'type');
  assert.match(unknownType.body.error.message, /type/);
  await assertNothingStarted(id);

  for (const data of [[1, 2], 'text', 42, null, true]) {
    id = newId();
    const res = await publish(tenant.key, { id, type: 'lead.created', data });
    assertRefused(res, 400, 'validation_error', 'data');
    await assertNothingStarted(id);
  }
  id = newId();
  assertRefused(await publish(tenant.key, { id, type: 'lead.created' }), 400, 'validation_error', 'data');
  await assertNothingStarted(id);

  id = newId();
  const unknownField = await publish(tenant.key, { id, type: 'lead.created', data: {}, colour: 'red' });
  assertRefused(unknownField, 400, 'validation_error', 'colour');
  await assertNothingStarted(id);

  const badId = await publish(tenant.key, { id: 'evt_no', type: 'lead.created', data: {} });
  assertRefused(badId, 400, 'validation_error', 'id');
  await assertNothingStarted('evt_no');

  id = newId();
  const malformed = await publish(tenant.key, `{"id": "${id}", "type": "lead.created", "data": {`);
  assertRefused(malformed, 400, 'invalid_json', '(body)');
  await assertNothingStarted(id);

  id = newId();
  const big = await publish(tenant.key, { id, type: 'lead.created', data: { blob: 'x'.repeat(257 * 1024) } });
  assertRefused(big, 413, 'payload_too_large', '(body)');
  await assertNothingStarted(id);
  // Just under the limit is accepted.
  id = newId();
  const fits = await publish(tenant.key, { id, type: 'lead.created', data: { blob: 'x'.repeat(250 * 1024) } });
  assert.equal(fits.status, 202);
});

void test('refused endpoint creations: empty events, unknown type, http:// in production mode', async () => {
  const tenant = await createTenant(stack);
  const count = async (s: Stack, tenantId: string) =>
    (await s.db.query('SELECT count(*)::int AS n FROM endpoints WHERE tenant_id = $1', [tenantId])).rows[0].n as number;

  assertRefused(await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'https://example.com/h', events: [] }), 400, 'validation_error', 'events');
  assertRefused(
    await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'https://example.com/h', events: ['lead.created', 'lead.nope'] }),
    400,
    'validation_error',
    'events[1]',
  );
  assertRefused(await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'not a url', events: ['lead.created'] }), 400, 'validation_error', 'url');
  assertRefused(await call(stack, 'POST', '/v1/endpoints', tenant.key, '{"url": '), 400, 'invalid_json', '(body)');
  assert.equal(await count(stack, tenant.id), 0);

  // Production mode (insecure targets not allowed): https only, no loopback or private hosts.
  const prod = await createTenant(secure);
  for (const url of ['http://hooks.example.com/anvil', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://10.1.2.3/hook']) {
    const res = await call(secure, 'POST', '/v1/endpoints', prod.key, { url, events: ['lead.created'] });
    assertRefused(res, 400, 'validation_error', 'url');
  }
  const http = await call(secure, 'POST', '/v1/endpoints', prod.key, { url: 'http://hooks.example.com/anvil', events: ['lead.created'] });
  assert.match(http.body.error.details[0].message, /https/);
  assert.equal(await count(secure, prod.id), 0);
  const ok = await call(secure, 'POST', '/v1/endpoints', prod.key, { url: 'https://hooks.example.com/anvil', events: ['lead.created'] });
  assert.equal(ok.status, 201);
  const patched = await call(secure, 'PATCH', `/v1/endpoints/${ok.body.id as string}`, prod.key, { url: 'http://hooks.example.com/anvil' });
  assertRefused(patched, 400, 'validation_error', 'url');
  const row = await secure.db.query('SELECT url FROM endpoints WHERE id = $1', [ok.body.id]);
  assert.equal(row.rows[0].url, 'https://hooks.example.com/anvil');
});
