import { Router } from 'express';
import type { RouteDeps } from '../app';
import { apiRegistry, metricsText, METRICS_CONTENT_TYPE, processRegistry } from '../../infra/metrics';

const CHECK_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/**
 * GET /healthz and /readyz: 200 when Temporal and PostgreSQL both answer, else 503 naming the failing
 * part (a load balancer stops sending traffic). GET /livez: 200 while the process serves HTTP at all (a
 * supervisor restarts it otherwise; a dependency outage is no reason to). GET /metrics: Prometheus text,
 * what the process hosting the app serves (default: the process's and the API's metrics).
 */
export function healthRouter({ store, temporal, metrics }: RouteDeps) {
  const exposition = metrics ?? (() => metricsText([processRegistry, apiRegistry]));
  const router = Router();
  const readiness = async (_req: unknown, res: import('express').Response) => {
    const [t, p] = await Promise.allSettled([
      withTimeout(temporal.workflowService.getSystemInfo({})),
      withTimeout(store.ping()),
    ]);
    const temporalState = t.status === 'fulfilled' ? 'ok' : `error: ${(t.reason as Error).message}`;
    const postgresState = p.status === 'fulfilled' ? 'ok' : `error: ${(p.reason as Error).message}`;
    const ok = temporalState === 'ok' && postgresState === 'ok';
    if (!ok) res.setHeader('Retry-After', '5');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', temporal: temporalState, postgres: postgresState });
  };
  router.get('/healthz', readiness);
  router.get('/readyz', readiness);
  router.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(METRICS_CONTENT_TYPE).send(await exposition());
  });
  return router;
}
