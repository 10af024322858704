import { Router } from 'express';
import type { RouteDeps } from '../app';

const CHECK_TIMEOUT_MS = 3000;

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** GET /healthz: 200 when Temporal and PostgreSQL both answer, else 503 naming the failing part. */
export function healthRouter({ store, temporal }: RouteDeps) {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    const [t, p] = await Promise.allSettled([
      withTimeout(temporal.workflowService.getSystemInfo({})),
      withTimeout(store.ping()),
    ]);
    const temporalState = t.status === 'fulfilled' ? 'ok' : `error: ${(t.reason as Error).message}`;
    const postgresState = p.status === 'fulfilled' ? 'ok' : `error: ${(p.reason as Error).message}`;
    const ok = temporalState === 'ok' && postgresState === 'ok';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', temporal: temporalState, postgres: postgresState });
  });
  return router;
}
