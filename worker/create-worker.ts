// Worker wiring: workflows (prebuilt bundle when given), activities with their shared HTTP client. The API
// process hosts one on its own NativeConnection (eager start); `npm run worker` runs one alone.
import { Worker, type NativeConnection } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { createActivities } from '../activities';
import { createDeliveryClient, type DeliveryClient } from '../activities/http-client';
import { withListenTransport, type ListenTransportDeps } from '../activities/listen-transport';
import type { Config } from '../infra/config';
import type { EndpointCache } from '../infra/endpoint-cache';
import type { EventFacts } from '../infra/event-facts';
import type { Store } from '../infra/store';
import { applyWorkflowStackTraces, watchdogPatchApplied } from './sdk-patch';

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  store: Store;
  facts: EventFacts;
  /** Endpoint rows the API of this process read at publish (first attempts reuse them). */
  endpoints?: EndpointCache;
  /** Path of a bundle made by `npm run build`; without it the workflows are bundled at start. */
  workflowBundlePath?: string;
  http?: DeliveryClient;
  taskQueue?: string;
  /** Deliveries to `anvil-webhooks listen` endpoints go over the CLI's connection (through PostgreSQL). */
  listen?: ListenTransportDeps;
}

/**
 * Slots, pollers, cache and the sandbox watchdog, from the configuration: anvil's workers and the bench's
 * reference workers (bench/system-process.ts) take them from here, so both pay for the same settings.
 */
export function workerTuning(config: Config) {
  return {
    maxConcurrentLocalActivityExecutions: config.workerMaxActivities,
    maxConcurrentActivityTaskExecutions: config.workerMaxActivities,
    maxConcurrentWorkflowTaskExecutions: config.workerMaxWorkflowTasks,
    // Started eagerly, most first tasks never reach a poller; those that do (a busy or absent API worker)
    // wait on the shared queue, so keep half the pollers there. Each poller holds a workflow-task slot
    // while it polls: a slot it holds is one an eager start cannot take.
    maxConcurrentWorkflowTaskPolls: Math.min(config.workerMaxWorkflowTaskPolls, config.workerMaxWorkflowTasks),
    nonStickyToStickyPollRatio: 0.5,
    // Workflows waiting on long retry timers need no cache; evicted ones replay when their timer fires.
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
    // Not in the SDK's option types, but read (scripts/patch-temporal-worker.mjs says why and what 0 gives up).
    ...({ isolateExecutionTimeout: config.workflowDeadlockTimeoutMs } as object),
  };
}

export async function createWorker({ config, connection, store, facts, endpoints, workflowBundlePath, http, taskQueue, listen }: WorkerDeps) {
  const direct =
    http ??
    createDeliveryClient({
      allowInsecureTargets: config.allowInsecureTargets,
      maxInFlightPerOrigin: config.maxInFlightPerEndpoint,
    });
  const client = listen ? withListenTransport(direct, listen) : direct;
  // tsx turns source maps on; the workflow sandbox captures stack traces on hot paths, and with source
  // maps on every capture maps its frames. Workflow code is a webpack bundle: the maps buy little here.
  process.setSourceMapsEnabled(false);
  if (config.workflowDeadlockTimeoutMs === 0 && !watchdogPatchApplied()) {
    throw new Error('ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS=0 needs the patch `npm install` applies to @temporalio/worker (scripts/patch-temporal-worker.mjs): run npm install, or set a timeout such as 5000');
  }
  applyWorkflowStackTraces(config.workflowStackTraces);
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: taskQueue ?? config.taskQueue,
    ...(workflowBundlePath
      ? { workflowBundle: { codePath: workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({
      store,
      http: client,
      facts,
      endpoints,
      endpointFailureSpanMs: config.endpointFailureSpanMs,
      // The legacy fan-out starts deliveryWorkflows with a client on this same connection.
      temporal: new Client({ connection, namespace: config.temporalNamespace }),
      eagerStart: true,
    }),
    ...workerTuning(config),
  });
  return { worker, http: client };
}
