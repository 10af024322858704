import { Router } from 'express';
import { EVENT_TYPES, EVENT_TYPE_DESCRIPTIONS } from '../../domain/catalog';
import { createTenantSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { requireAdmin } from '../auth';
import { parseWith } from '../errors';

export function tenantsRouter({ store }: RouteDeps) {
  const router = Router();

  router.post('/tenants', requireAdmin, async (req, res) => {
    const input = parseWith(createTenantSchema, req.body);
    const { tenant, apiKey } = await store.createTenant(input.name, input.plan);
    res.status(201).json({
      id: tenant.id,
      name: tenant.name,
      plan: tenant.plan,
      created_at: tenant.created_at.toISOString(),
      api_key: apiKey,
    });
  });

  router.get('/event-types', (_req, res) => {
    res.json({ data: EVENT_TYPES.map((name) => ({ name, description: EVENT_TYPE_DESCRIPTIONS[name] })), next_cursor: null });
  });

  return router;
}
