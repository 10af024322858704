// Proves the real retry schedules run as declared, on Temporal's time-skipping test server with the real
// workflows, the real activities, the real store and HTTP to loopback receivers: the Events API policy's
// 13 attempts within 72 h, the classic policy's 5 attempts at 0/5/65/245/665 s, the retryNow and cancel
// signals, an endpoint deleted mid-schedule, and eventWorkflow's fan-out to subscribed endpoints only.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { ulid } from 'ulid';
import { API_VERSION } from '../../domain/catalog';
import {
  deliveryIdFor,
  searchAttributes,
  type DeliveryWorkflowInput,
  type EventEnvelope,
  type EventWorkflowInput,
} from '../../domain/delivery';
import { newEventId } from '../../domain/ids';
import { classicPolicy, standardPolicy } from '../../domain/policies';
import type { EndpointRow, Tenant } from '../../infra/store';
import type { DeliveryState, deliveryWorkflow, eventWorkflow } from '../../workflows';
import { startReceiver, type Receiver, type Responder } from '../support/receiver';
import {
  historyEventTypes,
  recordedAttempts,
  startTimeSkipping,
  type TimeSkipping,
} from '../support/time-skipping';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

async function newTenant(ts: TimeSkipping): Promise<Tenant> {
  return (await ts.store.createTenant(`schedules ${ulid()}`, 'enterprise')).tenant;
}

async function receiverFor(t: TestContext, respond: Responder): Promise<Receiver> {
  const receiver = await startReceiver(respond);
  t.after(() => receiver.close());
  return receiver;
}

async function endpointFor(
  ts: TimeSkipping,
  tenant: Tenant,
  url: string,
  events: string[] = ['lead.created'],
  filter: EndpointRow['filter'] = null,
): Promise<EndpointRow> {
  return ts.store.createEndpoint(tenant, { url, events, description: null, filter });
}

function envelopeFor(tenant: Tenant, data: Record<string, unknown> = { lead_id: `lead_${ulid()}` }): EventEnvelope {
  return { id: newEventId(), type: 'lead.created', created: new Date().toISOString(), tenant_id: tenant.id, data, api_version: API_VERSION };
}

/** A delivery to one endpoint on the standard policy, started directly (the fan-out has tests of its own). */
async function startDelivery(ts: TimeSkipping, tenant: Tenant, endpoint: EndpointRow): Promise<WorkflowHandle<typeof deliveryWorkflow>> {
  const envelope = envelopeFor(tenant);
  const input: DeliveryWorkflowInput = {
    deliveryId: deliveryIdFor(envelope.id, endpoint.id),
    eventId: envelope.id,
    tenantId: tenant.id,
    eventType: envelope.type,
    target: { type: 'endpoint', endpointId: endpoint.id },
    payload: { kind: 'event', envelope },
    policy: standardPolicy,
  };
  return ts.env.client.workflow.start<typeof deliveryWorkflow>('deliveryWorkflow', {
    workflowId: input.deliveryId,
    taskQueue: ts.taskQueue,
    args: [input],
  });
}

