// Answer shapes of the public API and the bodies we POST to receivers, as zod schemas: the OpenAPI
// document (api/openapi.ts) is generated from these and from the request schemas in schemas.ts, and the
// contract fuzzer holds every live answer to them.
import { z } from 'zod';
import { API_VERSION, CLASSIC_ACTIONS, EVENT_TYPES, OBJECT_TYPES, PLANS } from './catalog';
import { DELIVERY_STATUSES } from './delivery';

const timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO-8601 date-time (UTC)' });
const nullableTimestamp = timestamp.nullable();
const eventType = z.enum(EVENT_TYPES);

export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'machine-readable: validation_error, unauthorized, forbidden, not_found, id_conflict, rate_limited, postgres_unavailable…' }),
      message: z.string(),
      details: z
        .array(z.object({ path: z.string().meta({ description: 'the field at fault, e.g. "url", "data.score", "id", "tenant_id"' }), message: z.string() }))
        .optional(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error answer has this shape.' });

export const listOf = <T extends z.ZodType>(item: T, id: string) =>
  z
    .object({ data: z.array(item), next_cursor: z.string().nullable().meta({ description: 'pass as ?cursor= for the next page; null on the last' }) })
    .meta({ id });

export const tenantResponse = z
  .object({ id: z.string().meta({ example: 'tnt_01JABCDEFGHJKMNPQRSTVWXYZ0' }), name: z.string(), plan: z.enum(PLANS), created_at: timestamp })
  .meta({ id: 'Tenant' });
export const createdTenantResponse = tenantResponse
  .extend({ api_key: z.string().meta({ description: 'the tenant\'s first API key, shown once' }) })
  .meta({ id: 'CreatedTenant' });
export const deletedTenantResponse = z
  .object({
    id: z.string(),
    deleted: z.literal(true),
    canceled_deliveries: z
      .number()
      .int()
      .min(0)
      .meta({
        description:
          'running delivery workflows told to cancel: one per event (per partition of a large fan-out) still delivering, which cancels ' +
          'every pending delivery it holds, plus one per delivery of the engine before the upgrade',
      }),
  })
  .meta({ id: 'DeletedTenant' });

export const apiKeyResponse = z
  .object({
    id: z.string().meta({ example: 'key_01JABCDEFGHJKMNPQRSTVWXYZ0' }),
    name: z.string(),
    prefix: z.string().meta({ description: 'the first characters of the key, to tell keys apart' }),
    status: z.enum(['active', 'revoked']),
    created_at: timestamp,
    last_used_at: nullableTimestamp.meta({ description: 'last authenticated request (recorded at most every 10 s per API instance)' }),
    revoked_at: nullableTimestamp,
  })
  .meta({ id: 'ApiKey' });
export const createdApiKeyResponse = apiKeyResponse
  .extend({ api_key: z.string().meta({ description: 'the key itself, shown once' }) })
  .meta({ id: 'CreatedApiKey' });

export const eventTypeListResponse = listOf(
  z.object({ name: eventType, description: z.string(), example: z.record(z.string(), z.unknown()).meta({ description: 'sample data (what Send Test Event and `anvil-webhooks trigger` send)' }) }),
  'EventTypeList',
);

export const endpointResponse = z
  .object({
    id: z.string().meta({ example: 'ep_01JABCDEFGHJKMNPQRSTVWXYZ0' }),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(eventType),
    filter: z.record(z.string(), z.unknown()).nullable(),
    status: z.enum(['enabled', 'disabled']),
    signature_scheme: z.enum(['anvil', 'standard-webhooks']).meta({ description: 'Anvil-Signature, or the Standard Webhooks headers' }),
    disabled_reason: z.string().nullable().meta({ description: 'why a disabled endpoint is off (failing since…, or disabled manually)' }),
    disabled_at: nullableTimestamp,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Endpoint' });
export const createdEndpointResponse = endpointResponse
  .extend({ secret: z.string().meta({ description: 'signing secret (whsec_…)' }) })
  .meta({ id: 'CreatedEndpoint' });
export const secretResponse = z.object({ secret: z.string() }).meta({ id: 'EndpointSecret' });
export const rotatedSecretResponse = z
  .object({ secret: z.string(), previous_secret_expires_at: nullableTimestamp.meta({ description: 'until when the old secret keeps signing too' }) })
  .meta({ id: 'RotatedSecret' });
export const testEventResponse = z.object({ event_id: z.string() }).meta({ id: 'TestEventAccepted' });
export const recoverResponse = z.object({ count: z.number().int().min(0) }).meta({ id: 'RecoverAccepted' });

export const envelopeResponse = z
  .object({
    id: z.string().meta({ example: 'evt_01JABCDEFGHJKMNPQRSTVWXYZ0' }),
    type: eventType,
    created: timestamp,
    tenant_id: z.string(),
    data: z.record(z.string(), z.unknown()),
    api_version: z.literal(API_VERSION),
  })
  .meta({ id: 'EventEnvelope', description: 'The Events API envelope: what POST /v1/events answers and what each endpoint receives.' });

export const deliverySummaryResponse = z
  .object({
    id: z.string().meta({ description: '<event id>:<endpoint id>, or <event id>:classic' }),
    event_id: z.string().nullable(),
    endpoint_id: z.string().nullable(),
    event_type: z.string().nullable(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int().min(0),
    last_status_code: z.number().int().nullable(),
    next_attempt_at: nullableTimestamp,
    created_at: timestamp,
  })
  .meta({ id: 'DeliverySummary' });
export const deliveryDetailResponse = deliverySummaryResponse
  .extend({
    attempts: z.array(
      z.object({
        attempt: z.number().int().min(1),
        at: timestamp,
        status_code: z.number().int().nullable(),
        duration_ms: z.number().min(0),
        error: z.string().nullable(),
        response_excerpt: z.string().nullable(),
        manual: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'Delivery' });
export const eventWithDeliveriesResponse = z
  .object({
    id: z.string(),
    created: timestamp,
    tenant_id: z.string(),
    data: z.record(z.string(), z.unknown()),
    type: z.string().optional(),
    action: z.enum(CLASSIC_ACTIONS).optional(),
    api_version: z.string().optional(),
    object: z.object({ type: z.enum(OBJECT_TYPES), eid: z.string() }).nullable().optional(),
    deliveries: z.array(deliverySummaryResponse),
  })
  .meta({ id: 'EventWithDeliveries', description: 'The event (or classic action) as published, with one delivery summary per target.' });
export const retryResponse = z
  .object({ id: z.string(), retry: z.enum(['attempting_now', 'resent']) })
  .meta({ id: 'RetryAccepted' });

export const actionAcceptedResponse = z.object({ id: z.string(), action: z.enum(CLASSIC_ACTIONS) }).meta({ id: 'ActionAccepted' });
export const webhookTestResponse = z.object({ id: z.string() }).meta({ id: 'WebhookTestAccepted' });
export const webhookSettingsResponse = z
  .object({
    enabled: z.boolean(),
    url: z.string().nullable(),
    token: z.string().nullable().meta({ description: 'sent in every classic body; made when webhooks are first enabled' }),
    public_key: z.string().nullable().meta({ description: 'SPKI PEM; when set, classic `data` is encrypted' }),
  })
  .meta({ id: 'WebhookSettings' });
export const keypairResponse = z
  .object({ public_key: z.string(), private_key: z.string().meta({ description: 'PKCS#8 PEM, shown once, never stored' }) })
  .meta({ id: 'Keypair' });
export const objectUrlResponse = z
  .object({ type: z.enum(OBJECT_TYPES), eid: z.string(), url: z.string() })
  .meta({ id: 'ObjectWebhookUrl' });

export const objectUrlListResponse = listOf(
  z.object({ type: z.enum(OBJECT_TYPES), eid: z.string(), url: z.string(), updated_at: timestamp }),
  'ObjectWebhookUrlList',
);

export const portalLinkResponse = z
  .object({
    url: z.string().meta({ description: 'opens the Settings pages for the tenant, once; the token is in the fragment (#token=…), never sent to a server' }),
    expires_at: timestamp.meta({ description: 'the link must be opened before this' }),
  })
  .meta({ id: 'PortalLink' });
export const portalSessionResponse = z
  .object({
    session_token: z.string().meta({ description: 'anv_ps_…: a bearer key for the routes the Settings pages use, until expires_at' }),
    expires_at: timestamp,
    tenant: z.object({ id: z.string(), name: z.string(), plan: z.enum(PLANS) }),
  })
  .meta({ id: 'PortalSession' });

export const healthResponse = z
  .object({ status: z.enum(['ok', 'degraded']), temporal: z.string(), postgres: z.string() })
  .meta({ id: 'Health' });
export const livenessResponse = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

// --- what we POST to receivers (the OpenAPI `webhooks` section) -------------------------------------
export const classicBody = z
  .object({
    action: z.enum(CLASSIC_ACTIONS),
    token: z.string().meta({ description: "the organization's token: compare it with the one in API Settings" }),
    data: z.union([
      z.record(z.string(), z.unknown()).meta({ description: 'plain JSON when the organization has no public key' }),
      z.string().meta({
        description:
          '`<wrappedKey>:<iv>:<ciphertext>` when it has one: decrypt with @anvilco/encryption decryptRSA (npm) or python-anvil-encryption',
      }),
    ]),
  })
  .meta({ id: 'ClassicWebhookBody' });

export const listenSessionResponse = z
  .object({
    id: z.string().meta({ example: 'ls_01JABCDEFGHJKMNPQRSTVWXYZ0' }),
    endpoint_id: z.string().meta({ description: 'the temporary endpoint (url listen://<session id>)' }),
    secret: z.string().meta({ description: 'its signing secret (whsec_…)' }),
    events: z.array(eventType),
    forward_to: z.string().nullable(),
    expires_after_seconds: z.number().meta({ description: 'the session is removed once its CLI has been gone this long' }),
    created_at: timestamp,
  })
  .meta({ id: 'ListenSession' });
