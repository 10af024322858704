// Proves the per-destination bound: a slow endpoint never has more than the worker's cap of requests in
// flight (ANVIL_MAX_IN_FLIGHT_PER_ENDPOINT, 10 by default), the deliveries that found it busy wait and are
// sent later without using up an attempt, and each event still arrives exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';

let stack: Stack;
let receiver: Receiver;
let inFlight = 0;
let maxInFlight = 0;

before(async () => {
  stack = await startStack();
  receiver = await startReceiver(() => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => inFlight--, 400);
    return { status: 200, body: 'ok', delayMs: 400 };
  });
});
after(async () => {
  await receiver.close();
  await stack.close();
});

void test('a slow endpoint gets at most the cap in flight; busy deliveries wait without losing an attempt', { timeout: 120_000 }, async () => {
  const tenant = await createTenant(stack);
  const endpoint = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: receiver.url, events: ['lead.created'] });
  assert.equal(endpoint.status, 201);
  const ids = await Promise.all(
    Array.from({ length: 25 }, async (_, i) => {
      const res = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { i } });
      assert.equal(res.status, 202);
      return res.body.id as string;
    }),
  );
  await receiver.waitFor(25, 90_000);
  assert.ok(maxInFlight <= stack.config.maxInFlightPerEndpoint, `at most ${stack.config.maxInFlightPerEndpoint} in flight, saw ${maxInFlight}`);
  assert.ok(maxInFlight >= 2, 'deliveries ran concurrently');
  const received = receiver.requests.map((r) => r.headers['anvil-event-id']);
  assert.deepEqual([...received].sort(), [...ids].sort(), 'each event exactly once');
  for (const id of ids) {
    const detail = await eventually(async () => {
      const d = await call(stack, 'GET', `/v1/deliveries/${id}:${endpoint.body.id}`, tenant.key);
      return d.body.status === 'succeeded' ? d.body : undefined;
    }, 30_000, `delivery of ${id} succeeded`);
    assert.deepEqual(detail.attempts.map((a: { attempt: number; status_code: number }) => [a.attempt, a.status_code]), [[1, 200]]);
  }
});
