import { Router } from 'express';
import { EVENT_TYPES, EVENT_TYPE_DESCRIPTIONS, EVENT_TYPE_EXAMPLES } from '../../domain/catalog';
import { createTenantSchema, listQuerySchema, tenantIdSchema, updateTenantSchema } from '../../domain/schemas';
import type { Tenant } from '../../infra/store';
import type { RouteDeps } from '../app';
import { requireAdmin, type Authenticator } from '../auth';
import { notFound, parsePathId, parseWith } from '../errors';
import { afterIdOf, openCursor, sealCursor } from '../cursor';
import { cancelDeliveries } from '../delivery-commands';

export const tenantView = (t: Tenant) => ({ id: t.id, name: t.name, plan: t.plan, created_at: t.created_at.toISOString() });

/** Tenants are the admin key's: create, list, read, change the plan or name, delete with all its data. */
export function tenantsRouter(deps: RouteDeps, auth: Pick<Authenticator, 'forget'>) {
  const { store } = deps;
  const router = Router();

  router.post('/tenants', requireAdmin, async (req, res) => {
    const input = parseWith(createTenantSchema, req.body);
    const { tenant, apiKey } = await store.createTenant(input.name, input.plan);
    res.status(201).json({ ...tenantView(tenant), api_key: apiKey });
  });

  router.get('/tenants', requireAdmin, async (req, res) => {
    const q = parseWith(listQuerySchema, req.query, 'query');
    const rows = await store.listTenants(q.limit + 1, openCursor(q.cursor, 'tenants', afterIdOf(tenantIdSchema))?.after ?? null);
    const page = rows.slice(0, q.limit);
    res.json({ data: page.map(tenantView), next_cursor: rows.length > q.limit ? sealCursor({ after: page[page.length - 1]!.id }, 'tenants') : null });
  });

  router.get('/tenants/:id', requireAdmin, async (req, res) => {
    const id = parsePathId(tenantIdSchema, req.params.id, 'tenant');
    const tenant = await store.getTenant(id);
    if (!tenant) throw notFound(`tenant ${id}`);
    res.json(tenantView(tenant));
  });

  router.patch('/tenants/:id', requireAdmin, async (req, res) => {
    const id = parsePathId(tenantIdSchema, req.params.id, 'tenant');
    const input = parseWith(updateTenantSchema, req.body);
    const tenant = await store.updateTenant(id, input);
    if (!tenant) throw notFound(`tenant ${id}`);
    auth.forget(`tenant:${id}`); // cached keys carry the plan
    res.json(tenantView(tenant));
  });

  /**
   * Removes the tenant's rows first (nothing new can resolve to it), then cancels what is in flight: every
   * running workflow of the tenant is told to cancel all its targets. A workflow started too recently to be
   * in Temporal's visibility yet cancels each target at its next attempt (its endpoint or settings are gone).
   */
  router.delete('/tenants/:id', requireAdmin, async (req, res) => {
    const id = parsePathId(tenantIdSchema, req.params.id, 'tenant');
    if (!(await store.deleteTenant(id))) throw notFound(`tenant ${id}`);
    auth.forget(`tenant:${id}`);
    const canceled = await cancelDeliveries(deps, id, {}, 'tenant deleted');
    res.json({ id, deleted: true, canceled_deliveries: canceled });
  });

  router.get('/event-types', (_req, res) => {
    res.json({
      data: EVENT_TYPES.map((name) => ({ name, description: EVENT_TYPE_DESCRIPTIONS[name], example: EVENT_TYPE_EXAMPLES[name] })),
      next_cursor: null,
    });
  });

  return router;
}
