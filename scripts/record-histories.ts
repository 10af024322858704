// Re-records test/histories/*.json, the stored histories the replay test (test/workflow/replay.test.ts)
// holds today's workflow code to: every path an event's workflow takes, produced by the real stack (API
// with its embedded worker, workflow code, activities, loopback receivers) against a Temporal dev server,
// with short retry policies so it finishes in seconds. Each file is the JSON `temporal workflow show -o
// json` writes. test/histories/legacy/ holds histories of the engine before one workflow per event,
// recorded by that engine: they are never re-recorded (they are what running executions looked like).
//
//   npx tsx scripts/record-histories.ts [out dir]      (default test/histories)
//
// It starts its own in-memory dev server (TEMPORAL_CLI, else .venv/bin/temporal) and throwaway embedded
// PostgreSQL, unless TEMPORAL_ADDRESS and DATABASE_URL are both set (e.g. under `npm test`'s services).
// Re-record after an intended, versioned workflow change; never to make a failing replay pass.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createDb, migrate } from '../infra/db';
import type { RetryPolicy } from '../domain/policies';
import { createDeliveryClient } from '../activities/http-client';
import { startReceiver, type Receiver, type Responder } from '../test/support/receiver';
import { call, createTenant, eventually, startStack, type Stack } from '../test/support/stack';
import { ensureNamespaceSetup } from '../infra/namespace';
import { freePort, startEmbeddedPostgres, startTemporalDevServer } from './local-services';

const ROOT = path.resolve(__dirname, '..');
const log = (line: string) => console.log(`[record] ${line}`);
type Tenant = { id: string; key: string };

// The real policy shapes (exponential with jitter; fixed classic delays), shortened.
const fastPolicies: { standard: RetryPolicy; classic: RetryPolicy } = {
  standard: { name: 'record-standard', initial: 200, coefficient: 2, attempts: 3, maxSpan: 60_000, jitter: 0.1 },
  classic: { name: 'record-classic', delays: [200, 400, 600, 800] },
};
// A delivery that waits an hour for its next attempt, for retry-now and cancel to interrupt the timer.
const hourlyPolicies: { standard: RetryPolicy; classic: RetryPolicy } = {
  standard: { name: 'record-hourly', delays: [3_600_000, 3_600_000] },
  classic: fastPolicies.classic,
};

