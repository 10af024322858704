// The real service for integration tests: the API process as `npm run api` runs it (its embedded worker
// on the same NativeConnection, eager start), on a task queue of its own, against the Temporal dev server
// and PostgreSQL that `npm test` started. Retry policies are the real shapes with short delays, so a test
// sees several attempts in seconds.
import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeliveryClient } from '../../activities/http-client';
import { searchAttributes } from '../../domain/contract';
import { startApiProcess } from '../../api/process';
import { loadConfig, type Config } from '../../infra/config';
import type { Db } from '../../infra/db';
import type { EventFacts } from '../../infra/event-facts';
import { createLogger, type Logger } from '../../infra/log';
import { installTelemetry } from '../../infra/telemetry';
import type { RetryPolicy } from '../../domain/policies';
import type { Store } from '../../infra/store';

export const fastPolicies: { standard: RetryPolicy; classic: RetryPolicy } = {
  standard: { name: 'standard-fast', initial: 300, coefficient: 2, attempts: 4, maxSpan: 60_000, jitter: 0 },
  classic: { name: 'classic-fast', delays: [200, 400, 600, 800] },
};

export interface Stack {
  url: string;
  app: Express;
  adminKey: string;
  config: Config;
  db: Db;
  store: Store;
  facts: EventFacts;
  /** The API's client, on its NativeConnection. */
  client: Client;
  taskQueue: string;
  worker: Worker | null;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

let runtimeInstalled: Promise<void> | undefined;
/** Request lines stay out of the test output unless ANVIL_LOG_LEVEL asks for them. */
const quietLogger = createLogger({ level: process.env.ANVIL_TEST_LOG_LEVEL ?? 'silent' });

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\``);
  return v;
}

export async function startStack(
  opts: {
    policies?: typeof fastPolicies;
    /** false: the API runs without its embedded worker (a test starts workers itself). */
    withWorker?: boolean;
    /** production mode: https-only targets */
    secure?: boolean;
    http?: DeliveryClient;
    /** settings on top of the environment's (limits, log level, a short ANVIL_ENDPOINT_FAILURE_SPAN…) */
    env?: Record<string, string>;
    /** another PostgreSQL than the suite's */
    databaseUrl?: string;
    logger?: Logger;
    /** Another API process on the same task queue (several API processes behind one service). */
    taskQueue?: string;
  } = {},
): Promise<Stack> {
  // Once per test process, as `npm run api` installs it (infra/telemetry.ts): SDK errors logged, runtime
  // metrics exported for /metrics.
  runtimeInstalled ??= installTelemetry({ logger: createLogger({ level: 'error', name: 'temporal-sdk' }) });
  await runtimeInstalled;
  const taskQueue = opts.taskQueue ?? `test-${randomBytes(6).toString('hex')}`;
  const adminKey = `admin_${randomBytes(16).toString('hex')}`;
  // Every test file shares one PostgreSQL and so the rate-limit counters of 127.0.0.1: wrong keys sent on
  // purpose must not lock the next test out. The throttling tests set real limits and their own addresses.
  const config = loadConfig({
    ...process.env,
    ANVIL_ALLOW_INSECURE_TARGETS: opts.secure ? '0' : '1',
    ANVIL_EMBEDDED_WORKER: opts.withWorker === false ? '0' : '1',
    // unset (recording histories): bundled from workflows/ at start
    ANVIL_WORKFLOW_BUNDLE: process.env.ANVIL_TEST_WORKFLOW_BUNDLE || undefined,
    ANVIL_AUTH_FAILURE_LIMIT: '1000000',
    ...opts.env,
  });
  const api = await startApiProcess({
    config,
    adminKey,
    databaseUrl: opts.databaseUrl ?? requireEnv('DATABASE_URL'),
    port: 0,
    host: '127.0.0.1',
    poolSize: 5,
    policies: opts.policies ?? fastPolicies,
    taskQueue,
    logger: opts.logger ?? quietLogger,
    ...(opts.http ? { http: opts.http } : {}),
  });
  const stack: Stack = {
    url: api.url,
    app: api.app,
    adminKey,
    config,
    db: api.db,
    store: api.store,
    facts: api.facts,
    client: api.client,
    taskQueue,
    get worker() {
      return api.worker;
    },
    startWorker: () => api.startWorker(),
    stopWorker: () => api.stopWorker(),
    close: () => api.close(),
  };
  return stack;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One API call: JSON in, JSON out. `body` may be a raw string to send malformed input. */
export async function call<T = any>(stack: Pick<Stack, 'url'>, method: string, path: string, key: string | null, body?: unknown): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(stack.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the test sees the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export async function createTenant(stack: Stack, plan: 'pro' | 'enterprise' = 'pro'): Promise<{ id: string; key: string }> {
  const res = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name: `tenant ${randomBytes(3).toString('hex')}`, plan });
  if (res.status !== 201) throw new Error(`creating a tenant: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, key: res.body.api_key };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The delivery ids an event's workflow was started with ([] when it had no target: no workflow at all). */
export async function deliveriesStartedFor(stack: Pick<Stack, 'client'>, eventId: string): Promise<string[]> {
  const description = await stack.client.workflow
    .getHandle(eventId)
    .describe()
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    });
  const targets = (description?.typedSearchAttributes.get(searchAttributes.endpointIds) as string[] | undefined) ?? [];
  return targets.map((target) => `${eventId}:${target}`).sort();
}
