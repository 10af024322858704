// The whole delivery path on the production topology (`npm run test:cluster` starts it): the real Temporal
// server with PostgreSQL persistence and SQL visibility, two compiled API processes and two worker
// processes. One event is published through API 1 and again, same client id, through API 2; four
// endpoints take it: one answers 200, one 500, 500 then 200, one keeps answering 503 (retry now, then
// disabled: canceled), one keeps answering 500 until the 13-attempt schedule is exhausted (then recovered).
// A classic action fails its 5 attempts and is re-sent. What is asserted is what a user sees: bytes and
// signatures at the receivers, statuses and attempts in the delivery log read through the other API, the
// histories' eager starts, a replay of the histories against the deployed bundle, and the Web UI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { verifySignature } from '../../domain/signing';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, eventually } from '../support/stack';

const apis = (process.env.ANVIL_E2E_API_URLS ?? '').split(',').filter(Boolean).map((url) => ({ url }));
const uiUrl = process.env.ANVIL_E2E_UI_URL ?? '';
const adminKey = process.env.ANVIL_E2E_ADMIN_KEY ?? '';
if (apis.length < 2 || !adminKey) throw new Error('run with `npm run test:cluster`, which starts the cluster');
const [api1, api2] = [apis[0]!, apis[1]!];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Attempt {
  attempt: number;
  status_code: number | null;
  manual: boolean;
}
interface Delivery {
  id: string;
  status: string;
  attempts: number;
  endpoint_id: string;
}

let key = '';
let eventId = '';
let publishedAt = '';
const receivers: Record<'ok' | 'flaky' | 'down' | 'exhaust' | 'classic', Receiver> = {} as never;
const endpoints: Record<'ok' | 'flaky' | 'down' | 'exhaust', { id: string; secret: string }> = {} as never;
let exhaustHealthy = false;
let temporal: Client;

const detail = async (api: { url: string }, id: string) => {
  const res = await call(api, 'GET', `/v1/deliveries/${encodeURIComponent(id)}`, key);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as Delivery & { attempts: Attempt[] };
};
const untilStatus = (id: string, status: string, timeoutMs: number) =>
  eventually(async () => {
    const d = await detail(api2, id);
    return d.status === status ? d : undefined;
  }, timeoutMs, `${id} to be ${status}`);

before(async () => {
  const tenant = await call(api1, 'POST', '/v1/tenants', adminKey, { name: 'e2e', plan: 'pro' });
  assert.equal(tenant.status, 201);
  key = tenant.body.api_key;
  receivers.ok = await startReceiver(() => ({ status: 200, body: 'ok' }));
  receivers.flaky = await startReceiver((_r, i) => (i < 2 ? { status: 500, body: 'not yet' } : { status: 200, body: 'third time' }));
  receivers.down = await startReceiver(() => ({ status: 503, body: 'down' }));
  receivers.exhaust = await startReceiver(() => (exhaustHealthy ? { status: 200, body: 'recovered' } : { status: 500, body: 'broken' }));
  receivers.classic = await startReceiver(() => ({ status: 500, body: 'classic down' }));
  for (const name of ['ok', 'flaky', 'down', 'exhaust'] as const) {
    // Endpoints are created through API 2, the event goes through API 1: the processes share nothing.
    const res = await call(api2, 'POST', '/v1/endpoints', key, { url: receivers[name].url, events: ['lead.created'], description: name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    endpoints[name] = { id: res.body.id, secret: res.body.secret };
  }
  temporal = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }) });
  publishedAt = new Date(Date.now() - 1000).toISOString();
  eventId = `evt_e2e${randomBytes(8).toString('hex')}`;
  const first = await call(api1, 'POST', '/v1/events', key, { id: eventId, type: 'lead.created', data: { name: 'Zoë', score: 91 } });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.equal(first.body.id, eventId);
});

after(async () => {
  await Promise.all(Object.values(receivers).map((r) => r.close()));
  await temporal?.connection.close();
});

void test('the same client id through the other API is accepted once: 200, nothing re-sent', async () => {
  const again = await call(api2, 'POST', '/v1/events', key, { id: eventId, type: 'lead.created', data: { name: 'Zoë', score: 91 } });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.id, eventId);
  await receivers.ok.waitFor(1, 30_000);
  await sleep(2000);
  assert.equal(receivers.ok.requests.length, 1);
});

void test('a first-try success: signed envelope bytes on the wire, succeeded in the log', async () => {
  const [req] = await receivers.ok.waitFor(1, 30_000);
  assert.equal(req!.headers['anvil-event-id'], eventId);
  verifySignature(req!.rawBody, String(req!.headers['anvil-signature']), endpoints.ok.secret);
  const envelope = JSON.parse(req!.rawBody);
  assert.deepEqual([envelope.id, envelope.type, envelope.data], [eventId, 'lead.created', { name: 'Zoë', score: 91 }]);
  const d = await untilStatus(`${eventId}:${endpoints.ok.id}`, 'succeeded', 30_000);
  assert.deepEqual(d.attempts.map((a) => a.status_code), [200]);
});