/** Starts a dev server and PostgreSQL unless the environment names them; sets the env startStack reads. */
async function services(scratch: string): Promise<() => Promise<void>> {
  if (process.env.TEMPORAL_ADDRESS && process.env.DATABASE_URL) return async () => {};
  const cli = process.env.TEMPORAL_CLI ?? path.join(ROOT, '.venv', 'bin', 'temporal');
  if (!existsSync(cli)) throw new Error(`no Temporal CLI at ${cli}: set TEMPORAL_CLI, or run \`npm test\` once to install it`);
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
  };
  try {
    const server = await startTemporalDevServer({ cli, dbFile: null, port: await freePort(), uiPort: null, log });
    cleanups.push(() => server.stop());
    await ensureNamespaceSetup(server.address, 'default', 30, log);
    const pg = await startEmbeddedPostgres({ dir: path.join(scratch, 'pg'), port: await freePort(), database: 'anvil_record', log: () => {} });
    cleanups.push(() => pg.stop());
    const db = createDb(pg.url, 1);
    await migrate(db);
    await db.end();
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.DATABASE_URL = pg.url;
    return cleanup;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

class Recorder {
  readonly receivers: Receiver[] = [];
  readonly written: string[] = [];
  constructor(readonly outDir: string) {}

  async receiver(respond: Responder): Promise<Receiver> {
    const r = await startReceiver(respond);
    this.receivers.push(r);
    return r;
  }

  /** Writes one closed run's history, exactly as `temporal workflow show -o json` would. */
  async save(stack: Stack, name: string, workflowId: string, runId?: string): Promise<void> {
    const handle = stack.client.workflow.getHandle(workflowId, runId);
    const closed = await eventually(
      async () => {
        const d = await handle.describe();
        return d.status.name !== 'RUNNING' ? d : undefined;
      },
      20_000,
      `${workflowId} to close`,
    );
    const history = await handle.fetchHistory();
    writeFileSync(path.join(this.outDir, `${name}.json`), `${historyToJSON(history)}\n`);
    this.written.push(name);
    log(`${name}.json: ${closed.type} ${workflowId} (${history.events?.length ?? 0} events, ${closed.status.name})`);
  }

  async close() {
    await Promise.all(this.receivers.map((r) => r.close()));
  }
}

async function endpoint(stack: Stack, tenant: Tenant, url: string): Promise<string> {
  const res = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url, events: ['lead.created'] });
  if (res.status !== 201) throw new Error(`creating an endpoint: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

async function publish(stack: Stack, tenant: Tenant): Promise<string> {
  const res = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { lead_id: 'lead_replay', score: 42 } });
  if (res.status !== 202) throw new Error(`publishing: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Waits for the delivery log to show `status` (and `attempts`, when given). */
async function until(stack: Stack, tenant: Tenant, id: string, status: string, attempts?: number) {
  return eventually(
    async () => {
      const res = await call(stack, 'GET', `/v1/deliveries/${id}`, tenant.key);
      const ok = res.status === 200 && res.body.status === status && (attempts === undefined || res.body.attempts.length === attempts);
      return ok ? (res.body as { next_attempt_at: string | null; attempts: unknown[] }) : undefined;
    },
    30_000,
    `${id} to be ${status}${attempts === undefined ? '' : ` after ${attempts} attempt(s)`}`,
  );
}

const policyAttemptsOf = (p: RetryPolicy) => ('delays' in p ? p.delays.length + 1 : p.attempts);

/** One endpoint that answers 200 at once: the happy path (six events). */
async function recordFirstTry(rec: Recorder, stack: Stack) {
  const tenant = await createTenant(stack);
  const ok = await rec.receiver(() => ({ status: 200, body: 'ok' }));
  const ep = await endpoint(stack, tenant, ok.url);
  const event = await publish(stack, tenant);
  await until(stack, tenant, `${event}:${ep}`, 'succeeded', 1);
  await rec.save(stack, 'event-success-first-try', event);
}

/** Fan-out to three endpoints: first try, retried then success, exhausted, each on its own timers. */
async function recordFanOut(rec: Recorder, stack: Stack) {
  const tenant = await createTenant(stack, 'enterprise');
  const ok = await rec.receiver(() => ({ status: 200, body: 'ok' }));
  const flaky = await rec.receiver((_r, i) => (i === 0 ? { status: 500, body: 'try again' } : { status: 200, body: 'ok' }));
  const down = await rec.receiver(() => ({ status: 503, body: 'down' }));
  const [epOk, epFlaky, epDown] = [await endpoint(stack, tenant, ok.url), await endpoint(stack, tenant, flaky.url), await endpoint(stack, tenant, down.url)];
  const event = await publish(stack, tenant);
  await until(stack, tenant, `${event}:${epOk}`, 'succeeded', 1);
  await until(stack, tenant, `${event}:${epFlaky}`, 'succeeded', 2);
  await until(stack, tenant, `${event}:${epDown}`, 'failed', policyAttemptsOf(fastPolicies.standard));
  await rec.save(stack, 'event-fan-out-mixed', event);
}

/** Two endpoints on one origin that answers slowly, with one request in flight per origin: one waits. */
async function recordBusy(rec: Recorder, stack: Stack) {
  const tenant = await createTenant(stack);
  const slow = await rec.receiver(() => ({ status: 200, delayMs: 300 }));
  const [a, b] = [await endpoint(stack, tenant, `${slow.url}/a`), await endpoint(stack, tenant, `${slow.url}/b`)];
  const event = await publish(stack, tenant);
  await until(stack, tenant, `${event}:${a}`, 'succeeded', 1);
  await until(stack, tenant, `${event}:${b}`, 'succeeded', 1);
  await rec.save(stack, 'event-busy-destination', event);
}

/** Classic action with an RSA key: data encrypted once by the first attempt, which fails; the second sends it again. */
async function recordClassicEncrypted(rec: Recorder, stack: Stack) {
  const tenant = await createTenant(stack);
  const hook = await rec.receiver((_r, i) => (i === 0 ? { status: 500, body: 'not yet' } : { status: 204 }));
  const keypair = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  if (keypair.status !== 201) throw new Error(`keypair: ${keypair.status}`);
  const settings = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: hook.url });
  if (settings.status !== 200) throw new Error(`webhook settings: ${settings.status}`);
  const action = await call(stack, 'POST', '/v1/actions', tenant.key, { action: 'weldComplete', data: { weld: 'weld_replay' } });
  if (action.status !== 202) throw new Error(`action: ${action.status}`);
  await until(stack, tenant, `${action.body.id}:classic`, 'succeeded', 2);
  const sent = hook.requests.map((r) => JSON.parse(r.rawBody) as { data: unknown });
  if (typeof sent[0]!.data !== 'string' || (sent[0]!.data as string).split(':').length !== 3) throw new Error('classic data was not encrypted');
  if (sent[1]!.data !== sent[0]!.data) throw new Error('the second attempt did not send the same encrypted data');
  await rec.save(stack, 'event-classic-encrypted', action.body.id);
}

