import { Router } from 'express';
import { z } from 'zod';
import { CLASSIC_ACTIONS, EVENT_TYPES } from '../../domain/catalog';
import { DELIVERY_STATUSES } from '../../domain/delivery';
import { deliveryEndpointIdSchema, deliveryIdSchema, eventIdSchema, limitSchema, tenantIdSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { openCursor, sealCursor, invalidCursor } from '../cursor';
import { retryDelivery } from '../delivery-commands';
import { deliveryDetail, isLogPosition, listDeliveries } from '../delivery-log';
import { parsePathId, parseWith } from '../errors';

const listSchema = z.object({
  limit: limitSchema,
  cursor: z.string().max(4000).optional(),
  endpoint_id: deliveryEndpointIdSchema.optional(),
  event_id: eventIdSchema.optional(),
  event_type: z.enum([...EVENT_TYPES, ...CLASSIC_ACTIONS], { error: 'must be an event type or a classic action' }).optional(),
  status: z.enum(DELIVERY_STATUSES, { error: `must be one of: ${DELIVERY_STATUSES.join(', ')}` }).optional(),
  tenant_id: tenantIdSchema.optional(),
});

export function deliveriesRouter(deps: RouteDeps) {
  const { store } = deps;
  const router = Router();

  router.get('/deliveries', async (req, res) => {
    const q = parseWith(listSchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    const filter = { tenantId: tenant.id, endpointId: q.endpoint_id, eventId: q.event_id, eventType: q.event_type, status: q.status };
    const scope = JSON.stringify(filter);
    const position = openCursor(q.cursor, scope, isLogPosition);
    const page = await listDeliveries(deps, filter, q.limit, position).catch((err: unknown) => {
      // Temporal refuses a page token it did not issue (gRPC INVALID_ARGUMENT).
      if ((err as { code?: number }).code === 3 && position?.page) throw invalidCursor();
      throw err;
    });
    res.json({ data: page.data, next_cursor: page.next ? sealCursor(page.next, scope) : null });
  });

  router.get('/deliveries/:id', async (req, res) => {
    const id = parsePathId(deliveryIdSchema, req.params.id, 'delivery');
    const tenant = await tenantOf(req, store);
    res.json(await deliveryDetail(deps, tenant.id, id));
  });

  router.post('/deliveries/:id/retry', async (req, res) => {
    const id = parsePathId(deliveryIdSchema, req.params.id, 'delivery');
    const tenant = await tenantOf(req, store);
    const how = await retryDelivery(deps, tenant.id, id);
    res.status(202).json({ id, retry: how === 'signaled' ? 'attempting_now' : 'resent' });
  });

  return router;
}
