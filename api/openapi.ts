// The OpenAPI 3.1 document, generated (zod-openapi) from the same zod schemas that validate requests
// (domain/schemas.ts) and describe answers (domain/responses.ts), plus the `webhooks` we POST. Served
// at /openapi.json; test/contract/ checks every route is in it and fuzzes the live API against it.
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import { EVENT_TYPES, OBJECT_TYPES } from '../domain/catalog';
import { DELIVERY_STATUSES } from '../domain/delivery';
import * as res from '../domain/responses';
import {
  apiKeyIdSchema,
  createApiKeySchema,
  createEndpointSchema,
  createListenSessionSchema,
  createTenantSchema,
  deliveryEndpointIdSchema,
  deliveryIdSchema,
  endpointIdSchema,
  eventIdSchema,
  limitSchema,
  listenAnswerSchema,
  listenSessionIdSchema,
  objectRefSchema,
  objectUrlSchema,
  portalSessionSchema,
  portalSignInSchema,
  publicKeySchema,
  publishActionSchema,
  publishEventSchema,
  recoverSchema,
  tenantIdSchema,
  testEventSchema,
  updateEndpointSchema,
  updateTenantSchema,
  webhookSettingsSchema,
} from '../domain/schemas';
import { CLASSIC_ACTIONS } from '../domain/catalog';
import type { RequestHandler } from 'express';
import { VERSION } from '../infra/version';
import { ApiError } from './errors';

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
const error = (description: string) => ({ description, ...json(res.errorResponse) });
const retryAfter = {
  'Retry-After': { description: 'seconds to wait before trying again', required: true, schema: { type: 'integer' as const, minimum: 1 } },
};
const rateLimitHeaders = {
  'RateLimit-Limit': { description: 'requests allowed per window', schema: { type: 'integer' as const } },
  'RateLimit-Remaining': { description: 'requests left in this window', schema: { type: 'integer' as const } },
  'RateLimit-Reset': { description: 'seconds until the window resets', schema: { type: 'integer' as const } },
  'RateLimit-Policy': { description: 'limit and window, e.g. `200;w=1`', schema: { type: 'string' as const } },
};

/** Errors any /v1 operation may answer: bad input, authentication, throttling, a dependency down. */
const commonErrors = {
  '400': error('Invalid input: malformed JSON, nesting too deep, or a field that breaks its rule (named in details[].path)'),
  '401': error('Missing or invalid API key'),
  '403': error('The key may not do this: an admin-only route, another tenant, or a plan limit'),
  '404': error('No such resource for this tenant (also for an id that cannot exist)'),
  '413': error('Request body larger than the limit, or with too many keys'),
  '415': error('Unsupported content encoding or charset'),
  '429': { description: 'Too many failed authentications from this address, or too many publishes', headers: { ...retryAfter, ...rateLimitHeaders }, ...json(res.errorResponse) },
  '503': { description: 'PostgreSQL or Temporal is unavailable: retry later (same request, same id)', headers: retryAfter, ...json(res.errorResponse) },
};
const bodyErrors = { '400': commonErrors['400'], '413': commonErrors['413'], '415': commonErrors['415'] };

const tenantQuery = z.object({ tenant_id: tenantIdSchema.optional().meta({ description: 'admin key only: the tenant to act for' }) });
const listQuery = tenantQuery.extend({
  limit: limitSchema.optional(),
  cursor: z.string().max(500).optional().meta({ description: 'next_cursor of the previous page' }),
});
const idPath = (schema: z.ZodType) => z.object({ id: schema });

type Op = Omit<ZodOpenApiOperationObject, 'responses'> & { responses: Record<string, unknown> };
function op(summary: string, o: Op & { tag: string; ok: Record<string, unknown> }): ZodOpenApiOperationObject {
  const { tag, ok, responses, ...rest } = o;
  return { summary, tags: [tag], ...rest, responses: { ...ok, ...commonErrors, ...responses } as ZodOpenApiOperationObject['responses'] };
}
const ok = (status: string, description: string, schema?: z.ZodType, headers?: Record<string, unknown>) => ({
  [status]: { description, ...(schema ? json(schema) : {}), ...(headers ? { headers } : {}) },
});
const body = (schema: z.ZodType, required = true) => ({ requestBody: { required, ...json(schema) } });

