// Request shapes: the single source of truth for validation and for the TypeScript types (z.infer).
import { z } from 'zod';
import { isForbiddenHost } from './addresses';
import { CLASSIC_ACTIONS, EVENT_TYPES, OBJECT_TYPES, PLANS } from './catalog';
import { endpointFilterSchema } from './filters';
import { isStandardWebhooksSecret, SIGNATURE_SCHEMES } from './signing';

const MAX_URL_LENGTH = 2048;

// Identifiers are checked by shape before any query: a NUL byte, a newline or an over-long string never
// reaches PostgreSQL or a Temporal visibility query.
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const EVENT_ID = 'evt_[A-Za-z0-9]{8,64}';
export const tenantIdSchema = z
  .string({ error: 'must be a tenant id' })
  .regex(new RegExp(`^tnt_${ULID}$`), 'must be "tnt_" followed by 26 ULID characters');
export const endpointIdSchema = z
  .string({ error: 'must be an endpoint id' })
  .regex(new RegExp(`^ep_${ULID}$`), 'must be "ep_" followed by 26 ULID characters');
export const apiKeyIdSchema = z
  .string({ error: 'must be an API key id' })
  .regex(new RegExp(`^key_${ULID}$`), 'must be "key_" followed by 26 ULID characters');
export const eventIdSchema = z
  .string({ error: 'must be an event id' })
  .regex(new RegExp(`^${EVENT_ID}$`), 'must be "evt_" followed by 8 to 64 letters or digits');
/** `<event id>:<endpoint id>`, or `<event id>:classic` for a classic action. */
export const deliveryIdSchema = z
  .string({ error: 'must be a delivery id' })
  .regex(new RegExp(`^${EVENT_ID}:(ep_${ULID}|classic)$`), 'must be "<event id>:<endpoint id>" or "<event id>:classic"');
/** What a delivery list may be filtered by as its endpoint: an endpoint id, or `classic`. */
export const deliveryEndpointIdSchema = z
  .string()
  .regex(new RegExp(`^(ep_${ULID}|classic)$`), 'must be an endpoint id ("ep_…") or "classic"');

const tenantIdField = tenantIdSchema.optional();

/** Text stored in PostgreSQL: its text type cannot hold NUL characters. */
const NO_NUL = { message: 'must not contain NUL characters' };
export const text = () => z.string().refine((s) => !s.includes('\0'), NO_NUL);

/**
 * A delivery target URL. Production: https only, no credentials, no literal private or loopback host
 * (the worker checks the resolved address again at delivery time). Development/tests: http and loopback.
 */
export function targetUrlSchema(allowInsecure: boolean) {
  return z
    .string({ error: 'must be a string URL' })
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .superRefine((value, ctx) => {
      if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
        ctx.addIssue({ code: 'custom', message: 'must not contain control characters' });
        return;
      }
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
        return;
      }
      const schemes = allowInsecure ? ['https:', 'http:'] : ['https:'];
      if (!schemes.includes(url.protocol)) {
        ctx.addIssue({
          code: 'custom',
          message: allowInsecure ? 'must be an http:// or https:// URL' : 'must be an https:// URL',
        });
        return;
      }
      if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials' });
      if (!allowInsecure && isForbiddenHost(url.hostname)) {
        ctx.addIssue({ code: 'custom', message: 'must not point at a private, loopback, link-local or reserved address' });
      }
    });
}

export const createTenantSchema = z.strictObject({
  name: text().trim().min(1, 'must not be empty').max(200),
  plan: z.enum(PLANS, { error: `must be one of: ${PLANS.join(', ')}` }).default('pro'),
});

const eventTypeSchema = z.enum(EVENT_TYPES, { error: `must be one of the event types in GET /v1/event-types` });
const eventListSchema = z
  .array(eventTypeSchema, { error: 'must be an array of event types' })
  .min(1, 'must name at least one event type')
  .max(EVENT_TYPES.length)
  .transform((types) => [...new Set(types)]);

const signatureSchemeSchema = z.enum(SIGNATURE_SCHEMES, { error: `must be one of: ${SIGNATURE_SCHEMES.join(', ')}` });

export function createEndpointSchema(allowInsecure: boolean) {
  return z.strictObject({
    url: targetUrlSchema(allowInsecure),
    events: eventListSchema,
    description: text().max(500).nullable().optional(),
    filter: endpointFilterSchema.nullable().optional(),
    signature_scheme: signatureSchemeSchema.optional(),
    tenant_id: tenantIdField,
  });
}

export function updateEndpointSchema(allowInsecure: boolean) {
  return z
    .strictObject({
      url: targetUrlSchema(allowInsecure).optional(),
      events: eventListSchema.optional(),
      description: text().max(500).nullable().optional(),
      filter: endpointFilterSchema.nullable().optional(),
      status: z.enum(['enabled', 'disabled'], { error: 'must be "enabled" or "disabled"' }).optional(),
      signature_scheme: signatureSchemeSchema.optional(),
      tenant_id: tenantIdField,
    })
    .refine((v) => Object.keys(v).some((k) => k !== 'tenant_id'), { message: 'nothing to update' });
}

const objectData = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });

export const publishEventSchema = z.strictObject({
  id: eventIdSchema.optional(),
  type: eventTypeSchema,
  data: objectData,
  tenant_id: tenantIdField,
});

export const testEventSchema = z.strictObject({
  type: eventTypeSchema.optional(),
  tenant_id: tenantIdField,
});

