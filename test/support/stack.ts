// The real service for integration tests: the API app and a worker (on a task queue of its own) against
// the Temporal dev server and PostgreSQL that `npm test` started. Retry policies are the real shapes with
// short delays, so a test sees several attempts in seconds.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { loadConfig, type Config } from '../../infra/config';
import { createDb, type Db } from '../../infra/db';
import type { RetryPolicy } from '../../domain/policies';
import { createStore, type Store } from '../../infra/store';
import { createWorker } from '../../worker/create-worker';

export const fastPolicies: { standard: RetryPolicy; classic: RetryPolicy } = {
  standard: { name: 'standard-fast', initial: 300, coefficient: 2, attempts: 4, maxSpan: 60_000, jitter: 0 },
  classic: { name: 'classic-fast', delays: [200, 400, 600, 800] },
};

export interface Stack {
  url: string;
  adminKey: string;
  config: Config;
  db: Db;
  store: Store;
  client: Client;
  taskQueue: string;
  worker: Worker | null;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite with \`npm test\``);
  return v;
}

export async function startStack(
  opts: { policies?: typeof fastPolicies; withWorker?: boolean; /** production mode: https-only targets */ secure?: boolean } = {},
): Promise<Stack> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    runtimeInstalled = true;
  }
  const config = loadConfig({ ...process.env, ANVIL_ALLOW_INSECURE_TARGETS: opts.secure ? '0' : '1' });
  const address = requireEnv('TEMPORAL_ADDRESS');
  const db = createDb(requireEnv('DATABASE_URL'), 5);
  const store = createStore(db);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const adminKey = `admin_${randomBytes(16).toString('hex')}`;
  const app = createApp({ config, store, temporal: client, adminKey, policies: opts.policies ?? fastPolicies, taskQueue });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const workerConnection = await NativeConnection.connect({ address });
  let running: Promise<void> | null = null;
  const stack: Stack = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    adminKey,
    config,
    db,
    store,
    client,
    taskQueue,
    worker: null,
    async startWorker() {
      const { worker } = await createWorker({
        config,
        connection: workerConnection,
        store,
        taskQueue,
        workflowBundlePath: process.env.ANVIL_TEST_WORKFLOW_BUNDLE,
      });
      stack.worker = worker;
      running = worker.run();
    },
    async stopWorker() {
      if (stack.worker && stack.worker.getState() === 'RUNNING') stack.worker.shutdown();
      await running;
      stack.worker = null;
      running = null;
    },
    async close() {
      await stack.stopWorker();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await workerConnection.close();
      await connection.close();
      await db.end();
    },
  };
  if (opts.withWorker !== false) await stack.startWorker();
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
