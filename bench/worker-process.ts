// A worker in its own process, so the benchmark can read its RSS: `anvil` (the real worker, prebuilt
// bundle) or `baseline`. Configured by the environment like worker/main.ts.
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { createStore } from '../infra/store';
import { createWorker } from '../worker/create-worker';
import * as baselineActivities from './baseline-activities';

async function main() {
  Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
  const kind = process.argv[2];
  const config = loadConfig(process.env);
  const connection = await NativeConnection.connect({ address: config.temporalAddress! });
  let worker: Worker;
  if (kind === 'baseline') {
    worker = await Worker.create({
      connection,
      taskQueue: config.taskQueue,
      workflowBundle: { codePath: process.env.BENCH_BASELINE_BUNDLE! },
      activities: baselineActivities,
      maxConcurrentActivityTaskExecutions: config.workerMaxActivities,
      maxConcurrentWorkflowTaskExecutions: config.workerMaxWorkflowTasks,
      maxCachedWorkflows: config.workerMaxCachedWorkflows,
    });
  } else {
    const db = createDb(config.databaseUrl!, 10);
    ({ worker } = await createWorker({ config, connection, store: createStore(db), workflowBundlePath: process.env.ANVIL_WORKFLOW_BUNDLE }));
  }
  process.send?.('ready');
  if (process.env.BENCH_MEMORY_LOG) {
    const mb = (n: number) => `${Math.round(n / 2 ** 20)}`;
    setInterval(() => {
      const m = process.memoryUsage();
      console.log(`[${kind} worker] rss ${mb(m.rss)} MB, main heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`);
    }, 15_000).unref();
  }
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
