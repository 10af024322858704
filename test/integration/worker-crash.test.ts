// Durability across a worker crash: a real worker process (worker/main.ts) is killed with SIGKILL while
// deliveries are in flight and a new one is started; every accepted event still reaches every subscribed
// endpoint at least once, with a valid signature.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { verifySignature } from '../../domain/signing';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, requireEnv, startStack, type Stack } from '../support/stack';

const ROOT = path.resolve(__dirname, '../..');
const EVENTS = 30;

let stack: Stack;
const receivers: Receiver[] = [];
const children: ChildProcess[] = [];
const output: string[] = [];

before(async () => {
  stack = await startStack({ withWorker: false });
});
after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

function startWorkerProcess(name: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      ANVIL_WORKFLOW_BUNDLE: requireEnv('ANVIL_TEST_WORKFLOW_BUNDLE'),
      ANVIL_ALLOW_INSECURE_TARGETS: '1',
    },
  });
  const record = (chunk: Buffer) => output.push(`[${name}] ${chunk.toString('utf8')}`);
  child.stdout?.on('data', record);
  child.stderr?.on('data', record);
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

void test('SIGKILL of the worker mid-delivery: every accepted event still reaches every subscribed endpoint', async (t) => {
  let passed = false;
  try {
    await crashAndRecover((line) => t.diagnostic(line));
    passed = true;
  } finally {
    if (!passed) console.error(output.join(''));
  }
});

async function crashAndRecover(note: (line: string) => void): Promise<void> {
  const tenant = await createTenant(stack);
  // Each answer takes ~200 ms, so the kill lands while deliveries are in flight.
  const [a, b] = await Promise.all([startReceiver(() => ({ status: 200, delayMs: 200 })), startReceiver(() => ({ status: 200, delayMs: 200 }))]);
  receivers.push(a, b);
  const endpoints: { id: string; secret: string; receiver: Receiver }[] = [];
  for (const r of [a, b]) {
    const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: r.url, events: ['lead.created'] });
    assert.equal(res.status, 201);
    endpoints.push({ id: res.body.id as string, secret: res.body.secret as string, receiver: r });
  }

  // Accepted before any worker runs: the 202 alone must be enough.
  const eventIds: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const res = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: i } });
    assert.equal(res.status, 202);
    eventIds.push(res.body.id as string);
  }

  const first = startWorkerProcess('worker 1');
  const deadline = Date.now() + 60_000;
  while (a.requests.length + b.requests.length < 4) {
    if (first.exitCode !== null) assert.fail(`worker 1 exited early (${first.exitCode}):\n${output.join('')}`);
    if (Date.now() > deadline) assert.fail(`no deliveries from worker 1:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  first.kill('SIGKILL');
  await exited(first);
  assert.equal(first.signalCode, 'SIGKILL');
  const deliveredBeforeKill = a.requests.length + b.requests.length;
  assert.ok(deliveredBeforeKill < EVENTS * 2, `the kill came before everything was delivered (${deliveredBeforeKill})`);

  // More events while no worker runs, then a fresh worker picks everything up.
  for (let i = 0; i < 5; i++) {
    const res = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: EVENTS + i } });
    assert.equal(res.status, 202);
    eventIds.push(res.body.id as string);
  }
  startWorkerProcess('worker 2');
  const restartedAt = Date.now();

  const missing = () =>
    endpoints.flatMap((ep) => {
      const got = new Set(ep.receiver.requests.map((q) => q.headers['anvil-event-id']));
      return eventIds.filter((id) => !got.has(id)).map((id) => `${id}:${ep.id}`);
    });
  const until = Date.now() + 120_000;
  while (missing().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(missing(), [], 'every (event, endpoint) pair was received');
  const total = a.requests.length + b.requests.length;
  note(`${deliveredBeforeKill} request(s) before the kill; all ${eventIds.length * 2} pairs delivered ` +
    `${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart; ${total - eventIds.length * 2} duplicate(s)`);

  for (const ep of endpoints) {
    for (const req of ep.receiver.requests) {
      assert.doesNotThrow(() => verifySignature(req.rawBody, req.headers['anvil-signature'] as string, ep.secret));
      assert.equal(JSON.parse(req.rawBody).id, req.headers['anvil-event-id']);
    }
    const ids = ep.receiver.requests.map((q) => q.headers['anvil-event-id'] as string);
    assert.ok(ids.every((id) => eventIds.includes(id)), 'nothing unexpected was delivered');
  }
}
