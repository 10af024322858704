// Prometheus metrics (prom-client), in three registries a process serves together at /metrics:
//   process: the process and Node.js defaults (process_*, nodejs_*), in every process
//   API:     anvil_http_requests_total, anvil_http_request_duration_seconds, anvil_publish_total
//   worker:  anvil_delivery_attempts_total, anvil_delivery_attempt_duration_seconds,
//            anvil_deliveries_waiting_retry
// The API process serves process + API + the Temporal SDK's runtime metrics (temporal_*, infra/telemetry.ts),
// and worker while its embedded worker runs; `npm run worker` serves process + worker + SDK.
// Code that records something calls one verb here (`recordAttempt`, `recordPublish`), nothing else.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import client from 'prom-client';

export const processRegistry = new client.Registry();
client.collectDefaultMetrics({ register: processRegistry });

// --- API -------------------------------------------------------------------------------------------
export const apiRegistry = new client.Registry();

const httpRequests = new client.Counter({
  name: 'anvil_http_requests_total',
  help: 'HTTP requests answered by the API, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [apiRegistry],
});
const httpDuration = new client.Histogram({
  name: 'anvil_http_request_duration_seconds',
  help: 'Time from request to answer, by method and route template',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [apiRegistry],
});
const publishes = new client.Counter({
  name: 'anvil_publish_total',
  help: 'Events and classic actions published, by kind (event, action) and outcome',
  labelNames: ['kind', 'outcome'] as const,
  registers: [apiRegistry],
});

export type PublishOutcome = 'accepted' | 'duplicate' | 'conflict' | 'rate_limited' | 'unavailable' | 'rejected';

export function recordPublish(kind: 'event' | 'action', outcome: PublishOutcome): void {
  publishes.inc({ kind, outcome });
}

/** Counts a publishing route's answers by outcome, read from the status it answered with. */
export function countPublishes(kind: 'event' | 'action'): RequestHandler {
  return (_req, res, next) => {
    res.once('finish', () => {
      const s = res.statusCode;
      const outcome: PublishOutcome =
        s === 202 ? 'accepted' : s === 200 ? 'duplicate' : s === 409 ? 'conflict' : s === 429 ? 'rate_limited' : s >= 500 ? 'unavailable' : 'rejected';
      recordPublish(kind, outcome);
    });
    next();
  };
}

/** Counts and times every answer under its route template (`/v1/endpoints/:id`), never the raw path. */
export const httpMetrics: RequestHandler = (req, res, next) => {
  const end = httpDuration.startTimer();
  res.once('finish', () => {
    const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
    httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    end({ method: req.method, route });
  });
  next();
};

// --- worker ----------------------------------------------------------------------------------------
export const workerRegistry = new client.Registry();

export type AttemptOutcome = 'succeeded' | 'http_error' | 'no_response';

const attempts = new client.Counter({
  name: 'anvil_delivery_attempts_total',
  help: 'Delivery attempts made, by outcome: succeeded (2xx), http_error (another status), no_response (time-out, connection error, refused destination)',
  labelNames: ['outcome'] as const,
  registers: [workerRegistry],
});
const attemptDuration = new client.Histogram({
  name: 'anvil_delivery_attempt_duration_seconds',
  help: 'Duration of delivery attempts (request sent to answer or failure), by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [workerRegistry],
});

/** One attempt made: called by the activity that POSTs, once per request a receiver could see. */
export function recordAttempt(outcome: AttemptOutcome, ms: number): void {
  attempts.inc({ outcome });
  attemptDuration.observe({ outcome }, ms / 1000);
}

/** The outcome label of an attempt's result. */
export const attemptOutcome = (r: { ok: boolean; statusCode: number | null }): AttemptOutcome =>
  r.ok ? 'succeeded' : r.statusCode !== null ? 'http_error' : 'no_response';

/** Re-counted at most this often: every worker reads the same number from Temporal's visibility store. */
const WAITING_CACHE_MS = 10_000;
let waitingSource: (() => Promise<number>) | null = null;
let waitingCache: { value: number; at: number } | null = null;

new client.Gauge({
  name: 'anvil_deliveries_waiting_retry',
  help:
    'Delivery workflows with at least one delivery waiting on a retry timer, cluster-wide from Temporal visibility (refreshed at most every 10 s): ' +
    'an event workflow counts once however many of its targets wait; a legacy deliveryWorkflow is one delivery',
  registers: [workerRegistry],
  async collect() {
    if (!waitingSource) return;
    if (!waitingCache || Date.now() - waitingCache.at > WAITING_CACHE_MS) {
      try {
        waitingCache = { value: await waitingSource(), at: Date.now() };
      } catch {
        return; // Temporal unreachable: leave the last value
      }
    }
    this.set(waitingCache.value);
  },
});

/** Where the worker's gauge of deliveries waiting on retry reads its number. */
export function setWaitingDeliveriesSource(count: () => Promise<number>): void {
  waitingSource = count;
  waitingCache = null;
}

// --- serving ---------------------------------------------------------------------------------------
/** Text exposition of registries, with `extra` text (the Temporal SDK's exporter) appended. */
export async function metricsText(registries: client.Registry[], extra?: () => Promise<string>): Promise<string> {
  const parts = await Promise.all(registries.map((r) => r.metrics()));
  if (extra) parts.push(await extra().catch(() => ''));
  return parts.filter((p) => p.length > 0).join('\n');
}

export const METRICS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

/** A small HTTP server for processes without an API: GET /metrics and GET /livez. */
export async function serveMetrics(opts: {
  port: number;
  host?: string;
  registries: client.Registry[];
  extra?: () => Promise<string>;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      metricsText(opts.registries, opts.extra).then(
        (body) => res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && req.url === '/livez') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"not_found","message":"GET /metrics or /livez"}}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
