// A tenant's API keys: list (with when each was last used), create a named key (shown once), revoke.
import { Router } from 'express';
import { apiKeyIdSchema, createApiKeySchema, listQuerySchema } from '../../domain/schemas';
import type { ApiKeyRow } from '../../infra/store';
import type { RouteDeps } from '../app';
import { tenantOf, type Authenticator } from '../auth';
import { notFound, parsePathId, parseWith } from '../errors';
import { afterIdOf, openCursor, sealCursor } from '../cursor';

export const apiKeyView = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.key_prefix,
  status: k.revoked_at ? ('revoked' as const) : ('active' as const),
  created_at: k.created_at.toISOString(),
  last_used_at: k.last_used_at?.toISOString() ?? null,
  revoked_at: k.revoked_at?.toISOString() ?? null,
});

export function apiKeysRouter({ store }: RouteDeps, auth: Pick<Authenticator, 'forget'>) {
  const router = Router();

  router.get('/api-keys', async (req, res) => {
    const q = parseWith(listQuerySchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    const rows = await store.listApiKeys(tenant.id, q.limit + 1, openCursor(q.cursor, `api-keys:${tenant.id}`, afterIdOf(apiKeyIdSchema))?.after ?? null);
    const page = rows.slice(0, q.limit);
    res.json({ data: page.map(apiKeyView), next_cursor: rows.length > q.limit ? sealCursor({ after: page[page.length - 1]!.id }, `api-keys:${tenant.id}`) : null });
  });

  router.post('/api-keys', async (req, res) => {
    const input = parseWith(createApiKeySchema, req.body);
    const tenant = await tenantOf(req, store);
    const { row, apiKey } = await store.createApiKey(tenant.id, input.name);
    res.status(201).json({ ...apiKeyView(row), api_key: apiKey });
  });

  /** Revoked at once here; other API instances drop it from their caches on the notification. */
  router.delete('/api-keys/:id', async (req, res) => {
    const id = parsePathId(apiKeyIdSchema, req.params.id, 'API key');
    const tenant = await tenantOf(req, store);
    const revoked = await store.revokeApiKey(tenant.id, id);
    if (!revoked) throw notFound(`API key ${id}`);
    auth.forget(revoked.keyHash);
    res.json(apiKeyView(revoked.row));
  });

  return router;
}