const paths: ZodOpenApiPathsObject = {
  '/healthz': {
    get: {
      summary: 'Health: Temporal and PostgreSQL reachable',
      tags: ['Operations'],
      security: [],
      responses: { ...ok('200', 'Both reachable', res.healthResponse), '503': { description: 'A dependency is down', headers: retryAfter, ...json(res.healthResponse) }, ...bodyErrors },
    },
  },
  '/readyz': {
    get: {
      summary: 'Readiness: Temporal and PostgreSQL reachable (send traffic)',
      tags: ['Operations'],
      security: [],
      responses: { ...ok('200', 'Ready', res.healthResponse), '503': { description: 'Not ready', headers: retryAfter, ...json(res.healthResponse) }, ...bodyErrors },
    },
  },
  '/livez': {
    get: { summary: 'Liveness: the process serves HTTP', tags: ['Operations'], security: [], responses: { ...ok('200', 'Alive', res.livenessResponse), ...bodyErrors } },
  },
  '/metrics': {
    get: {
      summary: "Prometheus metrics of this API process: its own, the Temporal SDK's and, while its embedded worker runs, the worker's",
      tags: ['Operations'],
      security: [],
      responses: { '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } }, ...bodyErrors },
    },
  },
  '/openapi.json': {
    get: {
      summary: 'This document',
      tags: ['Operations'],
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } }, ...bodyErrors },
    },
  },
  '/docs': {
    get: {
      summary: 'The rendered reference of this document',
      tags: ['Operations'],
      security: [],
      responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: z.string() } } }, ...bodyErrors },
    },
  },

  '/v1/tenants': {
    post: op('Create a tenant (admin)', { tag: 'Tenants', ...body(createTenantSchema), ok: ok('201', 'Created; api_key is shown once', res.createdTenantResponse), responses: {} }),
    get: op('List tenants (admin)', { tag: 'Tenants', requestParams: { query: listQuery.omit({ tenant_id: true }) }, ok: ok('200', 'A page of tenants', res.listOf(res.tenantResponse, 'TenantList')), responses: {} }),
  },
  '/v1/tenants/{id}': {
    get: op('Read a tenant (admin)', { tag: 'Tenants', requestParams: { path: idPath(tenantIdSchema) }, ok: ok('200', 'The tenant', res.tenantResponse), responses: {} }),
    patch: op('Change a tenant\'s plan or name (admin)', {
      tag: 'Tenants',
      requestParams: { path: idPath(tenantIdSchema) },
      ...body(updateTenantSchema),
      ok: ok('200', 'The tenant as changed', res.tenantResponse),
      responses: {},
    }),
    delete: op('Delete a tenant and all its data (admin); its pending deliveries are canceled', {
      tag: 'Tenants',
      requestParams: { path: idPath(tenantIdSchema) },
      ok: ok('200', 'Deleted', res.deletedTenantResponse),
      responses: {},
    }),
  },
  '/v1/api-keys': {
    get: op('List API keys', { tag: 'API keys', requestParams: { query: listQuery }, ok: ok('200', 'A page of keys (never the keys themselves)', res.listOf(res.apiKeyResponse, 'ApiKeyList')), responses: {} }),
    post: op('Create a named API key', { tag: 'API keys', ...body(createApiKeySchema), ok: ok('201', 'Created; api_key is shown once', res.createdApiKeyResponse), responses: {} }),
  },
  '/v1/api-keys/{id}': {
    delete: op('Revoke an API key (refused at once, on every API instance within seconds)', {
      tag: 'API keys',
      requestParams: { path: idPath(apiKeyIdSchema), query: tenantQuery },
      ok: ok('200', 'The key, revoked', res.apiKeyResponse),
      responses: {},
    }),
  },
  '/v1/event-types': {
    get: op('The event type catalog', { tag: 'Events', ok: ok('200', 'Every event type', res.eventTypeListResponse), responses: {} }),
  },
  '/v1/endpoints': {
    post: op('Create an endpoint', {
      tag: 'Endpoints',
      ...body(createEndpointSchema(false)),
      ok: ok('201', 'Created, with its signing secret', res.createdEndpointResponse),
      responses: {},
    }),
    get: op('List endpoints', { tag: 'Endpoints', requestParams: { query: listQuery }, ok: ok('200', 'A page of endpoints', res.listOf(res.endpointResponse, 'EndpointList')), responses: {} }),
  },
  '/v1/endpoints/{id}': {
    get: op('Read an endpoint', { tag: 'Endpoints', requestParams: { path: idPath(endpointIdSchema), query: tenantQuery }, ok: ok('200', 'The endpoint (no secret)', res.endpointResponse), responses: {} }),
    patch: op('Change an endpoint (disabling cancels its pending retries)', {
      tag: 'Endpoints',
      requestParams: { path: idPath(endpointIdSchema) },
      ...body(updateEndpointSchema(false)),
      ok: ok('200', 'The endpoint as changed', res.endpointResponse),
      responses: {},
    }),
    delete: op('Delete an endpoint (cancels its pending retries)', {
      tag: 'Endpoints',
      requestParams: { path: idPath(endpointIdSchema), query: tenantQuery },
      ok: ok('204', 'Deleted'),
      responses: {},
    }),
  },
  '/v1/endpoints/{id}/secret': {
    get: op('Reveal the signing secret', { tag: 'Endpoints', requestParams: { path: idPath(endpointIdSchema), query: tenantQuery }, ok: ok('200', 'The secret', res.secretResponse), responses: {} }),
  },
  '/v1/endpoints/{id}/rotate-secret': {
    post: op('Rotate the signing secret (the old one signs beside it for 24 h)', {
      tag: 'Endpoints',
      requestParams: { path: idPath(endpointIdSchema), query: tenantQuery },
      ok: ok('200', 'The new secret', res.rotatedSecretResponse),
      responses: {},
    }),
  },
  '/v1/endpoints/{id}/test': {
    post: op('Send a synthetic event to this endpoint only', {
      tag: 'Endpoints',
      requestParams: { path: idPath(endpointIdSchema) },
      ...body(testEventSchema, false),
      ok: ok('202', 'Accepted', res.testEventResponse, rateLimitHeaders),
      responses: {},
    }),
  },
  '/v1/endpoints/{id}/recover': {
    post: op('Re-send every failed delivery of this endpoint in a time window', {
      tag: 'Deliveries',
      requestParams: { path: idPath(endpointIdSchema) },
      ...body(recoverSchema),
      ok: ok('202', 'Accepted', res.recoverResponse),
      responses: {},
    }),
  },
  '/v1/listen-sessions': {
    post: op('Start an `anvil-webhooks listen` session: a temporary endpoint whose deliveries travel over the CLI\'s stream', {
      tag: 'Endpoints',
      ...body(createListenSessionSchema, false),
      ok: ok('201', 'The session, its temporary endpoint and signing secret', res.listenSessionResponse),
      responses: { '409': error('Too many listen sessions at once') },
    }),
  },
  '/v1/listen-sessions/{id}/stream': {
    get: op('The session\'s deliveries as server-sent events (`ready`, `delivery`, `ended`), held open', {
      tag: 'Endpoints',
      requestParams: { path: idPath(listenSessionIdSchema), query: tenantQuery },
      ok: { '200': { description: 'text/event-stream: each `delivery` carries request_id, event_id, endpoint_id, attempt, headers and body', content: { 'text/event-stream': { schema: z.string() } } } },
      responses: {},
    }),
  },
  '/v1/listen-sessions/{id}/answers': {
    post: op("The local URL's answer to a streamed delivery: the attempt's outcome", {
      tag: 'Endpoints',
      requestParams: { path: idPath(listenSessionIdSchema) },
      ...body(listenAnswerSchema),
      ok: ok('204', 'Recorded'),
      responses: {},
    }),
  },
  '/v1/listen-sessions/{id}': {
    delete: op('End a listen session: its temporary endpoint is deleted and its pending deliveries canceled', {
      tag: 'Endpoints',
      requestParams: { path: idPath(listenSessionIdSchema), query: tenantQuery },
      ok: ok('204', 'Ended'),
      responses: {},
    }),
  },
  '/v1/events': {
    post: op('Publish an event', {
      tag: 'Events',
      ...body(publishEventSchema),
      ok: {
        ...ok('202', 'Accepted: the event will be delivered to every subscribed endpoint', res.envelopeResponse, rateLimitHeaders),
        ...ok('200', 'This id was published before with the same payload: nothing is sent again', res.envelopeResponse, rateLimitHeaders),
      },
      responses: { '409': error('This id was used before for a different payload (details name `id`)') },
    }),
  },
  '/v1/events/{id}': {
    get: op('Read an event with its deliveries', {
      tag: 'Events',
      requestParams: { path: idPath(eventIdSchema), query: tenantQuery },
      ok: ok('200', 'The event as published, one delivery summary per target', res.eventWithDeliveriesResponse),
      responses: {},
    }),
  },
  '/v1/deliveries': {
    get: op('List deliveries (the delivery log)', {
      tag: 'Deliveries',
      requestParams: {
        query: listQuery.extend({
          cursor: z.string().max(4000).optional(),
          endpoint_id: deliveryEndpointIdSchema.optional(),
          event_id: eventIdSchema.optional(),
          event_type: z.enum([...EVENT_TYPES, ...CLASSIC_ACTIONS]).optional(),
          status: z.enum(DELIVERY_STATUSES).optional(),
        }),
      },
      ok: ok('200', 'A page of delivery summaries, newest first', res.listOf(res.deliverySummaryResponse, 'DeliveryList')),
      responses: {},
    }),
  },
  '/v1/deliveries/{id}': {
    get: op('Read a delivery with every attempt', {
      tag: 'Deliveries',
      requestParams: { path: idPath(deliveryIdSchema), query: tenantQuery },
      ok: ok('200', 'The delivery', res.deliveryDetailResponse),
      responses: {},
    }),
  },
  '/v1/deliveries/{id}/retry': {
    post: op('Attempt now (a waiting delivery) or re-send (a finished one, same event id)', {
      tag: 'Deliveries',
      requestParams: { path: idPath(deliveryIdSchema), query: tenantQuery },
      ok: ok('202', 'Accepted', res.retryResponse),
      responses: {},
    }),
  },
  '/v1/webhook-settings': {
    get: op('Classic webhook settings', { tag: 'Classic webhooks', requestParams: { query: tenantQuery }, ok: ok('200', 'The settings', res.webhookSettingsResponse), responses: {} }),
    put: op('Enable or disable classic webhooks, set the static URL', {
      tag: 'Classic webhooks',
      ...body(webhookSettingsSchema(false)),
      ok: ok('200', 'The settings', res.webhookSettingsResponse),
      responses: {},
    }),
  },
  '/v1/webhook-settings/keypair': {
    post: op('Generate an RSA keypair (the private key is shown once)', {
      tag: 'Classic webhooks',
      requestParams: { query: tenantQuery },
      ok: ok('201', 'The keypair', res.keypairResponse),
      responses: {},
    }),
    delete: op('Remove the key: data is sent as plain JSON again', { tag: 'Classic webhooks', requestParams: { query: tenantQuery }, ok: ok('204', 'Removed'), responses: {} }),
  },
  '/v1/webhook-settings/public-key': {
    put: op('Upload a public key (SPKI PEM, RSA ≥ 2048)', { tag: 'Classic webhooks', ...body(publicKeySchema), ok: ok('200', 'The settings', res.webhookSettingsResponse), responses: {} }),
  },
  '/v1/webhook-settings/test': {
    post: op('Send webhookTest to the static URL', {
      tag: 'Classic webhooks',
      requestParams: { query: tenantQuery },
      ok: ok('202', 'Accepted', res.webhookTestResponse, rateLimitHeaders),
      responses: { '409': error('Webhooks are not enabled, or there is no static URL') },
    }),
  },
  '/v1/objects/webhook-urls': {
    get: op('List the per-object webhook URLs', {
      tag: 'Classic webhooks',
      requestParams: { query: listQuery },
      ok: ok('200', 'A page of object URLs, by type then eid', res.objectUrlListResponse),
      responses: {},
    }),
  },
  '/v1/objects/{type}/{eid}/webhook-url': {
    get: op("An object's own webhook URL", {
      tag: 'Classic webhooks',
      requestParams: { path: objectRefSchema, query: tenantQuery },
      ok: ok('200', 'The URL', res.objectUrlResponse),
      responses: {},
    }),
    put: op("Set an object's own webhook URL (overrides the static URL)", {
      tag: 'Classic webhooks',
      requestParams: { path: objectRefSchema },
      ...body(objectUrlSchema(false)),
      ok: ok('200', 'The URL', res.objectUrlResponse),
      responses: {},
    }),
    delete: op("Remove an object's own webhook URL", { tag: 'Classic webhooks', requestParams: { path: objectRefSchema, query: tenantQuery }, ok: ok('204', 'Removed'), responses: {} }),
  },
  '/v1/portal-sessions': {
    post: op('Make a one-time link that opens the Settings pages for a tenant', {
      tag: 'Settings pages',
      description:
        'A tenant key asks for itself; the admin key names the tenant with `tenant_id`. The link is valid for ANVIL_PORTAL_LINK_TTL_SECONDS ' +
        'and opens once; the page exchanges it at POST /portal/api/sign-in. A Settings pages session cannot call this route.',
      ...body(portalSessionSchema, false),
      ok: ok('201', 'The link', res.portalLinkResponse),
      responses: {},
    }),
  },
  '/portal/api/sign-in': {
    post: {
      summary: "The Settings pages' exchange of a one-time link's token for a short-lived session",
      tags: ['Settings pages'],
      security: [],
      ...body(portalSignInSchema),
      responses: {
        ...ok('201', 'A session bound to the link\'s tenant', res.portalSessionResponse),
        ...bodyErrors,
        '401': error('Not a link this service made (counted as a failed authentication)'),
        '410': error('The link was already used, or has expired'),
        '429': commonErrors['429'],
        '503': commonErrors['503'],
      },
    },
  },
  '/portal/api/sign-out': {
    post: {
      summary: 'End the Settings pages session sent as the bearer key (if any)',
      tags: ['Settings pages'],
      security: [],
      responses: { ...ok('204', 'Signed out'), ...bodyErrors, '503': commonErrors['503'] },
    },
  },
  '/v1/actions': {
    post: op('Publish a classic action', {
      tag: 'Classic webhooks',
      ...body(publishActionSchema),
      ok: {
        ...ok('202', 'Accepted', res.actionAcceptedResponse, rateLimitHeaders),
        ...ok('200', 'This id was published before with the same payload: nothing is sent again', res.actionAcceptedResponse, rateLimitHeaders),
      },
      responses: { '409': error('This id was used before for a different payload (details name `id`)') },
    }),
  },
};

