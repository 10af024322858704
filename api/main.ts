// Production entry point of the API (with its embedded worker): `npm run api`, configured only by the
// environment.
import { loadConfig, requireSetting } from '../infra/config';
import { createLogger, log, setProcessLogger } from '../infra/log';
import { installTelemetry } from '../infra/telemetry';
import { BUILT_WORKFLOW_BUNDLE, RUNNING_COMPILED } from '../infra/paths';
import { classicPolicy, scaledPolicy, standardPolicy } from '../domain/policies';
import { startApiProcess } from './process';

async function main() {
  const loaded = loadConfig(process.env);
  const config = { ...loaded, workflowBundle: loaded.workflowBundle ?? (RUNNING_COMPILED ? BUILT_WORKFLOW_BUNDLE : undefined) };
  setProcessLogger(createLogger({ level: config.logLevel, name: 'api' }));
  // Before the NativeConnection: SDK logs as JSON, its runtime metrics appended to /metrics.
  await installTelemetry({ logger: log() });
  const scale = config.retryTimeScale;
  const api = await startApiProcess({
    config,
    adminKey: requireSetting(config.adminKey, 'ANVIL_ADMIN_KEY'),
    databaseUrl: requireSetting(config.databaseUrl, 'DATABASE_URL'),
    ...(scale !== 1 ? { policies: { standard: scaledPolicy(standardPolicy, scale), classic: scaledPolicy(classicPolicy, scale) } } : {}),
  });
  log().info(
    { port: config.port, embeddedWorker: config.embeddedWorker, taskQueue: config.taskQueue, insecureTargets: config.allowInsecureTargets },
    `listening on port ${config.port}` +
      (config.embeddedWorker ? `, worker on task queue ${config.taskQueue} (eager start)` : ' (no embedded worker)'),
  );
  if (scale !== 1) log().warn({ retryTimeScale: scale }, `ANVIL_RETRY_TIME_SCALE=${scale}: every retry wait is scaled (end-to-end and chaos runs only)`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 15_000).unref();
    void api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // Under `npm start` the supervisor holds an IPC channel: when it dies, so do we.
  // The channel must not keep the process alive once everything else has stopped.
  process.channel?.unref();
  process.once('disconnect', shutdown);
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  log().fatal(e.code === 'EADDRINUSE' ? `port ${process.env.PORT ?? 3000} is already in use: set PORT` : (e.message ?? String(err)));
  process.exit(1);
});