/**
 * Waiting an hour: retry now (a manual attempt in the same run); a finished target re-sent while another
 * still waits (the workflow sends it itself); then, once closed, a re-send (a new run for one target).
 */
async function recordRetryAndResend(rec: Recorder, stack: Stack) {
  const tenant = await createTenant(stack);
  const hook = await rec.receiver((_r, i) => (i === 0 ? { status: 500, body: 'not yet' } : { status: 200, body: 'ok' }));
  const down = await rec.receiver(() => ({ status: 503, body: 'down' }));
  const ep = await endpoint(stack, tenant, hook.url);
  const epDown = await endpoint(stack, tenant, down.url);
  const event = await publish(stack, tenant);
  const id = `${event}:${ep}`;
  await until(stack, tenant, id, 'retrying', 1);
  const retry = await call(stack, 'POST', `/v1/deliveries/${id}/retry`, tenant.key);
  if (retry.status !== 202 || retry.body.retry !== 'attempting_now') throw new Error(`retry: ${retry.status} ${JSON.stringify(retry.body)}`);
  await until(stack, tenant, id, 'succeeded', 2);
  const resend = await call(stack, 'POST', `/v1/deliveries/${id}/retry`, tenant.key);
  if (resend.status !== 202 || resend.body.retry !== 'attempting_now') throw new Error(`re-send in the run: ${resend.status} ${JSON.stringify(resend.body)}`);
  await until(stack, tenant, id, 'succeeded', 3);
  // End the other target's wait, so the workflow closes; then a re-send is a new run.
  const del = await call(stack, 'DELETE', `/v1/endpoints/${epDown}`, tenant.key);
  if (del.status !== 204) throw new Error(`delete: ${del.status}`);
  await until(stack, tenant, `${event}:${epDown}`, 'canceled', 1);
  const firstRun = (await stack.client.workflow.getHandle(event).describe()).runId;
  await rec.save(stack, 'event-retry-now-resend-canceled', event, firstRun);
  const again = await call(stack, 'POST', `/v1/deliveries/${id}/retry`, tenant.key);
  if (again.status !== 202 || again.body.retry !== 'resent') throw new Error(`re-send after close: ${again.status} ${JSON.stringify(again.body)}`);
  await until(stack, tenant, id, 'succeeded', 4);
  const secondRun = (await stack.client.workflow.getHandle(event).describe()).runId;
  if (secondRun === firstRun) throw new Error('the re-send did not start a new run');
  await rec.save(stack, 'event-resent-after-close', event, secondRun);
}

async function main() {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, 'test', 'histories'));
  const scratch = path.join(ROOT, '.tmp', `record-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  process.env.ANVIL_TEST_WORKFLOW_BUNDLE = ''; // bundle today's workflows/ source, never a stale bundle
  const stopServices = await services(scratch);
  const rec = new Recorder(outDir);
  const stacks: Stack[] = [];
  try {
    const fast = await startStack({ policies: fastPolicies });
    stacks.push(fast);
    const hourly = await startStack({ policies: hourlyPolicies });
    stacks.push(hourly);
    const oneAtATime = await startStack({ policies: fastPolicies, http: createDeliveryClient({ allowInsecureTargets: true, maxInFlightPerOrigin: 1, slotWaitMs: 0 }) });
    stacks.push(oneAtATime);
    await Promise.all([
      recordFirstTry(rec, fast),
      recordFanOut(rec, fast),
      recordClassicEncrypted(rec, fast),
      recordRetryAndResend(rec, hourly),
      recordBusy(rec, oneAtATime),
    ]);
    log(`wrote ${rec.written.length} histories to ${path.relative(ROOT, outDir) || outDir}`);
  } finally {
    await rec.close();
    for (const s of stacks) await s.close();
    await stopServices();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[record] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
