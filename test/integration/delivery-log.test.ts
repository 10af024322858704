// Proves the delivery log on the real stack (dev server, Postgres, API, worker, loopback receivers): the
// list and detail show every delivery with the status, attempts, status codes and response excerpts the
// receivers produced; retry-now, re-send and recover reach the receiver; deleting or disabling an
// endpoint cancels its pending retries; tenants see only their own deliveries; bad input is a 400.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DeliveryAttemptView as AttemptView, DeliverySummary } from '../../api/delivery-log';
import { startReceiver, type Receiver, type Responder } from '../support/receiver';
import { call, createTenant, eventually, fastPolicies, startStack, type ApiResponse, type Stack } from '../support/stack';

type Detail = DeliverySummary & { attempts: AttemptView[] };
type Tenant = { id: string; key: string };

const FINAL = new Set(['succeeded', 'failed', 'canceled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const receivers: Receiver[] = [];
async function receiver(respond?: Responder): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

async function endpoint(stack: Stack, tenant: Tenant, url: string, events: string[]): Promise<string> {
  const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url, events });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

async function publish(stack: Stack, tenant: Tenant, type: string, data: Record<string, unknown> = {}): Promise<string> {
  const res = await call(stack, 'POST', '/v1/events', tenant.key, { type, data });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.id as string;
}

async function detail(stack: Stack, tenant: Tenant, id: string): Promise<Detail> {
  const res = await call<Detail>(stack, 'GET', `/v1/deliveries/${encodeURIComponent(id)}`, tenant.key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Every page of a list query, checking the page size and that no id repeats. */
async function listAll(stack: Stack, tenant: Tenant, query: string, limit = 100): Promise<DeliverySummary[]> {
  const out: DeliverySummary[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const sep = query ? '&' : '';
    const res: ApiResponse = await call(stack, 'GET', `/v1/deliveries?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, tenant.key);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.data.length <= limit, `a page holds at most ${limit}`);
    out.push(...res.body.data);
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  assert.equal(cursor, null, 'paging ends');
  const ids = out.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length, `no delivery listed twice: ${ids.join(', ')}`);
  return out;
}

const ids = (list: { id: string }[]) => list.map((d) => d.id).sort();

/** Waits until a delivery shows `status` (in its detail) and returns that detail. */
function untilStatus(stack: Stack, tenant: Tenant, id: string, status: string, timeoutMs = 20_000): Promise<Detail> {
  return eventually(
    async () => {
      const d = await detail(stack, tenant, id);
      return d.status === status ? d : undefined;
    },
    timeoutMs,
    `${id} to be ${status}`,
  );
}

after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

// ---------------------------------------------------------------------------------------------------------
// One stack with the fast policies (standard: 4 attempts 300/600/1200 ms; classic: 5 attempts).
let fast: Stack;
before(async () => {
  fast = await startStack();
});
after(async () => {
  await fast?.close();
});

void test('after a mixed run the log lists every delivery with its status, attempts, codes and excerpts', async () => {
  const tenant = await createTenant(fast, 'enterprise');
  const big = 'x'.repeat(5 * 1024);
  const ok = await receiver(() => ({ status: 200, body: 'ok' }));
  const failing = await receiver(() => ({ status: 500, body: 'boom: database on fire' }));
  const bigFailing = await receiver(() => ({ status: 503, body: big }));
  const flaky = await receiver((_req, i) => (i === 0 ? { status: 500, body: 'try again' } : { status: 200, body: 'thanks' }));
  const hanging = await receiver((_req, i) => (i === 0 ? 'hang' : { status: 204 }));
  const classic = await receiver(() => ({ status: 200, body: 'classic ok' }));

  const epOk = await endpoint(fast, tenant, ok.url, ['lead.created', 'conversation.started']);
  const epFail = await endpoint(fast, tenant, failing.url, ['lead.created', 'conversation.started']);
  const epBig = await endpoint(fast, tenant, bigFailing.url, ['lead.created']);
  const epFlaky = await endpoint(fast, tenant, flaky.url, ['lead.created']);
  const epHang = await endpoint(fast, tenant, hanging.url, ['lead.created']);
  const settings = await call(fast, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: classic.url });
  assert.equal(settings.status, 200);

  const lead = await publish(fast, tenant, 'lead.created', { lead_id: 'lead_1' });
  const convo = await publish(fast, tenant, 'conversation.started', { conversation_id: 'c_1' });
  const action = await call(fast, 'POST', '/v1/actions', tenant.key, { action: 'weldComplete', data: {} });
  assert.equal(action.status, 202);
  const classicId = `${action.body.id}:classic`;

  // While the hanging receiver holds the first request, that delivery is pending with no attempt yet.
  await hanging.waitFor(1);
  const inFlight = await detail(fast, tenant, `${lead}:${epHang}`);
  assert.equal(inFlight.status, 'pending');
  assert.equal(inFlight.attempts.length, 0);
  assert.equal(inFlight.next_attempt_at, null);

  const expected = new Map<string, { endpoint: string; event: string; type: string; status: string; codes: (number | null)[]; excerpts: (string | null)[] }>([
    [`${lead}:${epOk}`, { endpoint: epOk, event: lead, type: 'lead.created', status: 'succeeded', codes: [200], excerpts: ['ok'] }],
    [`${lead}:${epFail}`, { endpoint: epFail, event: lead, type: 'lead.created', status: 'failed', codes: [500, 500, 500, 500], excerpts: Array(4).fill('boom: database on fire') }],
    [`${lead}:${epBig}`, { endpoint: epBig, event: lead, type: 'lead.created', status: 'failed', codes: [503, 503, 503, 503], excerpts: Array(4).fill(big.slice(0, 2048)) }],
    [`${lead}:${epFlaky}`, { endpoint: epFlaky, event: lead, type: 'lead.created', status: 'succeeded', codes: [500, 200], excerpts: ['try again', 'thanks'] }],
    [`${lead}:${epHang}`, { endpoint: epHang, event: lead, type: 'lead.created', status: 'succeeded', codes: [null, 204], excerpts: [null, ''] }],
    [`${convo}:${epOk}`, { endpoint: epOk, event: convo, type: 'conversation.started', status: 'succeeded', codes: [200], excerpts: ['ok'] }],
    [`${convo}:${epFail}`, { endpoint: epFail, event: convo, type: 'conversation.started', status: 'failed', codes: [500, 500, 500, 500], excerpts: Array(4).fill('boom: database on fire') }],
    [classicId, { endpoint: 'classic', event: action.body.id, type: 'weldComplete', status: 'succeeded', codes: [200], excerpts: ['classic ok'] }],
  ]);

  // The hanging attempt times out after 10 s; everything else is done well before.
  const all = await eventually(
    async () => {
      const list = await listAll(fast, tenant, '');
      return list.length === expected.size && list.every((d) => FINAL.has(d.status)) ? list : undefined;
    },
    40_000,
    'every delivery to finish',
  );
  assert.deepEqual(ids(all), [...expected.keys()].sort());

  for (const summary of all) {
    const want = expected.get(summary.id)!;
    assert.equal(summary.status, want.status, summary.id);
    assert.equal(summary.attempts, want.codes.length, `${summary.id} attempts`);
    assert.equal(summary.endpoint_id, want.endpoint);
    assert.equal(summary.event_id, want.event);
    assert.equal(summary.event_type, want.type);
    assert.equal(summary.last_status_code, want.codes.at(-1));
    assert.equal(summary.next_attempt_at, null);
    assert.ok(!Number.isNaN(Date.parse(summary.created_at)));

    const d = await detail(fast, tenant, summary.id);
    assert.deepEqual({ ...d, attempts: undefined }, { ...summary, attempts: undefined }, `${summary.id}: detail = summary`);
    assert.deepEqual(d.attempts.map((a) => a.attempt), want.codes.map((_c, i) => i + 1), summary.id);
    assert.deepEqual(d.attempts.map((a) => a.status_code), want.codes, `${summary.id} status codes`);
    assert.deepEqual(d.attempts.map((a) => a.response_excerpt), want.excerpts, `${summary.id} excerpts`);
    for (const a of d.attempts) {
      assert.equal(a.manual, false);
      assert.ok(Date.parse(a.at) >= Date.parse(summary.created_at), 'an attempt happens after the delivery was created');
      assert.equal(typeof a.duration_ms, 'number');
      // error: null for a 2xx, `HTTP <code>` for another answer, the reason when there was none.
      if (a.status_code === null) assert.ok(a.error, `${summary.id}: an attempt without an answer says why`);
      else assert.equal(a.error, a.status_code < 300 ? null : `HTTP ${a.status_code}`, summary.id);
    }
  }
  // The receiver answered 5 KB; the log keeps exactly the first 2 KB.
  const bigDetail = await detail(fast, tenant, `${lead}:${epBig}`);
  assert.equal(Buffer.byteLength(bigDetail.attempts[0]!.response_excerpt!), 2048);
  // The hung attempt is recorded as an error without a status code.
  const hungDetail = await detail(fast, tenant, `${lead}:${epHang}`);
  assert.match(hungDetail.attempts[0]!.error!, /time/i);
  // What the receivers saw matches the log: four POSTs to the failing endpoint per event, and so on.
  assert.equal(failing.requests.length, 8);
  assert.equal(flaky.requests.length, 2);
  assert.equal(classic.requests.length, 1);

  // Filters.
  assert.deepEqual(ids(await listAll(fast, tenant, `endpoint_id=${epFail}`)), [`${convo}:${epFail}`, `${lead}:${epFail}`].sort());
  assert.deepEqual(ids(await listAll(fast, tenant, 'endpoint_id=classic')), [classicId]);
  assert.deepEqual(
    ids(await listAll(fast, tenant, `event_id=${lead}`)),
    [...expected].filter(([, w]) => w.event === lead).map(([id]) => id).sort(),
  );
  assert.deepEqual(ids(await listAll(fast, tenant, 'event_type=conversation.started')), [`${convo}:${epFail}`, `${convo}:${epOk}`].sort());
  for (const status of ['succeeded', 'failed', 'pending', 'retrying', 'canceled']) {
    assert.deepEqual(
      ids(await listAll(fast, tenant, `status=${status}`)),
      [...expected].filter(([, w]) => w.status === status).map(([id]) => id).sort(),
      `status=${status}`,
    );
  }
  assert.deepEqual(ids(await listAll(fast, tenant, `event_id=${lead}&status=failed`)), [`${lead}:${epBig}`, `${lead}:${epFail}`].sort());

  // Cursor paging, two at a time, visits each delivery once.
  const paged = await listAll(fast, tenant, '', 2);
  assert.deepEqual(ids(paged), [...expected.keys()].sort());
  const first = await call(fast, 'GET', '/v1/deliveries?limit=2', tenant.key);
  assert.equal(first.body.data.length, 2);
  assert.equal(typeof first.body.next_cursor, 'string');
  // A cursor belongs to its query: reused with other filters, or by another tenant, it is refused.
  const otherFilter = await call(fast, 'GET', `/v1/deliveries?limit=2&status=failed&cursor=${first.body.next_cursor}`, tenant.key);
  assert.equal(otherFilter.status, 400);
  assert.equal(otherFilter.body.error.details[0].path, 'cursor');
  const stranger = await createTenant(fast);
  const otherTenant = await call(fast, 'GET', `/v1/deliveries?limit=2&cursor=${first.body.next_cursor}`, stranger.key);
  assert.equal(otherTenant.status, 400);

  // The event view: the envelope plus one summary per target.
  const event = await call(fast, 'GET', `/v1/events/${lead}`, tenant.key);
  assert.equal(event.status, 200);
  assert.equal(event.body.id, lead);
  assert.equal(event.body.type, 'lead.created');
  assert.deepEqual(event.body.data, { lead_id: 'lead_1' });
  assert.deepEqual(
    (event.body.deliveries as DeliverySummary[]).map((d) => [d.id, d.status, d.attempts]).sort(),
    [...expected].filter(([, w]) => w.event === lead).map(([id, w]) => [id, w.status, w.codes.length]).sort(),
  );
});

void test('recover re-sends only the failed deliveries created inside [since, until)', async () => {
  const tenant = await createTenant(fast);
  let healthy = false;
  const hook = await receiver(() => (healthy ? { status: 200, body: 'recovered' } : { status: 500, body: 'down' }));
  const ep = await endpoint(fast, tenant, hook.url, ['lead.created']);

  const early = await publish(fast, tenant, 'lead.created', { n: 'before' });
  await sleep(1200);
  const since = new Date().toISOString();
  await sleep(200);
  const inside = [await publish(fast, tenant, 'lead.created', { n: 'in 1' }), await publish(fast, tenant, 'lead.created', { n: 'in 2' })];
  await sleep(1200);
  const until = new Date().toISOString();
  await sleep(200);
  const late = await publish(fast, tenant, 'lead.created', { n: 'after' });

  const all = [early, ...inside, late].map((e) => `${e}:${ep}`);
  await eventually(
    async () => {
      const failed = await listAll(fast, tenant, `endpoint_id=${ep}&status=failed`);
      return failed.length === all.length ? failed : undefined;
    },
    30_000,
    'all four to fail',
  );
  assert.equal(hook.requests.length, 16);

  healthy = true;
  const res = await call(fast, 'POST', `/v1/endpoints/${ep}/recover`, tenant.key, { since, until });
  assert.equal(res.status, 202);
  assert.deepEqual(res.body, { count: 2 });

  const resent = await hook.waitFor(18, 10_000);
  await sleep(2000);
  assert.equal(hook.requests.length, 18, 'only the two inside the window were re-sent');
  assert.deepEqual(
    resent.slice(16).map((r) => r.headers['anvil-event-id']).sort(),
    [...inside].sort(),
  );
  for (const id of inside.map((e) => `${e}:${ep}`)) {
    const d = await untilStatus(fast, tenant, id, 'succeeded');
    assert.equal(d.attempts.length, 5);
    assert.deepEqual(d.attempts.at(-1), { ...d.attempts.at(-1)!, attempt: 5, status_code: 200, response_excerpt: 'recovered', manual: true });
  }
  for (const e of [early, late]) assert.equal((await detail(fast, tenant, `${e}:${ep}`)).status, 'failed');

  const bad = await call(fast, 'POST', `/v1/endpoints/${ep}/recover`, tenant.key, { since: 'yesterday' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details[0].path, 'since');
});

void test('a tenant sees only its own deliveries and events', async () => {
  const alice = await createTenant(fast);
  const bob = await createTenant(fast);
  const hook = await receiver();
  const epAlice = await endpoint(fast, alice, hook.url, ['lead.created']);
  const epBob = await endpoint(fast, bob, hook.url, ['lead.created']);
  const evAlice = await publish(fast, alice, 'lead.created');
  const evBob = await publish(fast, bob, 'lead.created');
  await untilStatus(fast, alice, `${evAlice}:${epAlice}`, 'succeeded');
  await untilStatus(fast, bob, `${evBob}:${epBob}`, 'succeeded');

  assert.deepEqual(ids(await listAll(fast, alice, '')), [`${evAlice}:${epAlice}`]);
  assert.deepEqual(ids(await listAll(fast, bob, '')), [`${evBob}:${epBob}`]);
  // Asking by another tenant's ids finds nothing.
  assert.deepEqual(await listAll(fast, alice, `event_id=${evBob}`), []);
  assert.deepEqual(await listAll(fast, alice, `endpoint_id=${epBob}`), []);
  for (const [method, path] of [
    ['GET', `/v1/deliveries/${evBob}:${epBob}`],
    ['POST', `/v1/deliveries/${evBob}:${epBob}/retry`],
    ['GET', `/v1/events/${evBob}`],
    ['GET', '/v1/deliveries/evt_doesnotexist:ep_nothing'],
  ] as const) {
    const res = await call(fast, method, path, alice.key);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(res.body.error.code, 'not_found');
  }
  const own = await call(fast, 'GET', `/v1/events/${evAlice}`, alice.key);
  assert.equal(own.status, 200);
  assert.deepEqual(ids(own.body.deliveries), [`${evAlice}:${epAlice}`]);
  // Bob's delivery was not re-sent by Alice's attempt above.
  assert.equal(hook.requests.filter((r) => r.headers['anvil-event-id'] === evBob).length, 1);
});

void test('bad list input is a 400 naming the field', async () => {
  const tenant = await createTenant(fast);
  const status = await call(fast, 'GET', '/v1/deliveries?status=bogus', tenant.key);
  assert.equal(status.status, 400);
  assert.equal(status.body.error.code, 'validation_error');
  assert.deepEqual(status.body.error.details.map((d: { path: string }) => d.path), ['status']);
  assert.match(status.body.error.message, /status/);
  for (const cursor of ['not-a-cursor', 'AAAA', '%%%', 'eyJmb28iOiJiYXIifQ', 'eyJmb28iOiJiYXIifQ.AAAAAAAAAAAAAAAA', '.']) {
    const res = await call(fast, 'GET', `/v1/deliveries?cursor=${encodeURIComponent(cursor)}`, tenant.key);
    assert.equal(res.status, 400, `cursor ${cursor}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.details[0].path, 'cursor');
  }
  const limit = await call(fast, 'GET', '/v1/deliveries?limit=0', tenant.key);
  assert.equal(limit.status, 400);
  assert.equal(limit.body.error.details[0].path, 'limit');
});

// ---------------------------------------------------------------------------------------------------------
// Retry now: a standard policy that waits an hour between attempts.
void test('retry-now delivers a delivery waiting an hour within seconds; a succeeded one can be re-sent', async () => {
  const hourly = await startStack({
    policies: { standard: { name: 'hourly', delays: [3_600_000, 3_600_000] }, classic: fastPolicies.classic },
  });
  try {
    const tenant = await createTenant(hourly);
    const hook = await receiver((_req, i) => (i === 0 ? { status: 500, body: 'not yet' } : { status: 200, body: 'got it' }));
    const ep = await endpoint(hourly, tenant, hook.url, ['lead.created']);
    const event = await publish(hourly, tenant, 'lead.created');
    const id = `${event}:${ep}`;

    const waiting = await untilStatus(hourly, tenant, id, 'retrying');
    assert.equal(waiting.attempts.length, 1);
    assert.equal(waiting.last_status_code, 500);
    const next = Date.parse(waiting.next_attempt_at!);
    assert.ok(Math.abs(next - (Date.parse(waiting.attempts[0]!.at) + 3_600_000)) < 60_000, `next attempt in an hour: ${waiting.next_attempt_at}`);
    const [listed] = await listAll(hourly, tenant, 'status=retrying');
    assert.equal(listed?.id, id);
    assert.equal(listed?.next_attempt_at, waiting.next_attempt_at);

    const retry = await call(hourly, 'POST', `/v1/deliveries/${id}/retry`, tenant.key);
    assert.equal(retry.status, 202);
    await hook.waitFor(2, 5_000);
    const done = await untilStatus(hourly, tenant, id, 'succeeded');
    assert.equal(done.attempts.length, 2);
    assert.equal(done.next_attempt_at, null);
    assert.equal(done.last_status_code, 200);
    assert.deepEqual(
      done.attempts.map((a) => [a.attempt, a.status_code, a.response_excerpt, a.manual]),
      [
        [1, 500, 'not yet', false],
        [2, 200, 'got it', true],
      ],
    );

    // Re-sending a finished delivery: the same event again, listed after the earlier attempts.
    const resend = await call(hourly, 'POST', `/v1/deliveries/${id}/retry`, tenant.key);
    assert.equal(resend.status, 202);
    const sent = await hook.waitFor(3, 5_000);
    assert.equal(sent[2]!.headers['anvil-event-id'], event);
    assert.equal(sent[2]!.rawBody, sent[0]!.rawBody, 'the same envelope bytes');
    const again = await eventually(
      async () => {
        const d = await detail(hourly, tenant, id);
        return d.status === 'succeeded' && d.attempts.length === 3 ? d : undefined;
      },
      20_000,
      'the re-send to be logged',
    );
    assert.deepEqual(
      again.attempts.map((a) => [a.attempt, a.status_code, a.manual]),
      [
        [1, 500, false],
        [2, 200, true],
        [3, 200, true],
      ],
    );
    assert.equal(again.attempts[2]!.response_excerpt, 'got it');
    assert.equal(again.created_at, done.created_at, 'created_at is the first run');
    const listedAgain = await listAll(hourly, tenant, '');
    assert.deepEqual(
      listedAgain.map((d) => [d.id, d.status, d.attempts]),
      [[id, 'succeeded', 3]],
      'the re-sent delivery is listed once, with all its attempts',
    );
    assert.deepEqual(ids(await listAll(hourly, tenant, '', 1)), [id], 'and once when paging one at a time');
  } finally {
    await hourly.close();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Cancel: a policy whose next attempt comes a few seconds later, so a test can wait past it.
const NEXT_ATTEMPT_MS = 4_000;
async function waitingDelivery(stack: Stack, tenant: Tenant) {
  const hook = await receiver(() => ({ status: 503, body: 'unavailable' }));
  const ep = await endpoint(stack, tenant, hook.url, ['lead.created']);
  const event = await publish(stack, tenant, 'lead.created');
  const id = `${event}:${ep}`;
  const waiting = await untilStatus(stack, tenant, id, 'retrying');
  assert.equal(hook.requests.length, 1);
  return { hook, ep, id, nextAttemptAt: Date.parse(waiting.next_attempt_at!) };
}

void test('deleting or disabling an endpoint cancels its pending retries; re-enabling does not resend', async () => {
  const slow = await startStack({
    policies: { standard: { name: 'slow', delays: [NEXT_ATTEMPT_MS, NEXT_ATTEMPT_MS] }, classic: fastPolicies.classic },
  });
  try {
    const tenant = await createTenant(slow);

    const deleted = await waitingDelivery(slow, tenant);
    const del = await call(slow, 'DELETE', `/v1/endpoints/${deleted.ep}`, tenant.key);
    assert.equal(del.status, 204);
    const canceled = await untilStatus(slow, tenant, deleted.id, 'canceled');
    assert.ok(Date.now() < deleted.nextAttemptAt, 'canceled before the next attempt was due');
    assert.equal(canceled.next_attempt_at, null);
    assert.deepEqual(canceled.attempts.map((a) => a.status_code), [503]);

    const disabled = await waitingDelivery(slow, tenant);
    const off = await call(slow, 'PATCH', `/v1/endpoints/${disabled.ep}`, tenant.key, { status: 'disabled' });
    assert.equal(off.status, 200);
    assert.equal(off.body.status, 'disabled');
    await untilStatus(slow, tenant, disabled.id, 'canceled');
    const on = await call(slow, 'PATCH', `/v1/endpoints/${disabled.ep}`, tenant.key, { status: 'enabled' });
    assert.equal(on.status, 200);

    // Past both next attempts (and a margin): nothing more reached either receiver.
    await sleep(Math.max(deleted.nextAttemptAt, disabled.nextAttemptAt) - Date.now() + 2_000);
    assert.equal(deleted.hook.requests.length, 1);
    assert.equal(disabled.hook.requests.length, 1);
    const later = await detail(slow, tenant, disabled.id);
    assert.equal(later.status, 'canceled');
    assert.equal(later.attempts.length, 1);
    assert.deepEqual(ids(await listAll(slow, tenant, 'status=canceled')), [deleted.id, disabled.id].sort());
  } finally {
    await slow.close();
  }
});
