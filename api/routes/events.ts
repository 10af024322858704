import { Router } from 'express';
import { eventIdSchema, publishActionSchema, publishEventSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { allDeliveries } from '../delivery-log';
import { notFound, parsePathId, parseWith } from '../errors';
import { publishAction, publishEvent } from '../publish';
import { countPublishes } from '../../infra/metrics';

export function eventsRouter(deps: RouteDeps) {
  const { store } = deps;
  const router = Router();
  const throttle = deps.rateLimits.publish((req) => tenantOf(req, store));

  /** Events API: 202 with the envelope once Temporal accepted it; a repeated client id answers 200. */
  router.post('/events', countPublishes('event'), throttle, async (req, res) => {
    const input = parseWith(publishEventSchema, req.body);
    const tenant = await tenantOf(req, store);
    const result = await publishEvent(deps, tenant, input);
    res.status(result.status).json(result.body);
  });

  /** Classic actions: `{action, token, data}` to the object's URL or the organization's static URL. */
  router.post('/actions', countPublishes('action'), throttle, async (req, res) => {
    const input = parseWith(publishActionSchema, req.body);
    const tenant = await tenantOf(req, store);
    const result = await publishAction(deps, tenant, input);
    const stored = result.body as { id: string; action: string };
    res.status(result.status).json({ id: stored.id, action: stored.action });
  });

  /** The event as published, with one delivery summary per target. */
  router.get('/events/:id', async (req, res) => {
    const id = parsePathId(eventIdSchema, req.params.id, 'event');
    const tenant = await tenantOf(req, store);
    const row = await store.getEvent(tenant.id, id);
    if (!row) throw notFound(`event ${id}`);
    const deliveries = await allDeliveries(deps, { tenantId: tenant.id, eventId: row.id });
    res.json({ ...row.body, deliveries });
  });

  return router;
}
