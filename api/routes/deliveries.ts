import { createHash, timingSafeEqual } from 'node:crypto';
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

const invalidCursor = () =>
  new ApiError(400, 'validation_error', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this API returned for this query' }]);

// A cursor is Temporal's visibility page token plus a check over the token and the query it pages: the
// server answers a token it did not issue with an internal error, so a made-up or reused cursor must be
// refused here as a 400. The check is not a secret: the query itself always carries the tenant.
const cursorCheck = (token: Buffer, scope: string) =>
  createHash('sha256').update(scope).update('\0').update(token).digest().subarray(0, 12).toString('base64url');

function sealCursor(token: Buffer, scope: string): string {
  return `${token.toString('base64url')}.${cursorCheck(token, scope)}`;
}

function openCursor(cursor: string, scope: string): Buffer {
  const [encoded, check, extra] = cursor.split('.');
  if (!encoded || !check || extra !== undefined) throw invalidCursor();
  const token = Buffer.from(encoded, 'base64url');
  if (token.length === 0 || token.toString('base64url') !== encoded) throw invalidCursor();
  const want = Buffer.from(cursorCheck(token, scope));
  const got = Buffer.from(check);
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw invalidCursor();
  return token;
}

export function deliveriesRouter(deps: RouteDeps) {
  const { store, temporal } = deps;
  const router = Router();

  router.get('/deliveries', async (req, res) => {
    const q = parseWith(listSchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    const filter = { tenantId: tenant.id, endpointId: q.endpoint_id, eventId: q.event_id, eventType: q.event_type, status: q.status };
    const scope = JSON.stringify(filter);
    const token = q.cursor ? openCursor(q.cursor, scope) : null;
    const page = await listDeliveries(temporal, filter, q.limit, token).catch((err: unknown) => {
      if ((err as { code?: number }).code === 3 && q.cursor) throw invalidCursor();
      throw err;
    });
    res.json({ data: page.data, next_cursor: page.nextPageToken ? sealCursor(page.nextPageToken, scope) : null });
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