/** Waits (in real time: the clock stands still until a result is awaited) for the sleep before the next attempt. */
async function waitUntilRetrying(handle: WorkflowHandle<typeof deliveryWorkflow>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await handle.query<DeliveryState>('deliveryState');
    if (state.status === 'retrying') return;
    if (Date.now() > deadline) throw new Error(`delivery still ${state.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Each test gets a test server of its own: time skipping is global to a server, so one test's
 * waiting deliveries would hold another's clock. (Deliveries were once abandoned child workflows, which
 * made the test server stop skipping time for good, temporalio/sdk-java#2392; a fresh server per test
 * costs about 0.6 s and keeps tests independent of each other either way.)
 */
function scheduleTest(name: string, body: (ts: TimeSkipping, t: TestContext) => Promise<void>): void {
  void test(name, { timeout: 90_000 }, async (t) => {
    const ts = await startTimeSkipping();
    t.after(() => ts.close());
    await body(ts, t);
  });
}

// One at a time (the harness's --test-concurrency also runs a file's top-level tests two at once): the
// attempt times are checked to a second, and two test servers on a busy machine would stretch them.
void describe('retry schedules on the time-skipping test server', { concurrency: 1 }, () => {
  scheduleTest('Events API: an always-failing endpoint gets 13 attempts, 1…2048 min apart, within 72 h, then failed', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500, body: 'down' }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const envelope = envelopeFor(tenant);
    const input: EventWorkflowInput = { kind: 'event', envelope, policy: standardPolicy };

    const fanOut = await ts.env.client.workflow.execute<typeof eventWorkflow>('eventWorkflow', {
      workflowId: envelope.id,
      taskQueue: ts.taskQueue,
      args: [input],
    });
    const deliveryId = deliveryIdFor(envelope.id, endpoint.id);
    assert.deepEqual(fanOut.deliveries, [deliveryId]);
    const handle = ts.env.client.workflow.getHandle<typeof deliveryWorkflow>(deliveryId);
    const result = await handle.result();

    assert.equal(result.status, 'failed');
    assert.equal(result.attempts.length, 13);
    assert.deepEqual(result.attempts.map((a) => a.attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.ok(result.attempts.every((a) => a.statusCode === 500 && !a.ok));

    const attempts = await recordedAttempts(ts.env, handle);
    assert.equal(attempts.length, 13);
    const times = attempts.map((a) => a.recordedAt);
    for (let n = 1; n < times.length; n++) {
      const gap = times[n]! - times[n - 1]!;
      const nominal = 2 ** (n - 1) * MINUTE;
      assert.ok(
        gap >= nominal * 0.9 && gap <= nominal + SECOND,
        `wait before attempt ${n + 1}: ${gap} ms, expected ${nominal} ms (up to 10 % shorter)`,
      );
    }
    const span = times[12]! - times[0]!;
    assert.ok(span <= 72 * HOUR, `last attempt ${span / HOUR} h after the first`);
    assert.ok(span >= 0.9 * 4095 * MINUTE, `last attempt only ${span / HOUR} h after the first`);

    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(searchAttributes.status), 'failed');
    assert.equal(description.typedSearchAttributes.get(searchAttributes.attempts), 13);
    assert.equal(description.typedSearchAttributes.get(searchAttributes.lastStatusCode), 500);

    // On the wire: 13 requests, the same body every time.
    assert.equal(receiver.requests.length, 13);
    assert.ok(receiver.requests.every((r) => r.rawBody === JSON.stringify(envelope)));
    assert.ok(receiver.requests.every((r) => r.headers['anvil-event-id'] === envelope.id));
  });

  scheduleTest('classic: an always-failing URL gets 5 attempts at 0, 5, 65, 245 and 665 s with identical bytes, then failed', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500 }));
    const settings = await ts.store.putWebhookSettings(tenant.id, { enabled: true, url: receiver.url });
    const actionId = newEventId();
    const input: EventWorkflowInput = {
      kind: 'classic',
      action: {
        id: actionId,
        action: 'weldComplete',
        tenant_id: tenant.id,
        created: new Date().toISOString(),
        object: null,
        data: { weld_eid: `weld_${ulid()}` },
      },
      policy: classicPolicy,
    };

    const fanOut = await ts.env.client.workflow.execute<typeof eventWorkflow>('eventWorkflow', {
      workflowId: actionId,
      taskQueue: ts.taskQueue,
      args: [input],
    });
    assert.deepEqual(fanOut.deliveries, [`${actionId}:classic`]);
    const handle = ts.env.client.workflow.getHandle<typeof deliveryWorkflow>(`${actionId}:classic`);
    const result = await handle.result();

    assert.equal(result.status, 'failed');
    assert.equal(result.attempts.length, 5);
    const attempts = await recordedAttempts(ts.env, handle);
    const offsets = attempts.map((a) => a.recordedAt - attempts[0]!.recordedAt);
    const expected = [0, 5, 65, 245, 665].map((s) => s * SECOND);
    assert.equal(offsets.length, 5);
    offsets.forEach((offset, i) =>
      assert.ok(Math.abs(offset - expected[i]!) <= SECOND, `attempt ${i + 1} at +${offset} ms, expected +${expected[i]} ms`),
    );
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(searchAttributes.status), 'failed');

    assert.equal(receiver.requests.length, 5);
    const first = receiver.requests[0]!.rawBody;
    assert.deepEqual(JSON.parse(first), { action: 'weldComplete', token: settings.token, data: input.action.data });
    assert.ok(receiver.requests.every((r) => r.rawBody === first), 'every attempt sends the same bytes');
  });

  scheduleTest('retryNow: a waiting delivery attempts again at once, before its timer, and records the attempt as manual', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, (_req, index) => (index === 0 ? { status: 503 } : { status: 200, body: 'ok' }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const handle = await startDelivery(ts, tenant, endpoint);
    await receiver.waitFor(1);
    await waitUntilRetrying(handle);

    await handle.signal('retryNow');
    const result = await handle.result();

    assert.equal(result.status, 'succeeded');
    assert.deepEqual(
      result.attempts.map((a) => ({ attempt: a.attempt, statusCode: a.statusCode, manual: a.manual ?? false })),
      [
        { attempt: 1, statusCode: 503, manual: false },
        { attempt: 2, statusCode: 200, manual: true },
      ],
    );
    const events = await historyEventTypes(handle);
    assert.ok(events.includes('TIMER_CANCELED'), 'the 1 min timer was canceled');
    assert.ok(!events.includes('TIMER_FIRED'), 'the 1 min timer never fired');
    const attempts = await recordedAttempts(ts.env, handle);
    assert.ok(attempts[1]!.recordedAt - attempts[0]!.recordedAt < MINUTE, 'the retry did not wait for the timer');
    assert.equal(receiver.requests.length, 2);
  });

  scheduleTest('cancel: a waiting delivery ends canceled and sends nothing more', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500 }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const handle = await startDelivery(ts, tenant, endpoint);
    await receiver.waitFor(1);
    await waitUntilRetrying(handle);

    await handle.signal('cancel', 'test');
    const result = await handle.result();

    assert.equal(result.status, 'canceled');
    assert.equal(result.attempts.length, 1);
    assert.ok(!(await historyEventTypes(handle)).includes('TIMER_FIRED'));
    const description = await handle.describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.typedSearchAttributes.get(searchAttributes.status), 'canceled');
    // Skipping well past the whole schedule: still the one request.
    await ts.env.sleep(80 * HOUR);
    assert.equal(receiver.requests.length, 1);
  });

  scheduleTest('an endpoint deleted while its delivery waits: the next attempt sends nothing and the delivery ends canceled', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500 }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const handle = await startDelivery(ts, tenant, endpoint);
    await receiver.waitFor(1);
    await waitUntilRetrying(handle);

    assert.equal(await ts.store.deleteEndpoint(tenant.id, endpoint.id), true);
    const result = await handle.result();

    assert.equal(result.status, 'canceled');
    assert.equal(result.attempts.length, 1);
    // The timer fired and the second attempt ran, found the endpoint gone and sent nothing.
    assert.ok((await historyEventTypes(handle)).includes('TIMER_FIRED'));
    const attempts = await recordedAttempts(ts.env, handle);
    assert.equal(attempts.length, 2);
    assert.equal(attempts[1]!.result.canceled, true);
    assert.equal(attempts[1]!.result.statusCode, null);
    assert.equal(receiver.requests.length, 1);
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(searchAttributes.status), 'canceled');
  });

  scheduleTest('eventWorkflow starts one delivery per enabled, subscribed endpoint whose filter matches', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 200, body: 'ok' }));
    const origin = new URL(receiver.url).origin;
    const subscribed = [
      await endpointFor(ts, tenant, `${origin}/plain`),
      await endpointFor(ts, tenant, `${origin}/two-types`, ['conversation.started', 'lead.created']),
      await endpointFor(ts, tenant, `${origin}/matching-filter`, ['lead.created'], { 'data.score': { $gte: 80 } }),
    ];
    const otherType = await endpointFor(ts, tenant, `${origin}/other-type`, ['conversation.started']);
    const disabled = await endpointFor(ts, tenant, `${origin}/disabled`);
    await ts.store.updateEndpoint(tenant.id, disabled.id, { status: 'disabled' });
    const filteredOut = await endpointFor(ts, tenant, `${origin}/filtered-out`, ['lead.created'], { 'data.score': { $gte: 95 } });
    const envelope = envelopeFor(tenant, { lead_id: `lead_${ulid()}`, score: 90 });

    const handle = await ts.env.client.workflow.start<typeof eventWorkflow>('eventWorkflow', {
      workflowId: envelope.id,
      taskQueue: ts.taskQueue,
      args: [{ kind: 'event', envelope, policy: standardPolicy }],
    });
    const fanOut = await handle.result();

    const expected = subscribed.map((e) => `${envelope.id}:${e.id}`).sort();
    assert.deepEqual([...fanOut.deliveries].sort(), expected);
    // No delivery exists for the endpoints that must not get the event.
    for (const skipped of [otherType, disabled, filteredOut]) {
      await assert.rejects(ts.env.client.workflow.getHandle(`${envelope.id}:${skipped.id}`).describe(), WorkflowNotFoundError);
    }
    for (const [i, endpoint] of subscribed.entries()) {
      const child = ts.env.client.workflow.getHandle<typeof deliveryWorkflow>(expected.find((id) => id.endsWith(endpoint.id))!);
      assert.equal((await child.result()).status, 'succeeded', `delivery ${i + 1}`);
      const { typedSearchAttributes } = await child.describe();
      assert.equal(typedSearchAttributes.get(searchAttributes.endpointId), endpoint.id);
      assert.equal(typedSearchAttributes.get(searchAttributes.eventId), envelope.id);
      assert.equal(typedSearchAttributes.get(searchAttributes.status), 'succeeded');
    }
    assert.deepEqual(receiver.requests.map((r) => r.path).sort(), ['/matching-filter', '/plain', '/two-types']);
    assert.ok(receiver.requests.every((r) => r.headers['anvil-event-id'] === envelope.id));
  });
});
