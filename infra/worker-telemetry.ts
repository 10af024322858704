// The worker process's logs and metrics: the Temporal SDK's runtime logs go through our JSON logger, its
// runtime metrics (temporal_*: task latencies, slots, sticky cache, polls…) are exported by the SDK's core
// on a loopback port, and one HTTP endpoint (ANVIL_METRICS_PORT) serves them together with ours
// (infra/metrics.ts). Must run before the first NativeConnection: the runtime is installed once.
import net from 'node:net';
import type { Client } from '@temporalio/client';
import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Config } from './config';
import { log, type Logger } from './log';
import { serveMetrics, setWaitingDeliveriesSource, temporalRuntimeMetrics, workerRegistry } from './metrics';

function loopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The SDK's Logger interface on top of pino. */
export function sdkLogger(logger: Logger) {
  const at = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: LogMetadata) =>
    logger[level]({ sdk: meta ?? {} }, message);
  return {
    log: (level: LogLevel, message: string, meta?: LogMetadata) => at(level.toLowerCase() as 'info')(message, meta),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

export async function installWorkerTelemetry(config: Config): Promise<{ serve(client: Client): Promise<{ close(): Promise<void> }> }> {
  const sdkMetrics = config.metricsPort > 0 ? `127.0.0.1:${await loopbackPort()}` : null;
  Runtime.install({
    logger: sdkLogger(log()),
    ...(sdkMetrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetrics, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
  });
  return {
    async serve(client) {
      if (!sdkMetrics) return { close: async () => {} };
      setWaitingDeliveriesSource(() => countWaitingDeliveries(client));
      try {
        const server = await serveMetrics({ port: config.metricsPort, registry: workerRegistry, extra: temporalRuntimeMetrics(sdkMetrics) });
        log().info(`metrics on port ${config.metricsPort} (/metrics)`);
        return server;
      } catch (err) {
        // Deliveries matter more than their metrics: keep working, say so loudly.
        log().error(`cannot serve metrics on port ${config.metricsPort} (${(err as Error).message}): set ANVIL_METRICS_PORT`);
        return { close: async () => {} };
      }
    },
  };
}

/** Deliveries waiting on a retry timer, cluster-wide. Depends on the engine's search attributes. */
export async function countWaitingDeliveries(client: Client): Promise<number> {
  const r = await client.workflow.count(
    "WorkflowType = 'deliveryWorkflow' AND ExecutionStatus = 'Running' AND AnvilDeliveryStatus = 'retrying'",
  );
  return r.count;
}
