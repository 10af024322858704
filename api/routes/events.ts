import { Router } from 'express';
import { publishActionSchema, publishEventSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { allDeliveries } from '../delivery-log';
import { notFound, parseWith } from '../errors';
import { publishAction, publishEvent } from '../publish';

export function eventsRouter(deps: RouteDeps) {
  const { store } = deps;
  const router = Router();

  /** Events API: 202 with the envelope once Temporal accepted it; a repeated client id answers 200. */
  router.post('/events', async (req, res) => {
    const input = parseWith(publishEventSchema, req.body);
    const tenant = await tenantOf(req, store);
    const result = await publishEvent(deps, tenant, input);
    res.status(result.status).json(result.body);
  });

  /** Classic actions: `{action, token, data}` to the object's URL or the organization's static URL. */
  router.post('/actions', async (req, res) => {
    const input = parseWith(publishActionSchema, req.body);
    const tenant = await tenantOf(req, store);
    const result = await publishAction(deps, tenant, input);
    const stored = result.body as { id: string; action: string };
    res.status(result.status).json({ id: stored.id, action: stored.action });
  });

  /** The event as published, with one delivery summary per target. */
  router.get('/events/:id', async (req, res) => {
    const tenant = await tenantOf(req, store);
    const row = await store.getEvent(tenant.id, req.params.id);
    if (!row) throw notFound(`event ${req.params.id}`);
    const deliveries = await allDeliveries(deps, { tenantId: tenant.id, eventId: row.id });
    res.json({ ...row.body, deliveries });
  });

  return router;
}
