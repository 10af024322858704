// Endpoints that keep failing turn themselves off, on the real stack with a short span
// (ANVIL_ENDPOINT_FAILURE_SPAN=3s instead of 5 days) and a policy that retries every second: once an
// attempt fails with the endpoint's streak of failures older than the span, the endpoint is disabled with
// a reason the API shows, its pending deliveries end canceled (not failed), its receiver gets nothing
// more, the tenant's other endpoints subscribed to `endpoint.disabled` are told, and one PATCH turns it on
// again with a clean slate. A success after failures ends the streak; a first-try success writes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, fastPolicies, startStack, type Stack } from '../support/stack';
import { verify } from '../support/docs-snippet';

let stack: Stack;
const receivers: Receiver[] = [];
before(async () => {
  stack = await startStack({
    env: { ANVIL_ENDPOINT_FAILURE_SPAN: '3s' },
    policies: { ...fastPolicies, standard: { name: 'every-second', initial: 1000, coefficient: 1, attempts: 12, maxSpan: 60_000, jitter: 0 } },
  });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(respond);
  receivers.push(r);
  return r;
}

const streak = async (endpointId: string) =>
  (await stack.db.query<{ failing_since: Date | null; updated_at: Date }>('SELECT failing_since, updated_at FROM endpoints WHERE id = $1', [endpointId])).rows[0]!;

void test('an endpoint failing past the span is disabled with its reason, its pending deliveries canceled, and the tenant told', async () => {
  const tenant = await createTenant(stack);
  const failing = await receiver(() => ({ status: 500, body: 'down for maintenance' }));
  const watcher = await receiver();
  const bystander = await receiver();
  const create = async (url: string, events: string[]) => (await call(stack, 'POST', '/v1/endpoints', tenant.key, { url, events })).body;
  const broken = await create(failing.url, ['lead.created']);
  const ops = await create(watcher.url, ['endpoint.disabled']);
  await create(bystander.url, ['lead.created']);

  const first = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 1 } });
  await failing.waitFor(1);
  const second = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 2 } });
  assert.equal(first.status, 202);
  assert.equal(second.status, 202);

  const disabled = await eventually(
    async () => {
      const ep = await call(stack, 'GET', `/v1/endpoints/${broken.id}`, tenant.key);
      return ep.body.status === 'disabled' ? ep.body : undefined;
    },
    20_000,
    'the failing endpoint to be disabled',
  );
  assert.match(disabled.disabled_reason, /^every delivery attempt failed for 3 seconds \(since \d{4}-\d\d-\d\dT[\d:.]+Z\); last error: HTTP 500$/);
  assert.ok(Date.parse(disabled.disabled_at) >= Date.parse(first.body.created) + 3000, `disabled_at ${disabled.disabled_at} is at least the span after the first failure`);
  const listed = (await call(stack, 'GET', '/v1/endpoints', tenant.key)).body.data.find((e: { id: string }) => e.id === broken.id);
  assert.equal(listed.disabled_reason, disabled.disabled_reason, 'the list shows the reason too');

  // The tenant is told: an endpoint.disabled event to its endpoint subscribed to it, signed as usual.
  const [notice] = await watcher.waitFor(1, 20_000);
  assert.ok(verify(notice!.rawBody, notice!.headers['anvil-signature'] as string, ops.secret));
  const envelope = JSON.parse(notice!.rawBody);
  assert.equal(envelope.type, 'endpoint.disabled');
  assert.equal(envelope.tenant_id, tenant.id);
  assert.equal(envelope.data.endpoint_id, broken.id);
  assert.equal(envelope.data.url, failing.url);
  assert.equal(envelope.data.reason, disabled.disabled_reason);
  assert.equal(envelope.data.disabled_at, disabled.disabled_at);

  // Both events' deliveries to it stop, canceled with attempts left (12 were allowed).
  for (const event of [first.body.id, second.body.id]) {
    const d = await eventually(async () => {
      const res = await call(stack, 'GET', `/v1/deliveries/${event}:${broken.id}`, tenant.key);
      return res.body.status === 'canceled' ? res.body : undefined;
    }, 20_000, `${event} to end canceled`);
    assert.ok(d.attempts.length >= 2 && d.attempts.length < 12, `${d.attempts.length} attempts before the cancel`);
    assert.ok(d.attempts.every((a: { status_code: number }) => a.status_code === 500));
  }
  const canceled = await call(stack, 'GET', `/v1/deliveries?endpoint_id=${broken.id}&status=canceled`, tenant.key);
  assert.equal(canceled.body.data.length, 2);
  const count = failing.requests.length;
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(failing.requests.length, count, 'nothing more is sent to the disabled endpoint');
  // New events skip it; the notice was sent once (the sweep of a second API pass sends nothing again).
  await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 3 } });
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(failing.requests.length, count);
  assert.equal(watcher.requests.length, 1);
  assert.equal(bystander.requests.filter((r) => JSON.parse(r.rawBody).type === 'endpoint.disabled').length, 0, 'only subscribers are told');
});

