// Upgrades don't strand work: executions of the engine before one workflow per event (an eventWorkflow
// whose fanOut activity starts one deliveryWorkflow per target) keep running on today's workers and finish,
// also across a worker restart that makes them replay; the delivery log shows them beside today's
// deliveries, and a finished one can still be re-sent (by today's engine).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { API_VERSION } from '../../domain/catalog';
import { workflowTypes } from '../../domain/contract';
import type { EventEnvelope } from '../../domain/delivery';
import { newEventId } from '../../domain/ids';
import { legacyDeliveryInputs, type LegacyEventWorkflowInput } from '../../domain/legacy';
import { legacyDeliveryStartOptions } from '../../infra/start-options';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, fastPolicies, startStack, type Stack } from '../support/stack';

let stack: Stack;
const receivers: Receiver[] = [];
before(async () => {
  stack = await startStack();
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function endpoint(tenant: { key: string }, url: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url, events: ['lead.created'] });
  assert.equal(res.status, 201);
  return res.body.id as string;
}

function envelopeFor(tenantId: string): EventEnvelope {
  return { id: newEventId(), type: 'lead.created', created: new Date().toISOString(), tenant_id: tenantId, data: { n: 1 }, api_version: API_VERSION };
}

const detailWhen = (tenant: { key: string }, id: string, ready: (d: any) => boolean) =>
  eventually(
    async () => {
      const res = await call(stack, 'GET', `/v1/deliveries/${id}`, tenant.key);
      return res.status === 200 && ready(res.body) ? res.body : undefined;
    },
    30_000,
    `${id}`,
  );

void test('a deliveryWorkflow started before the upgrade finishes after it, across a worker restart, and is listed and re-sent', async () => {
  const tenant = await createTenant(stack);
  const receiver = await startReceiver((_req, i) => (i === 0 ? { status: 503, body: 'not yet' } : { status: 200, body: 'ok' }));
  receivers.push(receiver);
  const ep = await endpoint(tenant, receiver.url);
  const envelope = envelopeFor(tenant.id);
  // As the old fanOut activity started it (the legacy standard policy: here 5 s before the second attempt).
  const policy = { ...fastPolicies.standard, name: 'legacy-test', initial: 5000 };
  const [input] = legacyDeliveryInputs({ kind: 'event', envelope, policy }, [{ deliveryId: `${envelope.id}:${ep}`, target: { type: 'endpoint', endpointId: ep } }]);
  await stack.client.workflow.start(workflowTypes.legacyDelivery, legacyDeliveryStartOptions(input!, stack.taskQueue));
  await receiver.waitFor(1);

  // The worker restarts while the delivery waits on its timer: the new one replays the legacy history.
  await stack.stopWorker();
  await stack.startWorker();
  const done = await detailWhen(tenant, input!.deliveryId, (d) => d.status === 'succeeded');
  assert.deepEqual(done.attempts.map((a: any) => [a.attempt, a.status_code]), [[1, 503], [2, 200]]);
  assert.equal(done.endpoint_id, ep);
  assert.equal(done.event_id, envelope.id);
  assert.equal(receiver.requests.length, 2);

  const listed = await call(stack, 'GET', `/v1/deliveries?endpoint_id=${ep}`, tenant.key);
  assert.deepEqual(
    listed.body.data.map((d: any) => [d.id, d.status, d.attempts, d.last_status_code]),
    [[input!.deliveryId, 'succeeded', 2, 200]],
  );

  // Re-sending the finished legacy delivery: today's engine sends it once more, numbered after.
  const retry = await call(stack, 'POST', `/v1/deliveries/${input!.deliveryId}/retry`, tenant.key);
  assert.equal(retry.status, 202);
  assert.equal(retry.body.retry, 'resent');
  const again = await detailWhen(tenant, input!.deliveryId, (d) => d.attempts.length === 3 && d.status === 'succeeded');
  assert.deepEqual(again.attempts.map((a: any) => [a.attempt, a.status_code, a.manual]), [[1, 503, false], [2, 200, false], [3, 200, true]]);
  assert.equal(receiver.requests.length, 3);
  assert.equal(receiver.requests[2]!.rawBody, receiver.requests[0]!.rawBody, 'the same event');
  const listedAgain = await call(stack, 'GET', `/v1/deliveries?endpoint_id=${ep}`, tenant.key);
  assert.deepEqual(listedAgain.body.data.map((d: any) => [d.id, d.status, d.attempts]), [[input!.deliveryId, 'succeeded', 3]], 'listed once');
});

void test('an eventWorkflow of the old shape (no targets: its fanOut activity resolves them) still fans out and delivers', async () => {
  const tenant = await createTenant(stack);
  const receiver = await startReceiver(() => ({ status: 200, body: 'ok' }));
  receivers.push(receiver);
  const ep = await endpoint(tenant, receiver.url);
  const envelope = envelopeFor(tenant.id);
  const input: LegacyEventWorkflowInput = { kind: 'event', envelope, policy: fastPolicies.standard };
  const handle = await stack.client.workflow.start(workflowTypes.event, { taskQueue: stack.taskQueue, workflowId: envelope.id, args: [input] });
  assert.deepEqual(await handle.result(), { deliveries: [`${envelope.id}:${ep}`] });
  const done = await detailWhen(tenant, `${envelope.id}:${ep}`, (d) => d.status === 'succeeded');
  assert.equal(done.attempts.length, 1);
  await receiver.waitFor(1);
  assert.equal(JSON.parse(receiver.requests[0]!.rawBody).id, envelope.id);
});