const signatureHeaders = z.object({
  'Anvil-Signature': z.string().meta({
    description: '`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; during a rotation a second `v1=` (the old secret) follows',
    example: 't=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd',
  }),
  'Anvil-Event-Id': z.string().meta({ description: 'the event id, the same on every attempt: deduplicate with it' }),
  'User-Agent': z.string().meta({ example: `anvil-webhooks/${VERSION}` }),
});

const receiverAnswers = {
  '2XX': { description: 'Any 2xx within 10 s: delivered' },
  default: { description: 'Anything else, a time-out or a connection error: the attempt failed and is retried on the policy' },
};

export function openApiDocument(): ReturnType<typeof createDocument> {
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'anvil-webhooks',
        version: VERSION,
        description:
          'Webhook delivery: publish events and classic actions; they are delivered to every subscribed endpoint, signed or ' +
          'encrypted, retried on a declared schedule (Events API: 13 attempts over at most 72 h; classic: 5 attempts over 11 min), ' +
          'with every attempt in the delivery log. All `/v1` routes take `Authorization: Bearer <API key>`; the admin key manages ' +
          'tenants and acts for any tenant with `tenant_id`. Lists page with `?limit=&cursor=` and answer ' +
          '`{"data": [...], "next_cursor": string|null}`. Errors answer `{"error": {"code", "message", "details"?}}`.',
      },
      servers: [{ url: '/' }],
      security: [{ bearerAuth: [] }],
      tags: ['Events', 'Endpoints', 'Deliveries', 'Classic webhooks', 'API keys', 'Tenants', 'Settings pages', 'Operations'].map((name) => ({ name })),
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'a tenant API key (anv_sk_…) or the admin key' },
        },
      },
      paths,
      webhooks: {
        event: {
          post: {
            summary: 'An Events API event, POSTed to each subscribed endpoint',
            description: 'Verify Anvil-Signature with the endpoint secret before trusting the body; reject timestamps older than 5 minutes.',
            requestParams: { header: signatureHeaders },
            requestBody: { required: true, ...json(res.envelopeResponse) },
            responses: receiverAnswers,
          },
        },
        classicAction: {
          post: {
            summary: 'A classic action, POSTed to the object URL or else the organization\'s static URL',
            description: `Actions: ${CLASSIC_ACTIONS.join(', ')}. Objects with their own URL: ${OBJECT_TYPES.join(', ')}. Success: 200 or 204 within 10 s.`,
            requestParams: { header: z.object({ 'User-Agent': z.string() }) },
            requestBody: { required: true, ...json(res.classicBody) },
            responses: receiverAnswers,
          },
        },
      },
    },
    { allowEmptySchema: { custom: true } },
  );
}

/**
 * 405 for a method the document does not list on a path it does (with Allow), instead of a 404: the
 * document is the route table's twin (test/contract/openapi.test.ts keeps them equal).
 */
export function methodNotAllowed(document: ReturnType<typeof openApiDocument>): RequestHandler {
  const routes = Object.entries(document.paths ?? {}).map(([template, item]) => {
    const methods = ['get', 'put', 'post', 'patch', 'delete'].filter((m) => m in (item as object)).map((m) => m.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+');
    return { re: new RegExp(`^${pattern}/?$`), methods };
  });
  return (req, res, next) => {
    const route = routes.find((r) => r.re.test(req.path));
    if (route && !route.methods.includes(req.method) && req.method !== 'OPTIONS') {
      res.setHeader('Allow', route.methods.join(', '));
      throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}; allowed: ${route.methods.join(', ')}`);
    }
    next();
  };
}
