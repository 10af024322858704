// The workflows under Temporal's time-skipping test server: the real workflow bundle, the real activities
// (real store on DATABASE_URL, real HTTP client to loopback receivers), so a 72 h schedule runs in seconds.
// Attempt times are read from the skipped clock: the event times of the postAttempt markers in the history.
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal, type google } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createDeliveryClient, type DeliveryClient } from '../../activities/http-client';
import { createDb, type Db } from '../../infra/db';
import { searchAttributes, type AttemptResult } from '../../domain/delivery';
import { createStore, type Store } from '../../infra/store';
import { requireEnv } from './stack';

/** The marker core writes for a local activity (the one kind of activity the delivery workflows run). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
const EventType = temporal.api.enums.v1.EventType;
const IndexedValueType = temporal.api.enums.v1.IndexedValueType;

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
  const types = {
    KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  } as const;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.values(searchAttributes).map((key) => [key.name, types[key.type as keyof typeof types]]),
    ),
  });
}

export async function startTimeSkipping(): Promise<TimeSkipping> {
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
  const close = () => (closing ??= shutDown());
  const shutDown = async () => {
    if (worker && worker.getState() === 'RUNNING') worker.shutdown();
    await running?.catch((err: unknown) => console.error(err));
    await http?.close();
    await env.teardown();
    await db.end();
  };
  try {
    await registerSearchAttributes(env);
    const store = createStore(db);
    http = createDeliveryClient({ allowInsecureTargets: true });
    const taskQueue = `ts-${randomBytes(6).toString('hex')}`;
    worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      workflowBundle: { codePath: requireEnv('ANVIL_TEST_WORKFLOW_BUNDLE') },
      activities: createActivities({ store, http, temporal: env.client }),
    });
    running = worker.run();
    return { env, store, db, taskQueue, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RecordedAttempt {
  /** When the attempt's marker was recorded, in the server's (skipped) clock. */
  recordedAt: number;
  result: AttemptResult;
}

/** The postAttempt executions of a run, in order, with their times on the skipped clock. */
export async function recordedAttempts(env: TestWorkflowEnvironment, handle: WorkflowHandle): Promise<RecordedAttempt[]> {
  const history = await handle.fetchHistory();
  const converter = env.client.options.loadedDataConverter.payloadConverter;
  const decode = (p: temporal.api.common.v1.IPayload | null | undefined): unknown => (p ? converter.fromPayload(p) : undefined);
  const out: RecordedAttempt[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) continue;
    const meta = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    if (meta?.activity_type !== 'postAttempt') continue;
    out.push({ recordedAt: timestampMs(event.eventTime), result: decode(marker.details?.result?.payloads?.[0]) as AttemptResult });
  }
  return out;
}

/** The history's event types, by name (e.g. 'TIMER_CANCELED'). */
export async function historyEventTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => EventType[e.eventType ?? 0] ?? String(e.eventType)).map((n) => n.replace(/^EVENT_TYPE_/, ''));
}

function timestampMs(ts: google.protobuf.ITimestamp | null | undefined): number {
  if (!ts) throw new Error('history event without a time');
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}