void test('re-enabling is one call: status enabled, no reason, a fresh streak; a success after failures ends a streak', async () => {
  const tenant = await createTenant(stack);
  let healthy = false;
  const r = await receiver(() => (healthy ? { status: 200 } : { status: 503 }));
  const ep = (await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: r.url, events: ['lead.created'] })).body;
  await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  await eventually(async () => ((await call(stack, 'GET', `/v1/endpoints/${ep.id}`, tenant.key)).body.status === 'disabled' ? true : undefined), 20_000);

  healthy = true;
  const enabled = await call(stack, 'PATCH', `/v1/endpoints/${ep.id}`, tenant.key, { status: 'enabled' });
  assert.equal(enabled.status, 200);
  assert.equal(enabled.body.status, 'enabled');
  assert.equal(enabled.body.disabled_reason, null);
  assert.equal(enabled.body.disabled_at, null);
  assert.equal((await streak(ep.id)).failing_since, null);
  const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  await eventually(async () => {
    const d = await call(stack, 'GET', `/v1/deliveries/${published.body.id}:${ep.id}`, tenant.key);
    return d.body.status === 'succeeded' ? true : undefined;
  });

  // A streak that a success ends before the span: failing_since set by the failure, cleared by the success.
  healthy = false;
  const flaky = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  await eventually(async () => ((await streak(ep.id)).failing_since ? true : undefined), 10_000, 'the streak to start');
  healthy = true;
  await eventually(async () => {
    const d = await call(stack, 'GET', `/v1/deliveries/${flaky.body.id}:${ep.id}`, tenant.key);
    return d.body.status === 'succeeded' ? true : undefined;
  });
  assert.equal((await streak(ep.id)).failing_since, null);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${ep.id}`, tenant.key)).body.status, 'enabled');

  // A first-try success to a healthy endpoint writes nothing to its row.
  const before = await streak(ep.id);
  const quiet = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  await eventually(async () => {
    const d = await call(stack, 'GET', `/v1/deliveries/${quiet.body.id}:${ep.id}`, tenant.key);
    return d.body.status === 'succeeded' ? true : undefined;
  });
  assert.deepEqual(await streak(ep.id), before);
});

void test('disabling by hand shows as such and tells nobody', async () => {
  const tenant = await createTenant(stack);
  const watcher = await receiver();
  await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: watcher.url, events: ['endpoint.disabled'] });
  const ep = (await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'http://127.0.0.1:9/x', events: ['lead.created'] })).body;
  const off = await call(stack, 'PATCH', `/v1/endpoints/${ep.id}`, tenant.key, { status: 'disabled' });
  assert.equal(off.body.disabled_reason, 'disabled manually');
  assert.ok(off.body.disabled_at);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(watcher.requests.length, 0);
});