void test('per-target retries: 500, 500, 200 with the same bytes each time, read through the other API', async () => {
  const reqs = await receivers.flaky.waitFor(3, 60_000);
  assert.equal(new Set(reqs.map((r) => r.rawBody)).size, 1, 'every attempt sends the same body bytes');
  for (const r of reqs) verifySignature(r.rawBody, String(r.headers['anvil-signature']), endpoints.flaky.secret);
  const d = await untilStatus(`${eventId}:${endpoints.flaky.id}`, 'succeeded', 30_000);
  assert.deepEqual(d.attempts.map((a) => [a.attempt, a.status_code]), [[1, 500], [2, 500], [3, 200]]);
});

/** Every workflow the event ran (engine-agnostic: found through visibility, not guessed from ids). */
async function workflowsOfEvent(): Promise<string[]> {
  const ids = new Set<string>();
  for await (const info of temporal.workflow.list({ query: `WorkflowId = '${eventId}' OR AnvilEventId = '${eventId}'` })) ids.add(info.workflowId);
  return [...ids].sort();
}

void test('the start was eager: the server handed the first workflow task back with the start', async () => {
  const ids = await workflowsOfEvent();
  assert.ok(ids.includes(eventId), JSON.stringify(ids));
  const eager: string[] = [];
  for (const id of ids) {
    const history = await temporal.workflow.getHandle(id).fetchHistory();
    if (history.events?.[0]?.workflowExecutionStartedEventAttributes?.eagerExecutionAccepted) eager.push(id);
  }
  // The event's own workflow, started by the API process on its embedded worker's connection.
  assert.ok(eager.includes(eventId), `${eventId} was not started eagerly (eager: ${eager.join(', ') || 'none'} of ${ids.join(', ')})`);
});

void test('the delivery log on SQL visibility: running first (newest start first), then finished ones (latest finish first); pages cover all', async () => {
  // Three events to an endpoint of their own: the first two succeed, one after the other; the third keeps failing.
  const failing = new Set<string>();
  const order = await startReceiver((r) => (failing.has(String(r.headers['anvil-event-id'])) ? { status: 503, body: 'no' } : { status: 200, body: 'ok' }));
  try {
    const ep = await call(api1, 'POST', '/v1/endpoints', key, { url: order.url, events: ['lead.stage_changed'] });
    assert.equal(ep.status, 201);
    const events: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = `evt_order${randomBytes(8).toString('hex')}`;
      if (i === 2) failing.add(id);
      const res = await call(i % 2 ? api2 : api1, 'POST', '/v1/events', key, { id, type: 'lead.stage_changed', data: { i } });
      assert.equal(res.status, 202);
      events.push(id);
      await untilStatus(`${id}:${ep.body.id}`, i === 2 ? 'retrying' : 'succeeded', 30_000);
    }
    // PostgreSQL visibility refuses ORDER BY; its fixed order lists open executions first (newest start
    // first), then closed ones (latest close first).
    const list = await call(api2, 'GET', `/v1/deliveries?endpoint_id=${ep.body.id}`, key);
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.body.data as Delivery[]).map((d) => [d.id, d.status]),
      [`${events[2]}:${ep.body.id}`, `${events[1]}:${ep.body.id}`, `${events[0]}:${ep.body.id}`].map((id, i) => [id, i === 0 ? 'retrying' : 'succeeded']),
    );
    await call(api1, 'DELETE', `/v1/endpoints/${ep.body.id}`, key);
  } finally {
    await order.close();
  }

  const all = await call(api2, 'GET', `/v1/deliveries?event_id=${eventId}`, key);
  assert.equal(all.status, 200);
  const data = all.body.data as Delivery[];
  assert.deepEqual(data.map((d) => d.endpoint_id).sort(), Object.values(endpoints).map((e) => e.id).sort());
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { data: Delivery[]; next_cursor: string | null } } = await call(api1, 'GET', `/v1/deliveries?event_id=${eventId}&limit=1${cursor ? `&cursor=${cursor}` : ''}`, key);
    assert.equal(page.status, 200);
    paged.push(...page.body.data.map((d) => d.id));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.deepEqual([...paged].sort(), data.map((d) => d.id).sort());
});

