// The Temporal SDK's runtime, set up in one place for every process that hosts a worker or a client on a
// NativeConnection (`npm run api` with its embedded worker, `npm run worker`, the test stack): its logs go
// through our JSON logger, and its runtime metrics (temporal_*: task latencies, slots, sticky cache,
// polls, requests…) are exported by the SDK's core on a loopback port, which /metrics reads and appends
// to ours (infra/metrics.ts). Must run before the first NativeConnection: the runtime is installed once.
//   - the API process serves them on its own port at /metrics, with its worker's metrics while its
//     embedded worker runs (api/process.ts);
//   - a worker-only process (`npm run worker`) serves them on ANVIL_METRICS_PORT (serveWorkerMetrics).
import type { Client } from '@temporalio/client';
import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import { searchAttributes as sa, workflowTypes } from '../domain/contract';
import { quote } from './visibility';
import type { Config } from './config';
import { log, type Logger } from './log';
import { freePort } from './ports';
import { processRegistry, serveMetrics, setWaitingDeliveriesSource, workerRegistry } from './metrics';

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

/** Where the SDK's core exports its metrics, once installed with them. */
let sdkMetricsAddress: string | null = null;

/**
 * Installs the SDK runtime: logs through `logger`, and (unless `sdkMetrics` is false) core's Prometheus
 * exporter on a loopback port for sdkRuntimeMetrics() to read.
 */
export async function installTelemetry(opts: { logger: Logger; sdkMetrics?: boolean }): Promise<void> {
  const address = opts.sdkMetrics === false ? null : `127.0.0.1:${await freePort()}`;
  Runtime.install({
    logger: sdkLogger(opts.logger),
    ...(address
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: address, countersTotalSuffix: true, useSecondsForDurations: true } } } }
      : {}),
  });
  sdkMetricsAddress = address;
}

/** The SDK's runtime metrics (Prometheus text), '' when the runtime exports none or cannot be read. */
export async function sdkRuntimeMetrics(): Promise<string> {
  if (!sdkMetricsAddress) return '';
  const res = await fetch(`http://${sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
  return res?.ok ? res.text() : '';
}

/** Workers of this process: the gauge of deliveries waiting on retry counts through `client`. */
export function countWaitingThrough(client: Client): void {
  setWaitingDeliveriesSource(() => countWaitingDeliveries(client));
}

/**
 * `npm run worker`: the worker's registry and the SDK's runtime metrics on ANVIL_METRICS_PORT (0: none).
 * A port already taken is logged as an error and the worker keeps delivering.
 */
export async function serveWorkerMetrics(config: Config, client: Client): Promise<{ url: string | null; close(): Promise<void> }> {
  countWaitingThrough(client);
  if (config.metricsPort === 0) return { url: null, close: async () => {} };
  try {
    const server = await serveMetrics({ port: config.metricsPort, registries: [processRegistry, workerRegistry], extra: sdkRuntimeMetrics });
    log().info(`metrics on port ${config.metricsPort} (/metrics)`);
    return server;
  } catch (err) {
    // Deliveries matter more than their metrics: keep working, say so loudly.
    log().error(`cannot serve metrics on port ${config.metricsPort} (${(err as Error).message}): set ANVIL_METRICS_PORT`);
    return { url: null, close: async () => {} };
  }
}

/**
 * Workflows holding at least one delivery waiting on a retry timer, cluster-wide: event workflows with a
 * target in `retrying` (per-target status tokens), plus legacy deliveryWorkflows (one delivery each) not
 * drained yet. An event workflow counts once however many of its targets wait.
 */
export const WAITING_RETRY_QUERY =
  `(WorkflowType = ${quote(workflowTypes.event)} AND ${sa.targetStates.name} = 'retrying' AND ExecutionStatus = 'Running')` +
  ` OR (WorkflowType = ${quote(workflowTypes.legacyDelivery)} AND ${sa.status.name} = 'retrying' AND ExecutionStatus = 'Running')`;

export async function countWaitingDeliveries(client: Client): Promise<number> {
  return (await client.workflow.count(WAITING_RETRY_QUERY)).count;
}
