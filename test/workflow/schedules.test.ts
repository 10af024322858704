// Proves the real retry schedules run as declared, on Temporal's time-skipping test server with the real
// eventWorkflow, the real activities, the real store and HTTP to loopback receivers: the Events API
// policy's 13 attempts within 72 h, the classic policy's 5 attempts at 0/5/65/245/665 s, each failing target
// on its own schedule beside targets that succeeded, the retryNow, resend and cancel signals, an endpoint
// deleted mid-schedule, and 1 000 failing endpoints on one event (partitioned) each getting all 13 attempts.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ulid } from 'ulid';
import { API_VERSION } from '../../domain/catalog';
import { cancelSignal, deliveryStateQuery, resendSignal, retryNowSignal, searchAttributes, TARGETS_PER_WORKFLOW, type TargetView } from '../../domain/contract';
import type { EventEnvelope, EventWorkflowInput, EventWorkflowResult, Target } from '../../domain/delivery';
import { newEventId } from '../../domain/ids';
import { classicPolicy, standardPolicy, type RetryPolicy } from '../../domain/policies';
import { eventStartOptions, partitionTargets } from '../../infra/start-options';
import type { EndpointRow, Tenant } from '../../infra/store';
import type { eventWorkflow } from '../../workflows';
import { startReceiver, type Receiver, type Responder } from '../support/receiver';
import { historyEventTypes, recordedAttempts, startTimeSkipping, type TimeSkipping } from '../support/time-skipping';

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

async function endpointFor(ts: TimeSkipping, tenant: Tenant, url: string): Promise<EndpointRow> {
  return ts.store.createEndpoint(tenant, { url, events: ['lead.created'], description: null, filter: null });
}

function envelopeFor(tenant: Tenant): EventEnvelope {
  return { id: newEventId(), type: 'lead.created', created: new Date().toISOString(), tenant_id: tenant.id, data: { lead_id: `lead_${ulid()}` }, api_version: API_VERSION };
}

type EventHandle = WorkflowHandle<typeof eventWorkflow>;

/** Starts an Events API event to these endpoints as the API does (partitioned, start options and all). */
async function startEvent(ts: TimeSkipping, tenant: Tenant, endpoints: EndpointRow[], policy: RetryPolicy = standardPolicy) {
  const envelope = envelopeFor(tenant);
  const inputs = partitionTargets(
    { kind: 'event', eventId: envelope.id, tenantId: tenant.id, eventType: envelope.type, envelope, policy },
    endpoints.map((e): Target => ({ id: e.id })),
  );
  const handles: EventHandle[] = [];
  for (const input of inputs) handles.push(await ts.env.client.workflow.start('eventWorkflow', eventStartOptions(input, ts.taskQueue, { eager: false })) as EventHandle);
  return { envelope, inputs, handles };
}

