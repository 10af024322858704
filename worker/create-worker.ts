// Worker wiring: workflows (prebuilt bundle when given), activities with their shared HTTP client.
import { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDeliveryClient, type DeliveryClient } from '../activities/http-client';
import type { Config } from '../infra/config';
import type { Store } from '../infra/store';

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  store: Store;
  /** Path of a bundle made by `npm run build`; without it the workflows are bundled at start. */
  workflowBundlePath?: string;
  http?: DeliveryClient;
  taskQueue?: string;
}

export async function createWorker({ config, connection, store, workflowBundlePath, http, taskQueue }: WorkerDeps) {
  const client =
    http ??
    createDeliveryClient({
      allowInsecureTargets: config.allowInsecureTargets,
      maxInFlightPerOrigin: config.maxInFlightPerEndpoint,
    });
  // tsx turns source maps on; the workflow sandbox captures stack traces on hot paths, and with source
  // maps on every capture maps its frames. Workflow code is a webpack bundle: the maps buy little here.
  process.setSourceMapsEnabled(false);
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: taskQueue ?? config.taskQueue,
    ...(workflowBundlePath
      ? { workflowBundle: { codePath: workflowBundlePath } }
      : { workflowsPath: require.resolve('../workflows') }),
    // The client shares the worker's NativeConnection, which makes eager workflow start possible.
    activities: createActivities({
      store,
      http: client,
      temporal: new Client({ connection, namespace: config.temporalNamespace }),
      eagerStart: true,
    }),
    maxConcurrentLocalActivityExecutions: config.workerMaxActivities,
    maxConcurrentActivityTaskExecutions: config.workerMaxActivities,
    maxConcurrentWorkflowTaskExecutions: config.workerMaxWorkflowTasks,
    // Every event and every delivery begins with a task on the shared (non-sticky) queue; the default
    // ratio leaves 2 of 10 pollers there, and the first task of a workflow then waits for a poller.
    maxConcurrentWorkflowTaskPolls: Math.min(20, config.workerMaxWorkflowTasks),
    nonStickyToStickyPollRatio: 0.5,
    // Workflows waiting on long retry timers need no cache; evicted ones replay when their timer fires.
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
  });
  return { worker, http: client };
}
