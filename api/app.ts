// The Express application, built from injected dependencies so a test can mount the real routes.
import express from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../infra/config';
import { classicPolicy, standardPolicy, type RetryPolicy } from '../domain/policies';
import { createEndpointCache, type EndpointCache } from '../infra/endpoint-cache';
import type { EventFacts } from '../infra/event-facts';
import type { Store } from '../infra/store';
import { authenticate } from './auth';
import { errorHandler, routeNotFound } from './errors';
import { classicRouter } from './routes/classic';
import { deliveriesRouter } from './routes/deliveries';
import { endpointsRouter } from './routes/endpoints';
import { eventsRouter } from './routes/events';
import { healthRouter } from './routes/health';
import { tenantsRouter } from './routes/tenants';

export interface AppDeps {
  config: Config;
  store: Store;
  temporal: Client;
  adminKey: string;
  /** Where started events and first-attempt outcomes are noted (written behind, in batches). */
  facts: EventFacts;
  /** The client shares a NativeConnection with a worker of this process: start workflows eagerly. */
  eagerStart?: boolean;
  /** Endpoint rows read at publish, for the first attempt in this process's worker. */
  endpoints?: EndpointCache;
  /** Told of every event workflow start and whether it was eager. */
  onWorkflowStarted?: (eager: boolean) => void;
  /** The policies new deliveries get; tests pass ones with tiny delays. */
  policies?: { standard: RetryPolicy; classic: RetryPolicy };
  taskQueue?: string;
}

export type RouteDeps = Required<Pick<AppDeps, 'policies' | 'taskQueue' | 'eagerStart' | 'endpoints'>> & AppDeps;

export function createApp(deps: AppDeps) {
  const full: RouteDeps = {
    ...deps,
    policies: deps.policies ?? { standard: standardPolicy, classic: classicPolicy },
    taskQueue: deps.taskQueue ?? deps.config.taskQueue,
    eagerStart: deps.eagerStart ?? false,
    endpoints: deps.endpoints ?? createEndpointCache(),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: deps.config.bodyLimit, strict: false, type: () => true }));
  app.use(healthRouter(full));
  app.use('/v1', authenticate(deps.store, deps.adminKey));
  app.use('/v1', tenantsRouter(full));
  app.use('/v1', endpointsRouter(full));
  app.use('/v1', eventsRouter(full));
  app.use('/v1', classicRouter(full));
  app.use('/v1', deliveriesRouter(full));
  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