void test('retry now reaches a delivery waiting on a long timer at once; disabling the endpoint cancels it', async () => {
  const id = `${eventId}:${endpoints.down.id}`;
  // Attempt 11 is followed by a wait of 1024 min × the scale (≈ 30 s): a retry-now attempt shows up long before.
  await eventually(async () => ((await detail(api2, id)).attempts.length >= 11 ? true : undefined), 90_000, 'attempt 11');
  const before = receivers.down.requests.length;
  const retried = await call(api1, 'POST', `/v1/deliveries/${id}/retry`, key);
  assert.equal(retried.status, 202);
  assert.equal(retried.body.retry, 'attempting_now');
  await receivers.down.waitFor(before + 1, 10_000);
  assert.ok(Date.now() - receivers.down.requests[before - 1]!.at < 25_000, 'the extra attempt came before the scheduled one');

  const disabled = await call(api2, 'PATCH', `/v1/endpoints/${endpoints.down.id}`, key, { status: 'disabled' });
  assert.equal(disabled.status, 200);
  await untilStatus(id, 'canceled', 30_000);
  const count = receivers.down.requests.length;
  await sleep(3000);
  assert.equal(receivers.down.requests.length, count, 'nothing is sent after the cancel');
});

void test('a classic action fails its 5 attempts, then a manual retry re-sends it', async () => {
  const settings = await call(api1, 'PUT', '/v1/webhook-settings', key, { enabled: true, url: receivers.classic.url });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  const action = await call(api2, 'POST', '/v1/actions', key, { action: 'weldComplete', data: { eid: 'weld_e2e', n: 1 } });
  assert.equal(action.status, 202, JSON.stringify(action.body));
  const id = `${action.body.id}:classic`;
  const failed = await untilStatus(id, 'failed', 60_000);
  assert.deepEqual(failed.attempts.map((a) => a.status_code), [500, 500, 500, 500, 500]);
  const body = JSON.parse(receivers.classic.requests[0]!.rawBody);
  assert.deepEqual([body.action, body.token, body.data], ['weldComplete', settings.body.token, { eid: 'weld_e2e', n: 1 }]);
  const retried = await call(api1, 'POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, key);
  assert.equal(retried.status, 202);
  assert.equal(retried.body.retry, 'resent');
  await receivers.classic.waitFor(6, 30_000);
  await eventually(async () => ((await detail(api2, id)).attempts.length === 6 ? true : undefined), 30_000, 'the sixth attempt in the log');
});

void test('13 attempts exhaust the schedule; recover re-sends the failed delivery', async () => {
  const id = `${eventId}:${endpoints.exhaust.id}`;
  const failed = await untilStatus(id, 'failed', 240_000);
  assert.equal(failed.attempts.length, 13);
  assert.equal(receivers.exhaust.requests.length, 13);
  exhaustHealthy = true;
  const recovered = await call(api2, 'POST', `/v1/endpoints/${endpoints.exhaust.id}/recover`, key, { since: publishedAt });
  assert.equal(recovered.status, 202);
  assert.deepEqual(recovered.body, { count: 1 });
  await receivers.exhaust.waitFor(14, 30_000);
  const d = await untilStatus(id, 'succeeded', 30_000);
  assert.equal(d.attempts.length, 14);
  assert.deepEqual([d.attempts.at(-1)!.status_code, d.attempts.at(-1)!.manual], [200, true]);
});

void test('a finished delivery is re-sent on request, same event id', async () => {
  const id = `${eventId}:${endpoints.ok.id}`;
  const resent = await call(api2, 'POST', `/v1/deliveries/${id}/retry`, key);
  assert.equal(resent.status, 202);
  assert.equal(resent.body.retry, 'resent');
  const reqs = await receivers.ok.waitFor(2, 30_000);
  assert.equal(reqs[1]!.headers['anvil-event-id'], eventId);
  assert.equal(reqs[1]!.rawBody, reqs[0]!.rawBody);
});

void test('replay: every history of the event replays deterministically against the deployed bundle', async () => {
  const ids = await workflowsOfEvent();
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', ...ids], { env: process.env });
  const lines = stdout.split('\n').filter((l) => /deterministic|NON-DETERMINISTIC/.test(l));
  assert.ok(lines.length >= ids.length, stdout);
  assert.ok(lines.every((l) => !l.includes('NON-DETERMINISTIC')), stdout);
});

void test('the Temporal Web UI serves the cluster and finds the event', { skip: !uiUrl }, async () => {
  const page = await fetch(`${uiUrl}/`);
  assert.equal(page.status, 200);
  const query = encodeURIComponent(`WorkflowId = '${eventId}'`);
  const res = await fetch(`${uiUrl}/api/v1/namespaces/default/workflows?query=${query}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { executions?: { execution?: { workflowId?: string } }[] };
  assert.equal(body.executions?.[0]?.execution?.workflowId, eventId);
});
