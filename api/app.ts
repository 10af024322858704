// The Express application, built from injected dependencies so a test can mount the real routes.
import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/log';
import { httpMetrics } from '../infra/metrics';
import { classicPolicy, standardPolicy, type RetryPolicy } from '../domain/policies';
import { createEndpointCache, type EndpointCache } from '../infra/endpoint-cache';
import { createEventClaims, type EventClaims } from '../infra/event-claims';
import type { EventFacts } from '../infra/event-facts';
import type { ListenStore } from '../infra/listen-store';
import type { Store } from '../infra/store';
import { createAuthenticator } from './auth';
import { errorHandler, routeNotFound } from './errors';
import { checkJsonShape } from './json-limits';
import { requestLog } from './request-log';
import { methodNotAllowed, openApiDocument } from './openapi';
import { createRateLimits } from './rate-limits';
import { apiKeysRouter } from './routes/api-keys';
import { docsRouter } from './routes/docs';
import { classicRouter } from './routes/classic';
import { deliveriesRouter } from './routes/deliveries';
import { endpointsRouter } from './routes/endpoints';
import { eventsRouter } from './routes/events';
import { healthRouter } from './routes/health';
import { portalRouter } from './portal/pages';
import { portalSessionsRouter } from './portal/sessions';
import { listenRouter } from './routes/listen';
import type { ListenRelay } from './listen-relay';
import type { ChannelListener } from '../infra/pg-channels';
import { tenantsRouter } from './routes/tenants';
import { noStore, securityHeaders } from './security-headers';

export interface AppDeps {
  config: Config;
  /** The pool behind `store`: the rate limiters keep their counters in it. */
  db: Db;
  store: Store;
  temporal: Client;
  adminKey: string;
  /** The process's LISTEN connection: API-key revocations and tenant deletions reach the key cache through it. */
  channels: ChannelListener;
  /** Where started events and first-attempt outcomes are noted (written behind, in batches). */
  facts: EventFacts;
  /** The client shares a NativeConnection with a worker of this process: start workflows eagerly. */
  eagerStart?: boolean;
  /** Event ids claimed in batches with their subscriptions (default: a new one on `db`). */
  claims?: EventClaims;
  /** Endpoint rows read at publish, for the first attempt in this process's worker. */
  endpoints?: EndpointCache;
  /** Told of every event workflow start and whether it was eager. */
  onWorkflowStarted?: (eager: boolean) => void;
  /** The policies new deliveries get; tests pass ones with tiny delays. */
  policies?: { standard: RetryPolicy; classic: RetryPolicy };
  taskQueue?: string;
  /** Request logs go here (default: the process logger). */
  logger?: Logger;
  /** What GET /metrics serves (default: the process's and the API's metrics; api/process.ts adds its worker's). */
  metrics?: () => Promise<string>;
  /** `anvil-webhooks listen` sessions (their streams held by this process's relay). */
  listenSessions?: { store: ListenStore; relay: ListenRelay };
}

export type RouteDeps = Required<Pick<AppDeps, 'policies' | 'taskQueue' | 'eagerStart' | 'endpoints' | 'claims'>> &
  AppDeps & { rateLimits: ReturnType<typeof createRateLimits> };

export function createApp(deps: AppDeps): Express {
  const rateLimits = createRateLimits(deps.db, deps.config);
  const full: RouteDeps = {
    ...deps,
    policies: deps.policies ?? { standard: standardPolicy, classic: classicPolicy },
    taskQueue: deps.taskQueue ?? deps.config.taskQueue,
    eagerStart: deps.eagerStart ?? false,
    endpoints: deps.endpoints ?? createEndpointCache(),
    claims: deps.claims ?? createEventClaims(deps.db),
    rateLimits,
  };
  const auth = createAuthenticator(deps.store, deps.adminKey, rateLimits, deps.channels);
  const app = express();
  app.disable('x-powered-by');
  // Every /v1 answer is Cache-Control: no-store: an ETag (a SHA-1 of each body) would buy nothing.
  app.set('etag', false);
  app.set('query parser', 'simple');
  if (deps.config.trustProxy !== undefined) {
    const t = deps.config.trustProxy;
    app.set('trust proxy', /^\d+$/.test(t) ? Number(t) : t.split(',').map((s) => s.trim()));
  }
  app.use(requestLog(deps.logger));
  app.use(httpMetrics);
  app.use(securityHeaders({ hsts: deps.config.hsts }));
  app.use(
    express.json({
      limit: deps.config.bodyLimit,
      strict: false,
      type: () => true,
      verify: (_req, _res, body) => checkJsonShape(body, { maxDepth: deps.config.jsonMaxDepth, maxKeys: deps.config.jsonMaxKeys }),
    }),
  );
  app.use(healthRouter(full));
  const openapi = openApiDocument();
  app.use(docsRouter(openapi));
  app.use('/portal', portalRouter(full));
  app.use('/v1', noStore, auth.middleware);
  // Publishing first: the hottest routes skip the other routers' matching (no two routers share a path).
  app.use('/v1', eventsRouter(full));
  app.use('/v1', classicRouter(full));
  app.use('/v1', portalSessionsRouter(full));
  app.use('/v1', tenantsRouter(full, auth));
  app.use('/v1', apiKeysRouter(full, auth));
  app.use('/v1', endpointsRouter(full));
  app.use('/v1', deliveriesRouter(full));
  if (deps.listenSessions) app.use('/v1', listenRouter({ ...full, listen: deps.listenSessions.store, relay: deps.listenSessions.relay }));
  app.use(methodNotAllowed(openapi));
  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
