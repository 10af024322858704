import { Router } from 'express';
import { ulid } from 'ulid';
import type { EventType } from '../../domain/catalog';
import {
  createEndpointSchema,
  endpointIdSchema,
  listQuerySchema,
  testEventSchema,
  updateEndpointSchema,
} from '../../domain/schemas';
import { isStandardWebhooksSecret } from '../../domain/signing';
import { LISTEN_URL_PREFIX, PlanLimitError, type EndpointRow } from '../../infra/store';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { ApiError, notFound, parsePathId, parseWith } from '../errors';
import { afterIdOf, openCursor, sealCursor } from '../cursor';
import { publishEvent } from '../publish';
import { cancelDeliveries, recoverEndpoint } from '../delivery-commands';
import { countPublishes } from '../../infra/metrics';

export function endpointView(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    filter: row.filter,
    status: row.status,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    signature_scheme: row.signature_scheme,
    /** Why the endpoint is off (null while enabled): turned off automatically after failing, or by hand. */
    disabled_reason: row.status === 'disabled' ? row.disabled_reason : null,
    disabled_at: row.status === 'disabled' ? (row.disabled_at?.toISOString() ?? null) : null,
  };
}

/** Synthetic data for "Send Test Event", shaped like the real event of that type. */
function sampleData(type: EventType): Record<string, unknown> {
  const base = { test: true, sample_id: `sample_${ulid()}` };
  switch (type) {
    case 'lead.score_changed':
      return { ...base, lead_id: 'lead_sample', previous_score: 40, score: 85 };
    case 'lead.created':
    case 'lead.stage_changed':
      return { ...base, lead_id: 'lead_sample', stage: 'qualified' };
    case 'export.ready':
      return { ...base, export_id: 'exp_sample', url: 'https://example.com/export.csv' };
    default:
      return base;
  }
}

export function endpointsRouter(deps: RouteDeps) {
  const { store, config } = deps;
  const router = Router();
  const createSchema = createEndpointSchema(config.allowInsecureTargets);
  const updateSchema = updateEndpointSchema(config.allowInsecureTargets);
  const throttle = deps.rateLimits.publish((req) => tenantOf(req, store));

  async function load(req: Parameters<typeof tenantOf>[0]) {
    const id = parsePathId(endpointIdSchema, req.params.id, 'endpoint');
    const tenant = await tenantOf(req, store);
    const endpoint = await store.getEndpoint(tenant.id, id);
    if (!endpoint) throw notFound(`endpoint ${id}`);
    return { tenant, endpoint };
  }

  router.post('/endpoints', async (req, res) => {
    const input = parseWith(createSchema, req.body);
    const tenant = await tenantOf(req, store);
    try {
      const row = await store.createEndpoint(tenant, {
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        filter: input.filter ?? null,
        ...(input.signature_scheme ? { signature_scheme: input.signature_scheme } : {}),
      });
      res.status(201).json({ ...endpointView(row), secret: row.secret });
    } catch (err) {
      if (err instanceof PlanLimitError) {
        throw new ApiError(403, 'plan_limit', `the ${tenant.plan} plan allows at most ${err.limit} endpoints`);
      }
      throw err;
    }
  });

  router.get('/endpoints', async (req, res) => {
    const q = parseWith(listQuerySchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    const position = openCursor(q.cursor, tenant.id, afterIdOf(endpointIdSchema));
    const rows = await store.listEndpoints(tenant.id, q.limit + 1, position?.after ?? null);
    const page = rows.slice(0, q.limit);
    res.json({
      data: page.map(endpointView),
      next_cursor: rows.length > q.limit ? sealCursor({ after: page[page.length - 1]!.id }, tenant.id) : null,
    });
  });

  router.get('/endpoints/:id', async (req, res) => {
    const { endpoint } = await load(req);
    res.json(endpointView(endpoint));
  });

  router.patch('/endpoints/:id', async (req, res) => {
    const input = parseWith(updateSchema, req.body);
    const { tenant, endpoint } = await load(req);
    const { tenant_id: _t, ...patch } = input;
    if (patch.url !== undefined && endpoint.url.startsWith(LISTEN_URL_PREFIX)) {
      throw new ApiError(409, 'temporary_endpoint', `endpoint ${endpoint.id} belongs to an anvil-webhooks listen session: its URL cannot change`, [
        { path: 'url', message: 'a listen session endpoint keeps its URL' },
      ]);
    }
    if (patch.signature_scheme === 'standard-webhooks' && !isStandardWebhooksSecret(endpoint.secret)) {
      throw new ApiError(
        409,
        'secret_not_standard_webhooks',
        `endpoint ${endpoint.id} has a secret made before Standard Webhooks support, which Standard Webhooks libraries cannot decode: rotate it first (POST /v1/endpoints/${endpoint.id}/rotate-secret)`,
        [{ path: 'signature_scheme', message: 'rotate the secret first' }],
      );
    }
    const row = await store.updateEndpoint(tenant.id, endpoint.id, patch);
    if (!row) throw notFound(`endpoint ${endpoint.id}`);
    // Disabling cancels pending retries; enabling again does not resend them.
    if (endpoint.status === 'enabled' && row.status === 'disabled') {
      await cancelDeliveries(deps, tenant.id, { endpointId: endpoint.id }, 'endpoint disabled');
    }
    res.json(endpointView(row));
  });

  router.delete('/endpoints/:id', async (req, res) => {
    const { tenant, endpoint } = await load(req);
    await store.deleteEndpoint(tenant.id, endpoint.id);
    await cancelDeliveries(deps, tenant.id, { endpointId: endpoint.id }, 'endpoint deleted');
    res.status(204).end();
  });

  router.get('/endpoints/:id/secret', async (req, res) => {
    const { endpoint } = await load(req);
    res.json({ secret: endpoint.secret });
  });

  router.post('/endpoints/:id/rotate-secret', async (req, res) => {
    const { tenant, endpoint } = await load(req);
    const row = await store.rotateEndpointSecret(tenant.id, endpoint.id);
    if (!row) throw notFound(`endpoint ${endpoint.id}`);
    res.json({ secret: row.secret, previous_secret_expires_at: row.previous_secret_expires_at?.toISOString() ?? null });
  });

  router.post('/endpoints/:id/test', countPublishes('event'), throttle, async (req, res) => {
    // No body at all is an empty one; a body that is not an object (null, a string) is refused.
    const input = parseWith(testEventSchema, req.body === undefined ? {} : req.body);
    const { tenant, endpoint } = await load(req);
    const type = (input.type ?? endpoint.events[0]) as EventType;
    if (!endpoint.events.includes(type)) {
      throw new ApiError(400, 'validation_error', `endpoint ${endpoint.id} is not subscribed to ${type}`, [
        { path: 'type', message: `not one of the endpoint's event types: ${endpoint.events.join(', ')}` },
      ]);
    }
    const result = await publishEvent(deps, tenant, { type, data: sampleData(type) }, endpoint.id);
    res.status(202).json({ event_id: (result.body as { id: string }).id });
  });

  router.post('/endpoints/:id/recover', async (req, res) => {
    const { tenant, endpoint } = await load(req);
    const count = await recoverEndpoint(deps, tenant.id, endpoint.id, req.body);
    res.status(202).json({ count });
  });

  return router;
}
