import { Router } from 'express';
import { API_VERSION } from '../../domain/catalog';
import type { ClassicActionEvent, EventEnvelope } from '../../domain/delivery';
import { newEventId } from '../../domain/ids';
import { publishActionSchema, publishEventSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { allDeliveries } from '../deliveries';
import { notFound, parseWith } from '../errors';
import { publish } from '../publish';

export function eventsRouter(deps: RouteDeps) {
  const { store } = deps;
  const router = Router();

  /** Events API: 202 with the envelope once Temporal accepted it; a repeated client id answers 200. */
  router.post('/events', async (req, res) => {
    const input = parseWith(publishEventSchema, req.body);
    const tenant = await tenantOf(req, store);
    const envelope: EventEnvelope = {
      id: input.id ?? newEventId(),
      type: input.type,
      created: new Date().toISOString(),
      tenant_id: tenant.id,
      data: input.data,
      api_version: API_VERSION,
    };
    const result = await publish(deps, {
      tenant,
      id: envelope.id,
      kind: 'event',
      type: envelope.type,
      body: envelope as unknown as Record<string, unknown>,
      input: (body) => ({ kind: 'event', envelope: body as unknown as EventEnvelope, policy: deps.policies.standard }),
    });
    res.status(result.status).json(result.body);
  });

  /** Classic actions: `{action, token, data}` to the object's URL or the organization's static URL. */
  router.post('/actions', async (req, res) => {
    const input = parseWith(publishActionSchema, req.body);
    const tenant = await tenantOf(req, store);
    const action: ClassicActionEvent = {
      id: input.id ?? newEventId(),
      action: input.action,
      tenant_id: tenant.id,
      created: new Date().toISOString(),
      object: input.object ?? null,
      data: input.data,
    };
    const result = await publish(deps, {
      tenant,
      id: action.id,
      kind: 'classic',
      type: action.action,
      body: action as unknown as Record<string, unknown>,
      input: (body) => ({ kind: 'classic', action: body as unknown as ClassicActionEvent, policy: deps.policies.classic }),
    });
    res.status(result.status).json({ id: action.id, action: (result.body as { action?: string }).action ?? action.action });
  });

  /** The event as published, with one delivery summary per target. */
  router.get('/events/:id', async (req, res) => {
    const tenant = await tenantOf(req, store);
    const row = await store.getEvent(tenant.id, req.params.id);
    if (!row) throw notFound(`event ${req.params.id}`);
    const deliveries = await allDeliveries(deps.temporal, { tenantId: tenant.id, eventId: row.id });
    res.json({ ...row.body, deliveries });
  });

  return router;
}