const objectTypeSchema = z.enum(OBJECT_TYPES, { error: `must be one of: ${OBJECT_TYPES.join(', ')}` });
export const objectRefSchema = z.strictObject({
  type: objectTypeSchema,
  eid: z.string().min(1).max(128).regex(/^[\w-]+$/, 'must be letters, digits, "-" or "_"'),
});

export const publishActionSchema = z.strictObject({
  id: eventIdSchema.optional(),
  action: z.enum(CLASSIC_ACTIONS, { error: `must be one of: ${CLASSIC_ACTIONS.join(', ')}` }),
  object: objectRefSchema.optional(),
  data: z.looseObject(
    { isTest: z.boolean({ error: 'must be a boolean' }).optional(), eid: z.string({ error: 'must be a string' }).optional() },
    { error: 'must be a JSON object' },
  ),
  tenant_id: tenantIdField,
});

export function webhookSettingsSchema(allowInsecure: boolean) {
  return z.strictObject({
    enabled: z.boolean({ error: 'must be true or false' }),
    url: targetUrlSchema(allowInsecure).nullable().optional(),
    tenant_id: tenantIdField,
  });
}

export const publicKeySchema = z.strictObject({
  public_key: z.string({ error: 'must be a PEM string' }).max(16_384, 'must be at most 16384 characters'),
  tenant_id: tenantIdField,
});

export function objectUrlSchema(allowInsecure: boolean) {
  return z.strictObject({ url: targetUrlSchema(allowInsecure), tenant_id: tenantIdField });
}

export const recoverSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }),
    until: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }).optional(),
    tenant_id: tenantIdField,
  })
  .refine((v) => v.until === undefined || Date.parse(v.until) > Date.parse(v.since), {
    message: 'must be after since',
    path: ['until'],
  });

export const limitSchema = z.coerce
  .number({ error: 'must be a whole number from 1 to 100' })
  .int('must be a whole number from 1 to 100')
  .min(1, 'must be at least 1')
  .max(100, 'must be at most 100')
  .default(20);

export const listQuerySchema = z.object({
  limit: limitSchema,
  cursor: z.string().max(500).optional(),
  tenant_id: tenantIdField,
});

/** Queries of routes that take none but the admin's tenant_id. */
export const tenantQuerySchema = z.strictObject({ tenant_id: tenantIdField });

export const createApiKeySchema = z.strictObject({
  name: text().trim().min(1, 'must not be empty').max(200),
  tenant_id: tenantIdField,
});

export const updateTenantSchema = z
  .strictObject({
    name: text().trim().min(1, 'must not be empty').max(200).optional(),
    plan: z.enum(PLANS, { error: `must be one of: ${PLANS.join(', ')}` }).optional(),
  })
  .refine((v) => v.name !== undefined || v.plan !== undefined, { message: 'nothing to update: give name or plan' });

/** POST /v1/portal-sessions: a tenant key asks for itself; the admin key names the tenant. */
export const portalSessionSchema = z.strictObject({ tenant_id: tenantIdField });

/** The Settings pages' sign-in: the one-time link's token, read from the link's fragment by the page. */
export const portalSignInSchema = z.strictObject({
  token: z.string({ error: 'must be the token from the sign-in link' }).min(1, 'must not be empty').max(200),
});

// --- anvil-webhooks listen ------------------------------------------------------------------------------

export const listenSessionIdSchema = z
  .string({ error: 'must be a listen session id' })
  .regex(new RegExp(`^ls_${ULID}$`), 'must be "ls_" followed by 26 ULID characters');

/** Most bytes of a local answer kept for the delivery log. */
export const LISTEN_EXCERPT_MAX = 2048;

export const createListenSessionSchema = z.strictObject({
  events: z
    .array(z.enum(EVENT_TYPES, { error: 'must be one of the event types in GET /v1/event-types' }), { error: 'must be an array of event types' })
    .min(1, 'must name at least one event type')
    .max(EVENT_TYPES.length)
    .transform((types) => [...new Set(types)])
    .optional()
    .meta({ description: 'the event types to receive (default: all)' }),
  // Shown in the endpoint's description (at most 500 characters, as the API's own descriptions).
  forward_to: z
    .string({ error: 'must be a string URL' })
    .max(400, 'must be at most 400 characters')
    .refine((value) => {
      if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return false;
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'must be an http(s) URL without control characters')
    .optional()
    .meta({ description: "the CLI's local URL, shown in the endpoint's description" }),
  secret: z
    .string()
    .max(200)
    .refine((s) => /^whsec_[A-Za-z0-9]{32,}$/.test(s) && isStandardWebhooksSecret(s), 'must be whsec_ followed by at least 32 letters or digits (a multiple of 4)')
    .optional()
    .meta({ description: 'the secret of an earlier session, kept by the CLI (default: a new one)' }),
  tenant_id: z.string().min(1).optional(),
});

export const listenAnswerSchema = z.strictObject({
  request_id: z.string().regex(new RegExp(`^lr_${ULID}$`), 'must be the request_id of a delivery on this stream'),
  status_code: z.number().int().min(100).max(599).nullable().meta({ description: "the local URL's status; null when it could not be reached" }),
  duration_ms: z.number().int().min(0).max(3_600_000).optional(),
  error: z.string().max(500).nullable().optional(),
  response_excerpt: z.string().max(LISTEN_EXCERPT_MAX * 4).nullable().optional(),
  tenant_id: z.string().min(1).optional(),
});