/** Waits (in real time: the clock stands still until a result is awaited) until a target waits for its next attempt. */
async function waitUntilRetrying(handle: EventHandle, target: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const state = await handle.query(deliveryStateQuery);
    if (state[target]?.status === 'retrying') return;
    if (Date.now() > deadline) throw new Error(`${target} still ${state[target]?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const result = async (handle: EventHandle) => (await handle.result()) as EventWorkflowResult;

/** The memo entry and search attribute tokens the delivery log lists a target by. */
async function logged(handle: EventHandle, target: string) {
  const d = await handle.describe();
  return { memo: (d.memo as Record<string, unknown>)[target], tokens: d.typedSearchAttributes.get(searchAttributes.targetStates) as string[] | undefined };
}

/**
 * Each test gets a test server of its own: time skipping is global to a server, so one test's waiting
 * deliveries would hold another's clock (a fresh server costs about 0.6 s).
 */
function scheduleTest(name: string, body: (ts: TimeSkipping, t: TestContext) => Promise<void>, opts: { timeout?: number; maxInFlightPerOrigin?: number } = {}): void {
  void test(name, { timeout: opts.timeout ?? 90_000 }, async (t) => {
    const ts = await startTimeSkipping(opts);
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
    const { envelope, handles } = await startEvent(ts, tenant, [endpoint]);
    const handle = handles[0]!;
    assert.equal(handle.workflowId, envelope.id, 'one workflow per event, named by the event id');

    assert.deepEqual((await result(handle)).targets, [{ id: endpoint.id, status: 'failed', attempts: 13 }]);
    const attempts = await recordedAttempts(ts.env, handle);
    assert.deepEqual(attempts.map((a) => a.result.attempt), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert.ok(attempts.every((a) => a.result.statusCode === 500 && !a.result.ok && a.result.target === endpoint.id));
    const times = attempts.map((a) => a.recordedAt);
    for (let n = 1; n < times.length; n++) {
      const gap = times[n]! - times[n - 1]!;
      const nominal = 2 ** (n - 1) * MINUTE;
      assert.ok(gap >= nominal * 0.9 && gap <= nominal + SECOND, `wait before attempt ${n + 1}: ${gap} ms, expected ${nominal} ms (up to 10 % shorter)`);
    }
    const span = times[12]! - times[0]!;
    assert.ok(span <= 72 * HOUR, `last attempt ${span / HOUR} h after the first`);
    assert.ok(span >= 0.9 * 4095 * MINUTE, `last attempt only ${span / HOUR} h after the first`);

    const { memo, tokens } = await logged(handle, endpoint.id);
    assert.deepEqual(memo, { status: 'failed', attempts: 13, last_status_code: 500, next_attempt_at: null });
    assert.deepEqual(tokens, [`${endpoint.id}:failed`, 'failed'].sort());
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
    const data = { weld_eid: `weld_${ulid()}` };
    const input: EventWorkflowInput = {
      kind: 'classic',
      eventId: actionId,
      tenantId: tenant.id,
      eventType: 'weldComplete',
      classic: { action: 'weldComplete', data },
      targets: [{ id: 'classic', url: receiver.url, source: 'static' }],
      policy: classicPolicy,
    };
    const handle = (await ts.env.client.workflow.start('eventWorkflow', eventStartOptions(input, ts.taskQueue, { eager: false }))) as EventHandle;

    assert.deepEqual((await result(handle)).targets, [{ id: 'classic', status: 'failed', attempts: 5 }]);
    const attempts = await recordedAttempts(ts.env, handle);
    const offsets = attempts.map((a) => a.recordedAt - attempts[0]!.recordedAt);
    const expected = [0, 5, 65, 245, 665].map((s) => s * SECOND);
    assert.equal(offsets.length, 5);
    offsets.forEach((offset, i) => assert.ok(Math.abs(offset - expected[i]!) <= SECOND, `attempt ${i + 1} at +${offset} ms, expected +${expected[i]} ms`));
    assert.equal(receiver.requests.length, 5);
    const first = receiver.requests[0]!.rawBody;
    assert.deepEqual(JSON.parse(first), { action: 'weldComplete', token: settings.token, data });
    assert.ok(receiver.requests.every((r) => r.rawBody === first), 'every attempt sends the same bytes');
  });

  scheduleTest('each target on its own schedule: first attempts together in the first task, then only the failing one retries', async (ts, t) => {
    const tenant = await newTenant(ts);
    const ok = await receiverFor(t, () => ({ status: 204 }));
    const flaky = await receiverFor(t, (_req, i) => (i < 2 ? { status: 503 } : { status: 200, body: 'third time' }));
    const [epOk, epFlaky] = [await endpointFor(ts, tenant, ok.url), await endpointFor(ts, tenant, flaky.url)];
    const { handles } = await startEvent(ts, tenant, [epOk!, epFlaky!]);
    const handle = handles[0]!;

    assert.deepEqual((await result(handle)).targets, [
      { id: epOk!.id, status: 'succeeded', attempts: 1 },
      { id: epFlaky!.id, status: 'succeeded', attempts: 3 },
    ]);
    assert.equal(ok.requests.length, 1);
    assert.equal(flaky.requests.length, 3);
    // Both first attempts are markers of the first workflow task, before any timer.
    const events = await historyEventTypes(handle);
    assert.deepEqual(events.slice(0, 6), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED', 'MARKER_RECORDED', 'MARKER_RECORDED']);
    const attempts = await recordedAttempts(ts.env, handle);
    const flakyTimes = attempts.filter((a) => a.result.target === epFlaky!.id).map((a) => a.recordedAt);
    assert.ok(Math.abs(flakyTimes[1]! - flakyTimes[0]! - MINUTE) <= 0.1 * MINUTE + SECOND, 'second attempt ~1 min after the first');
    assert.ok(Math.abs(flakyTimes[2]! - flakyTimes[1]! - 2 * MINUTE) <= 0.2 * MINUTE + SECOND, 'third attempt ~2 min after the second');
    // The log: once tracked, every target has its entry, the happy one included.
    assert.deepEqual((await logged(handle, epOk!.id)).memo, { status: 'succeeded', attempts: 1, last_status_code: 204, next_attempt_at: null });
    assert.deepEqual((await logged(handle, epFlaky!.id)).memo, { status: 'succeeded', attempts: 3, last_status_code: 200, next_attempt_at: null });
  });

  scheduleTest('first-try success: six history events, no search attribute or memo written', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 200 }));
    const { handles } = await startEvent(ts, tenant, [await endpointFor(ts, tenant, receiver.url)]);
    await result(handles[0]!);
    assert.deepEqual(await historyEventTypes(handles[0]!), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'MARKER_RECORDED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });

  scheduleTest('retryNow: a waiting target attempts again at once, before its timer, recorded as manual', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, (_req, index) => (index === 0 ? { status: 503 } : { status: 200, body: 'ok' }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const { handles } = await startEvent(ts, tenant, [endpoint]);
    const handle = handles[0]!;
    await receiver.waitFor(1);
    await waitUntilRetrying(handle, endpoint.id);
    const waiting = (await handle.query(deliveryStateQuery))[endpoint.id] as TargetView;
    assert.equal(waiting.attempts, 1);
    assert.equal(waiting.lastStatusCode, 503);
    assert.ok(waiting.nextAttemptAt !== null);

    await handle.signal(retryNowSignal, { target: endpoint.id });
    assert.deepEqual((await result(handle)).targets, [{ id: endpoint.id, status: 'succeeded', attempts: 2 }]);
    const attempts = await recordedAttempts(ts.env, handle);
    assert.deepEqual(
      attempts.map((a) => ({ attempt: a.result.attempt, statusCode: a.result.statusCode, manual: a.result.manual ?? false })),
      [
        { attempt: 1, statusCode: 503, manual: false },
        { attempt: 2, statusCode: 200, manual: true },
      ],
    );
    const events = await historyEventTypes(handle);
    assert.ok(events.includes('TIMER_CANCELED'), 'the 1 min timer was canceled');
    assert.ok(!events.includes('TIMER_FIRED'), 'the 1 min timer never fired');
    assert.ok(attempts[1]!.recordedAt - attempts[0]!.recordedAt < MINUTE, 'the retry did not wait for the timer');
    assert.equal(receiver.requests.length, 2);
  });

  scheduleTest('resend: a target that already succeeded is sent once more while another still retries', async (ts, t) => {
    const tenant = await newTenant(ts);
    const ok = await receiverFor(t, () => ({ status: 200 }));
    const failing = await receiverFor(t, () => ({ status: 500 }));
    const [epOk, epFail] = [await endpointFor(ts, tenant, ok.url), await endpointFor(ts, tenant, failing.url)];
    const { handles } = await startEvent(ts, tenant, [epOk!, epFail!]);
    const handle = handles[0]!;
    await waitUntilRetrying(handle, epFail!.id);

    await handle.signal(resendSignal, { target: epOk!.id });
    await ok.waitFor(2);
    await handle.signal(cancelSignal, { target: epFail!.id, reason: 'test over' });
    assert.deepEqual((await result(handle)).targets, [
      { id: epOk!.id, status: 'succeeded', attempts: 2 },
      { id: epFail!.id, status: 'canceled', attempts: 1 },
    ]);
    const again = (await recordedAttempts(ts.env, handle)).filter((a) => a.result.target === epOk!.id);
    assert.deepEqual(again.map((a) => [a.result.attempt, a.result.manual ?? false]), [[1, false], [2, true]]);
    assert.equal(ok.requests[1]!.rawBody, ok.requests[0]!.rawBody, 'the same event again');
  });

  scheduleTest('cancel: a waiting target ends canceled and sends nothing more', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500 }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const { handles } = await startEvent(ts, tenant, [endpoint]);
    const handle = handles[0]!;
    await receiver.waitFor(1);
    await waitUntilRetrying(handle, endpoint.id);

    await handle.signal(cancelSignal, { target: endpoint.id, reason: 'endpoint disabled' });
    assert.deepEqual((await result(handle)).targets, [{ id: endpoint.id, status: 'canceled', attempts: 1 }]);
    assert.ok(!(await historyEventTypes(handle)).includes('TIMER_FIRED'));
    assert.equal((await handle.describe()).status.name, 'COMPLETED');
    assert.deepEqual((await logged(handle, endpoint.id)).tokens, [`${endpoint.id}:canceled`, 'canceled'].sort());
    // Skipping well past the whole schedule: still the one request.
    await ts.env.sleep(80 * HOUR);
    assert.equal(receiver.requests.length, 1);
  });

  scheduleTest('an endpoint deleted while its target waits: the next attempt sends nothing and the target ends canceled', async (ts, t) => {
    const tenant = await newTenant(ts);
    const receiver = await receiverFor(t, () => ({ status: 500 }));
    const endpoint = await endpointFor(ts, tenant, receiver.url);
    const { handles } = await startEvent(ts, tenant, [endpoint]);
    const handle = handles[0]!;
    await receiver.waitFor(1);
    await waitUntilRetrying(handle, endpoint.id);

    assert.equal(await ts.store.deleteEndpoint(tenant.id, endpoint.id), true);
    assert.deepEqual((await result(handle)).targets, [{ id: endpoint.id, status: 'canceled', attempts: 1 }]);
    // The timer fired and the second attempt ran, found the endpoint gone and sent nothing.
    const events = await historyEventTypes(handle);
    assert.ok(events.includes('TIMER_FIRED'));
    assert.equal(events.filter((e) => e === 'MARKER_RECORDED').length, 2, 'two attempts ran');
    assert.equal((await recordedAttempts(ts.env, handle)).length, 1, 'one of them sent a request');
    assert.equal(receiver.requests.length, 1);
  });

  scheduleTest(
    '1 000 failing endpoints on one event: partitioned workflows, every endpoint gets all 13 attempts, no limit error',
    async (ts, t) => {
      const tenant = await newTenant(ts);
      const receiver = await receiverFor(t, () => ({ status: 500, body: 'x'.repeat(4096) }));
      const endpoints: EndpointRow[] = [];
      const count = 1000;
      for (let i = 0; i < count; i++) endpoints.push(await endpointFor(ts, tenant, `${receiver.url}/ep${i}`));
      const { envelope, handles } = await startEvent(ts, tenant, endpoints);
      assert.equal(handles.length, Math.ceil(count / TARGETS_PER_WORKFLOW));
      assert.equal(handles[1]!.workflowId, `${envelope.id}#2`);

      // One result at a time: the time-skipping client unlocks skipping while it waits for a result, and
      // two waits at once unbalance the server's lock (it then skips time under open workflow tasks).
      const results: EventWorkflowResult[] = [];
      for (const handle of handles) results.push(await result(handle));
      const targets = results.flatMap((r) => r.targets);
      assert.equal(targets.length, count);
      assert.ok(targets.every((r) => r.status === 'failed' && r.attempts === 13), 'every target failed after 13 attempts');
      const perPath = new Map<string, number>();
      for (const r of receiver.requests) perPath.set(r.path, (perPath.get(r.path) ?? 0) + 1);
      assert.equal(perPath.size, count, 'every endpoint was called');
      assert.ok([...perPath.values()].every((n) => n === 13), 'every endpoint received all 13 attempts');
      for (const handle of handles) {
        const d = await handle.describe();
        assert.equal(d.status.name, 'COMPLETED', `${handle.workflowId} completed`);
        // Response excerpts are kept to 2 KB: each of a partition's histories stays far from Temporal's limits.
        assert.ok(d.historyLength < 10_240, `${handle.workflowId}: ${d.historyLength} events`);
        assert.ok(Number(d.raw.workflowExecutionInfo?.historySizeBytes ?? 0) < 10 * 2 ** 20, `${handle.workflowId}: history size`);
      }
    },
    { timeout: 5 * 60_000, maxInFlightPerOrigin: 1000 },
  );
});
