// The workflows under Temporal's time-skipping test server: the real workflow bundle, the real activities
// (real store on DATABASE_URL, real HTTP client to loopback receivers), so a 72 h schedule runs in seconds.
// Attempt times are read from the skipped clock: the event times of the attempts' markers in the history.
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createDeliveryClient, type DeliveryClient } from '../../activities/http-client';
import { createDb, type Db } from '../../infra/db';
import { createEventFacts } from '../../infra/event-facts';
import { searchAttributeDefinitions } from '../../infra/namespace';
import { attemptsInHistory, type RecordedAttempt } from '../../infra/history';
import { createStore, type Store } from '../../infra/store';
import { requireEnv } from './stack';

const EventType = temporal.api.enums.v1.EventType;

export interface TimeSkipping {
  env: TestWorkflowEnvironment;
  store: Store;
  db: Db;
  taskQueue: string;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * The test server knows only its predefined search attributes, and the workflows upsert (and deliveries
 * are started with) the Anvil ones, so they must be registered first. The test
 * server implements AddSearchAttributes but not ListSearchAttributes, so they are added unconditionally
 * (each test server is fresh).
 */
async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes: searchAttributeDefinitions() });
}

export async function startTimeSkipping(opts: { maxInFlightPerOrigin?: number } = {}): Promise<TimeSkipping> {
  if (!runtimeInstalled) {
    // Core warns that the test server lacks a newer server's capability (heartbeat details): only errors.
    Runtime.install({
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: requireEnv('TEMPORAL_TEST_SERVER') } },
  });
  const db = createDb(requireEnv('DATABASE_URL'), 5);
  let http: DeliveryClient | null = null;
  let worker: Worker | null = null;
  let running: Promise<void> | null = null;
  let closing: Promise<void> | null = null;
  const facts = createEventFacts(db);
  const close = () => (closing ??= shutDown());
  const shutDown = async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running?.catch((err: unknown) => console.error(err));
    await http?.close();
    await env.teardown();
    await facts.flush(); // written behind: before the pool ends, as the API process does on close
    await db.end();
  };
  try {
    await registerSearchAttributes(env);
    const store = createStore(db);
    http = createDeliveryClient({ allowInsecureTargets: true, ...(opts.maxInFlightPerOrigin ? { maxInFlightPerOrigin: opts.maxInFlightPerOrigin } : {}) });
    const taskQueue = `ts-${randomBytes(6).toString('hex')}`;
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: { codePath: requireEnv('ANVIL_TEST_WORKFLOW_BUNDLE') },
      activities: createActivities({ store, http, facts, temporal: env.client }),
    });
    running = worker.run();
    return { env, store, db, taskQueue, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The attempts of a run (requests sent), in order, with their times on the skipped clock. */
export async function recordedAttempts(env: TestWorkflowEnvironment, handle: WorkflowHandle, legacyTarget?: string): Promise<RecordedAttempt[]> {
  return attemptsInHistory(await handle.fetchHistory(), env.client.options.loadedDataConverter, legacyTarget);
}

/** The history's event types, by name (e.g. 'TIMER_CANCELED'). */
export async function historyEventTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => EventType[e.eventType ?? 0] ?? String(e.eventType)).map((n) => n.replace(/^EVENT_TYPE_/, ''));
}

