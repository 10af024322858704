// The API process: Express on a port, a Temporal client on a NativeConnection, and (unless
// ANVIL_EMBEDDED_WORKER=0) a worker on that same connection, so the event workflows this process starts
// are started eagerly: the first workflow task comes back with the start and runs here, with no matching
// round trip. Eager start falls back to ordinary dispatch by itself when this worker has no free slot.
// Used by `npm run api`, `npm start`, the tests and the benchmark. Its /metrics carries its worker's
// metrics while that runs; close() closes everything it opened, its LISTEN connection included.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { DeliveryClient } from '../activities/http-client';
import type { RetryPolicy } from '../domain/policies';
import type { Config } from '../infra/config';
import { createDb, DEFAULT_POOL_SIZE, type Db } from '../infra/db';
import { createEndpointCache } from '../infra/endpoint-cache';
import { createEventClaims } from '../infra/event-claims';
import { createEventFacts, type EventFacts } from '../infra/event-facts';
import { log, type Logger } from '../infra/log';
import { apiRegistry, metricsText, processRegistry, workerRegistry } from '../infra/metrics';
import { createStore, type Store } from '../infra/store';
import { countWaitingThrough, sdkRuntimeMetrics } from '../infra/telemetry';
import { connectWorkerConnection, DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';
import { createWorker } from '../worker/create-worker';
import { createApp } from './app';
import { classicPolicy, standardPolicy } from '../domain/policies';
import { createChannelListener, type ChannelListener } from '../infra/pg-channels';
import { createListenStore } from '../infra/listen-store';
import { startEndpointHealth } from './endpoint-health';
import { createListenRelay } from './listen-relay';

export interface ApiProcessOptions {
  config: Config;
  adminKey: string;
  databaseUrl: string;
  port?: number;
  host?: string;
  /** Tests and the benchmark: policies with other delays, a task queue of their own, an HTTP client. */
  policies?: { standard: RetryPolicy; classic: RetryPolicy };
  taskQueue?: string;
  http?: DeliveryClient;
  poolSize?: number;
  onWorkflowStarted?: (eager: boolean) => void;
  /** Request logs go here (default: the process logger). */
  logger?: Logger;
}

export interface ApiProcess {
  url: string;
  server: Server;
  app: Express;
  client: Client;
  connection: NativeConnection;
  db: Db;
  store: Store;
  facts: EventFacts;
  /** This process's LISTEN connection (API-key revocations, endpoint health, listen sessions). */
  channels: ChannelListener;
  worker: Worker | null;
  /** Starts (again) the embedded worker. */
  startWorker(): Promise<void>;
  /** Stops the embedded worker; the API keeps answering (starts are then dispatched through matching). */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startApiProcess(opts: ApiProcessOptions): Promise<ApiProcess> {
  const { config } = opts;
  const poolSize = opts.poolSize ?? DEFAULT_POOL_SIZE;
  const db = createDb(opts.databaseUrl, poolSize, { keepOpen: poolSize });
  const store = createStore(db);
  const facts = createEventFacts(db, (err) => log().warn(`event facts not written: ${err.message}`));
  const endpoints = createEndpointCache();
  const claims = createEventClaims(db);
  const connection = await connectWorkerConnection(config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS);
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const taskQueue = opts.taskQueue ?? config.taskQueue;
  const channels = createChannelListener(db);
  const listen = createListenStore(db);
  const relay = createListenRelay({ listen, store, temporal: client, channels, timeoutMs: config.listenSessionTimeoutMs });
  const app = createApp({
    config,
    db,
    store,
    temporal: client,
    adminKey: opts.adminKey,
    channels,
    facts,
    endpoints,
    claims,
    eagerStart: config.embeddedWorker,
    taskQueue,
    listenSessions: { store: listen, relay },
    ...(opts.policies ? { policies: opts.policies } : {}),
    ...(opts.onWorkflowStarted ? { onWorkflowStarted: opts.onWorkflowStarted } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    // The API's metrics, the SDK runtime's (installed by the entry point with infra/telemetry.ts; none
    // when installed without an exporter) and, while it runs, the embedded worker's.
    metrics: () => metricsText([processRegistry, apiRegistry, ...(processHandle.worker ? [workerRegistry] : [])], sdkRuntimeMetrics),
  });
  const health = startEndpointHealth({
    store,
    temporal: client,
    taskQueue,
    policies: opts.policies ?? { standard: standardPolicy, classic: classicPolicy },
    endpoints,
    claims,
    facts,
    eagerStart: config.embeddedWorker,
    channels,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? config.port, opts.host ?? '0.0.0.0', () => resolve(s));
    s.once('error', reject);
  });
  let running: Promise<void> | null = null;
  let http: DeliveryClient | null = null;
  const processHandle: ApiProcess = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    app,
    client,
    connection,
    db,
    store,
    facts,
    channels,
    worker: null,
    async startWorker() {
      const created = await createWorker({
        config,
        connection,
        store,
        facts,
        endpoints,
        taskQueue,
        workflowBundlePath: config.workflowBundle,
        listen: { store: listen, channels, freshMs: config.listenSessionTimeoutMs },
        ...(opts.http ? { http: opts.http } : {}),
      });
      processHandle.worker = created.worker;
      countWaitingThrough(client);
      http = opts.http ? null : created.http;
      running = created.worker.run();
    },
    async stopWorker() {
      const worker = processHandle.worker;
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await http?.close();
      processHandle.worker = null;
      running = null;
      http = null;
    },
    async close() {
      await relay.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await health.close();
      await processHandle.stopWorker();
      await channels.close();
      await facts.flush();
      await connection.close();
      await db.end();
    },
  };
  if (config.embeddedWorker) await processHandle.startWorker();
  return processHandle;
}
