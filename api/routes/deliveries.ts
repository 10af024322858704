import { Router } from 'express';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../../domain/delivery';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { deliveryDetail, listDeliveries, retryDelivery } from '../deliveries';
import { ApiError, parseWith } from '../errors';

const listSchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4000).optional(),
  endpoint_id: z.string().max(100).optional(),
  event_id: z.string().max(100).optional(),
  event_type: z.string().max(100).optional(),
  status: z.enum(DELIVERY_STATUSES, { error: `must be one of: ${DELIVERY_STATUSES.join(', ')}` }).optional(),
  tenant_id: z.string().optional(),
});

export function deliveriesRouter(deps: RouteDeps) {
  const { store, temporal } = deps;
  const router = Router();

  router.get('/deliveries', async (req, res) => {
    const q = parseWith(listSchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    let token: Buffer | null = null;
    if (q.cursor) {
      token = Buffer.from(q.cursor, 'base64url');
      if (token.length === 0) throw new ApiError(400, 'validation_error', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
    }
    const page = await listDeliveries(
      temporal,
      { tenantId: tenant.id, endpointId: q.endpoint_id, eventId: q.event_id, eventType: q.event_type, status: q.status },
      q.limit,
      token,
    ).catch((err: unknown) => {
      if ((err as { code?: number }).code === 3 && q.cursor) {
        throw new ApiError(400, 'validation_error', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned' }]);
      }
      throw err;
    });
    res.json({ data: page.data, next_cursor: page.nextPageToken ? page.nextPageToken.toString('base64url') : null });
  });

  router.get('/deliveries/:id', async (req, res) => {
    const tenant = await tenantOf(req, store);
    res.json(await deliveryDetail(temporal, tenant.id, req.params.id));
  });

  router.post('/deliveries/:id/retry', async (req, res) => {
    const tenant = await tenantOf(req, store);
    const how = await retryDelivery(deps, tenant.id, req.params.id);
    res.status(202).json({ id: req.params.id, retry: how === 'signaled' ? 'attempting_now' : 'resent' });
  });

  return router;
}
