// Logs, metrics and tenant deletion on the real stack (the API process with its embedded worker): every
// log line is JSON with a level and, inside a request, its request id, and no secret ever appears in the
// logs; /metrics on the API counts requests and publishes and, while its worker runs, carries the worker's
// metrics and the Temporal SDK's; the attempt counter grows by exactly one per attempt a receiver saw; a
// worker-only process (`npm run worker`) serves its own; deleting a tenant cancels its pending deliveries
// and no POST arrives afterwards.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { deliveryStateQuery } from '../../domain/contract';
import type { EventWorkflowResult } from '../../domain/delivery';
import { createLogger } from '../../infra/log';
import { freePort } from '../../scripts/local-services';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, requireEnv, startStack, type Stack } from '../support/stack';

const ROOT = path.resolve(__dirname, '../..');
const lines: string[] = [];
let stack: Stack;
const receivers: Receiver[] = [];
const children: ChildProcess[] = [];

before(async () => {
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  stack = await startStack({
    logger,
    // Slow enough retries that the test acts between attempts; fast enough to see several.
    policies: { standard: { name: 'standard-test', delays: [1500, 1500, 1500] }, classic: { name: 'classic-test', delays: [1500] } },
  });
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  return res.text();
}

/** The value of one sample, e.g. `anvil_delivery_attempts_total{outcome="http_error"}`; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

void test('JSON log lines with a level; every line of a request carries its id; secrets never appear', async () => {
  lines.length = 0;
  const tenant = await createTenant(stack);
  const ep = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'http://127.0.0.1:9/hook', events: ['lead.created'] });
  const secret = (await call(stack, 'GET', `/v1/endpoints/${ep.body.id}/secret`, tenant.key)).body.secret as string;
  const rotated = (await call(stack, 'POST', `/v1/endpoints/${ep.body.id}/rotate-secret`, tenant.key)).body.secret as string;
  const settings = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: 'http://127.0.0.1:9/classic' });
  const keypair = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  const key2 = (await call(stack, 'POST', '/v1/api-keys', tenant.key, { name: 'second' })).body.api_key as string;
  await call(stack, 'GET', '/v1/endpoints', 'anv_sk_guessed_key_that_is_wrong');
  const traced = await fetch(`${stack.url}/v1/endpoints?tenant_id=${tenant.id}`, {
    headers: { authorization: `Bearer ${tenant.key}`, 'x-request-id': 'trace-abc-123' },
  });
  assert.equal(traced.headers.get('x-request-id'), 'trace-abc-123');
  await new Promise((r) => setTimeout(r, 100));

  assert.ok(lines.length >= 9, `${lines.length} lines`);
  const secrets = [stack.adminKey, tenant.key, key2, secret, rotated, settings.body.token, keypair.body.private_key, 'anv_sk_guessed_key_that_is_wrong'];
  for (const line of lines) {
    const entry = JSON.parse(line) as { level: string; time: string; reqId?: string; req?: { method: string; path: string }; res?: { status: number } };
    assert.ok(['info', 'warn', 'error'].includes(entry.level), line);
    assert.match(entry.time, /^\d{4}-\d{2}-\d{2}T/);
    assert.match(entry.reqId ?? '', /\S/, `a request's line carries its id: ${line}`);
    for (const s of secrets) assert.equal(line.includes(String(s).slice(0, 40)), false, `a secret in the log: ${line}`);
  }
  const mine = lines.map((l) => JSON.parse(l)).filter((e) => e.reqId === 'trace-abc-123');
  assert.equal(mine.length, 1);
  assert.deepEqual([mine[0].req, mine[0].res], [{ method: 'GET', path: '/v1/endpoints' }, { status: 200 }]);
  assert.equal(lines.map((l) => JSON.parse(l)).find((e) => e.res?.status === 401)?.level, 'warn');
});

void test('/metrics on the API counts requests by route and publishes by outcome', async () => {
  const tenant = await createTenant(stack);
  const before = await scrape(stack.url);
  const accepted = 'anvil_publish_total{kind="event",outcome="accepted"}';
  const duplicate = 'anvil_publish_total{kind="event",outcome="duplicate"}';
  const route = 'anvil_http_requests_total{method="POST",route="/v1/events",status="202"}';
  const event = { id: 'evt_metrics000000001', type: 'lead.created', data: {} };
  assert.equal((await call(stack, 'POST', '/v1/events', tenant.key, event)).status, 202);
  assert.equal((await call(stack, 'POST', '/v1/events', tenant.key, event)).status, 200);
  const now = await scrape(stack.url);
  assert.equal(sample(now, accepted) - sample(before, accepted), 1);
  assert.equal(sample(now, duplicate) - sample(before, duplicate), 1);
  assert.equal(sample(now, route) - sample(before, route), 1);
  assert.match(now, /^anvil_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/v1\/events"\}/m);
  assert.match(now, /^process_cpu_seconds_total /m);
});

void test('the worker’s attempt counter grows by one per attempt a receiver saw, by outcome, with latencies', async () => {
  const hook = await startReceiver((_req, i) => ({ status: i < 2 ? 503 : 200 }));
  receivers.push(hook);
  const tenant = await createTenant(stack);
  await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: hook.url, events: ['lead.created'] });
  // The API process's /metrics: its embedded worker made the attempts.
  const before = await scrape(stack.url);
  const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  assert.equal(published.status, 202);
  await hook.waitFor(3, 20_000);
  const after = await eventually(async () => {
    const text = await scrape(stack.url);
    return sample(text, 'anvil_delivery_attempts_total{outcome="succeeded"}') > sample(before, 'anvil_delivery_attempts_total{outcome="succeeded"}') ? text : undefined;
  }, 5000);
  const grew = (name: string) => sample(after, name) - sample(before, name);
  assert.equal(hook.requests.length, 3);
  assert.equal(grew('anvil_delivery_attempts_total{outcome="http_error"}'), 2);
  assert.equal(grew('anvil_delivery_attempts_total{outcome="succeeded"}'), 1);
  assert.equal(grew('anvil_delivery_attempts_total{outcome="no_response"}'), 0);
  assert.equal(grew('anvil_delivery_attempt_duration_seconds_count{outcome="http_error"}'), 2);
  assert.match(after, /^# TYPE anvil_deliveries_waiting_retry gauge/m);
});

void test('the API’s /metrics carries its embedded worker’s metrics and the Temporal SDK’s; without its worker, the API’s alone', async () => {
  const withWorker = await scrape(stack.url);
  assert.match(withWorker, /^anvil_http_requests_total\{/m);
  assert.match(withWorker, /^# TYPE anvil_delivery_attempts_total counter/m);
  assert.match(withWorker, /^# TYPE anvil_delivery_attempt_duration_seconds histogram/m);
  assert.match(withWorker, /^# TYPE anvil_deliveries_waiting_retry gauge/m);
  assert.match(withWorker, /^# HELP anvil_deliveries_waiting_retry Delivery workflows with at least one delivery waiting/m);
  // The SDK's core: its worker's slots and polls, its client's requests.
  assert.match(withWorker, /^temporal_worker_task_slots_available\{/m);
  assert.match(withWorker, /^temporal_request_total\{/m);
  assert.equal(withWorker.match(/^# TYPE process_cpu_seconds_total /gm)?.length, 1, 'the process metrics once');

  await stack.stopWorker();
  try {
    const alone = await scrape(stack.url);
    assert.match(alone, /^anvil_http_requests_total\{/m);
    assert.doesNotMatch(alone, /anvil_delivery_attempts_total/);
    assert.doesNotMatch(alone, /anvil_deliveries_waiting_retry/);
  } finally {
    await stack.startWorker();
  }
});

void test('a worker-only process (npm run worker) serves its own /metrics on ANVIL_METRICS_PORT, with deliveries waiting on retry', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // A queue of its own: the stack's deliveries stay with the stack's worker.
      TEMPORAL_TASK_QUEUE: `obs-${randomBytes(4).toString('hex')}`,
      ANVIL_WORKFLOW_BUNDLE: requireEnv('ANVIL_TEST_WORKFLOW_BUNDLE'),
      ANVIL_METRICS_PORT: String(port),
      ANVIL_LOG_LEVEL: 'warn',
    },
  });
  children.push(child);
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  try {
    // Up (but its gauge not read yet: the first read counts afresh).
    await eventually(async () => ((await fetch(`${url}/livez`).catch(() => null))?.status === 200 ? true : undefined), 60_000, 'the worker’s /livez');

    // A delivery of the stack's waiting on a retry timer (the receiver fails; retries 1.5 s apart).
    const hook = await startReceiver(() => ({ status: 500 }));
    receivers.push(hook);
    const tenant = await createTenant(stack);
    const ep = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: hook.url, events: ['lead.created'] });
    const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
    await hook.waitFor(1, 20_000);
    await eventually(async () => {
      const d = await call(stack, 'GET', `/v1/deliveries/${published.body.id as string}:${ep.body.id as string}`, tenant.key);
      return d.body.status === 'retrying' ? true : undefined;
    }, 10_000);

    const text = await scrape(url);
    assert.ok(sample(text, 'anvil_deliveries_waiting_retry') >= 1, 'the retrying delivery is counted (cluster-wide)');
    assert.match(text, /^# TYPE anvil_delivery_attempts_total counter/m);
    assert.match(text, /^temporal_worker_task_slots_available\{/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.doesNotMatch(text, /anvil_http_requests_total/, 'no API here');
  } catch (err) {
    console.error(output.join(''));
    throw err;
  } finally {
    child.kill('SIGTERM');
    await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  }
});

void test('deleting a tenant cancels its pending deliveries, removes its data, and no POST arrives later', async () => {
  const hooks = [await startReceiver(() => ({ status: 500 })), await startReceiver(() => ({ status: 500 }))];
  receivers.push(...hooks);
  const tenant = await createTenant(stack);
  const endpoints: string[] = [];
  for (const hook of hooks) {
    endpoints.push((await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: hook.url, events: ['lead.created'] })).body.id as string);
  }
  const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} });
  await Promise.all(hooks.map((hook) => hook.waitFor(1, 20_000)));
  // Both deliveries visible as retrying in the delivery log before the deletion.
  for (const ep of endpoints) {
    await eventually(async () => {
      const d = await call(stack, 'GET', `/v1/deliveries/${published.body.id as string}:${ep}`, tenant.key);
      return d.body.status === 'retrying' ? true : undefined;
    }, 10_000);
  }
  // What an operator can ask the running workflow: every target's state; the SDK's stack trace is off by
  // default (ANVIL_WORKFLOW_STACK_TRACES, scripts/patch-temporal-worker.mjs) and says so.
  const handle = stack.client.workflow.getHandle(published.body.id as string);
  const state = await handle.query(deliveryStateQuery);
  assert.deepEqual(Object.keys(state).sort(), [...endpoints].sort());
  assert.ok(Object.values(state).every((t) => t.status === 'retrying'), JSON.stringify(state));
  await assert.rejects(handle.query('__stack_trace'), /stack traces are not enabled/);
  const deleted = await call(stack, 'DELETE', `/v1/tenants/${tenant.id}`, stack.adminKey);
  assert.equal(deleted.status, 200);
  // One event workflow holds both deliveries: it is told once to cancel all its targets.
  assert.equal(deleted.body.canceled_deliveries, 1);
  const result = (await stack.client.workflow.getHandle(published.body.id as string).result()) as EventWorkflowResult;
  assert.deepEqual(
    result.targets.map((t) => [t.id, t.status]).sort(),
    endpoints.map((ep) => [ep, 'canceled']).sort(),
  );
  const seen = hooks.map((hook) => hook.requests.length);
  await new Promise((r) => setTimeout(r, 5000)); // past the next three scheduled attempts
  assert.deepEqual(
    hooks.map((hook) => hook.requests.length),
    seen,
    'no POST after the deletion',
  );
  for (const table of ['tenants', 'api_keys', 'endpoints', 'events', 'webhook_settings']) {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const rows = await stack.db.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [tenant.id]);
    assert.equal(rows.rowCount, 0, `${table} rows removed`);
  }
});
