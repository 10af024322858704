// Production entry point of the worker: `npm run worker`, configured only by the environment.
import { loadConfig, requireSetting } from '../infra/config';
import { createDb, DEFAULT_POOL_SIZE } from '../infra/db';
import { createEventFacts } from '../infra/event-facts';
import { createListenStore } from '../infra/listen-store';
import { createChannelListener } from '../infra/pg-channels';
import { createStore } from '../infra/store';
import { connectWorkerConnection, DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';
import { BUILT_WORKFLOW_BUNDLE, RUNNING_COMPILED } from '../infra/paths';
import { createWorker } from './create-worker';
import { createLogger, log, setProcessLogger } from '../infra/log';
import { installTelemetry, serveWorkerMetrics } from '../infra/telemetry';
import { Client } from '@temporalio/client';

async function main() {
  const config = loadConfig(process.env);
  setProcessLogger(createLogger({ level: config.logLevel, name: 'worker' }));
  await installTelemetry({ logger: log(), sdkMetrics: config.metricsPort > 0 });
  const db = createDb(requireSetting(config.databaseUrl, 'DATABASE_URL'), DEFAULT_POOL_SIZE, { keepOpen: DEFAULT_POOL_SIZE });
  const connection = await connectWorkerConnection(config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS);
  const facts = createEventFacts(db, (err) => log().warn(`event facts not written: ${err.message}`));
  const channels = createChannelListener(db);
  const { worker, http } = await createWorker({
    config,
    connection,
    store: createStore(db),
    facts,
    listen: { store: createListenStore(db), channels, freshMs: config.listenSessionTimeoutMs },
    workflowBundlePath: config.workflowBundle ?? (RUNNING_COMPILED ? BUILT_WORKFLOW_BUNDLE : undefined),
  });
  const metrics = await serveWorkerMetrics(config, new Client({ connection, namespace: config.temporalNamespace }));
  log().info(
    { taskQueue: config.taskQueue, namespace: config.temporalNamespace, insecureTargets: config.allowInsecureTargets },
    `polling task queue ${config.taskQueue} in namespace ${config.temporalNamespace}`,
  );
  // Under `npm start` the supervisor holds an IPC channel: when it dies, so do we.
  // The channel must not keep the process alive once everything else has stopped.
  process.channel?.unref();
  process.once('disconnect', () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  try {
    await worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks finished
  } finally {
    await http.close();
    await channels.close();
    await facts.flush();
    await metrics.close();
    await connection.close();
    await db.end();
  }
}

main().catch((err: unknown) => {
  log().fatal(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
