// Every SQL statement of the service, behind typed functions that the API and the activities share.
import { createHash } from 'node:crypto';
import type { Db } from './db';
import { PLAN_ENDPOINT_LIMITS, type ObjectType, type Plan } from '../domain/catalog';
import type { EndpointFilter } from '../domain/filters';
import type { SignatureScheme } from '../domain/signing';
import { newApiKey, newApiKeyId, newClassicToken, newEndpointId, newEndpointSecret, newTenantId } from '../domain/ids';
import { portalStatements } from './portal-store';

export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** NOTIFY channel: an endpoint was turned off automatically (payload: its id). */
export const ENDPOINT_DISABLED_CHANNEL = 'anvil_endpoint_disabled';

export interface Tenant {
  id: string;
  name: string;
  plan: Plan;
  created_at: Date;
}

export interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  events: string[];
  filter: EndpointFilter | null;
  status: 'enabled' | 'disabled';
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  signature_scheme: SignatureScheme;
  /** The first failed attempt of the current streak (null after a success). */
  failing_since: Date | null;
  disabled_reason: string | null;
  disabled_at: Date | null;
  /** Disabled automatically; its pending deliveries not yet canceled nor the tenant told. */
  disable_notice_pending: boolean;
}

export interface WebhookSettingsRow {
  tenant_id: string;
  enabled: boolean;
  url: string | null;
  token: string | null;
  public_key: string | null;
}

export interface EventRow {
  id: string;
  tenant_id: string;
  kind: 'event' | 'classic';
  type: string;
  body: Record<string, unknown>;
  created_at: Date;
  started_at: Date | null;
}

/** What the delivery log reads from an event's row beside Temporal (infra/event-facts.ts). */
export interface EventDeliveryFacts {
  id: string;
  created_at: Date;
  first_attempts: Record<string, number> | null;
  resent: Record<string, string> | null;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  key_prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** Every API instance listens here: a revoked key's hash, or `tenant:<id>` for a deleted tenant. */
export const AUTH_CHANGES_CHANNEL = 'anvil_auth_changes';

export class PlanLimitError extends Error {
  override name = 'PlanLimitError';
  constructor(readonly limit: number) {
    super(`plan limit reached: at most ${limit} endpoints`);
  }
}

export interface EndpointForDelivery {
  url: string;
  status: 'enabled' | 'disabled';
  /** Newest first: during a rotation the previous secret signs too. */
  secrets: string[];
  scheme: SignatureScheme;
  /** The current streak of failures began then (null: the last attempt succeeded). */
  failingSince: Date | null;
}

/** An endpoint subscribed to an event's type, with what its filter and its first attempt need. */
export type SubscribedEndpoint = EndpointForDelivery & Pick<EndpointRow, 'id' | 'filter'>;

export type DeliveryRow = Pick<EndpointRow, 'url' | 'status' | 'secret' | 'previous_secret' | 'signature_scheme' | 'failing_since'> & { previous_valid: boolean };
const DELIVERY_COLUMNS =
  'url, status, secret, previous_secret, previous_secret_expires_at > now() AS previous_valid, signature_scheme, failing_since';

/** DELIVERY_COLUMNS of a join's `endpoints AS e`. */
export const DELIVERY_COLUMNS_OF_E = DELIVERY_COLUMNS.replace(/(^|, )(\w+)/g, '$1e.$2');

/**
 * Which endpoints an event goes to, as SQL over `endpoints AS e`: the tenant's endpoints that are enabled,
 * not deleted and subscribed to the event's type. One rule for the publish-time claim (infra/event-claims.ts)
 * and the legacy fan-out (subscribedEndpoints); `tenant` and `type` are SQL expressions (parameters, columns).
 */
export const subscribedTo = (tenant: string, type: string) =>
  `e.tenant_id = ${tenant} AND e.deleted_at IS NULL AND e.status = 'enabled' AND ${type} = ANY(e.events)`;

export function forDelivery(row: DeliveryRow): EndpointForDelivery {
  const secrets = [row.secret];
  if (row.previous_secret && row.previous_valid) secrets.push(row.previous_secret);
  return { url: row.url, status: row.status, secrets, scheme: row.signature_scheme, failingSince: row.failing_since };
}

/** Temporary endpoints of `anvil-webhooks listen` (their URL names the CLI's session): outside plan limits. */
export const LISTEN_URL_PREFIX = 'listen://';

export const EVENT_COLUMNS = 'id, tenant_id, kind, type, body, created_at, started_at';

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function createStore(db: Db) {
  return {
    ...portalStatements(db),

    async ping(): Promise<void> {
      await db.query('SELECT 1');
    },

    // --- tenants and keys -------------------------------------------------------------------------
    async createTenant(name: string, plan: Plan): Promise<{ tenant: Tenant; apiKey: string }> {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        const tenant = (
          await client.query<Tenant>(
            'INSERT INTO tenants (id, name, plan) VALUES ($1, $2, $3) RETURNING id, name, plan, created_at',
            [newTenantId(), name, plan],
          )
        ).rows[0]!;
        const apiKey = newApiKey();
        await client.query('INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4)', [
          newApiKeyId(),
          tenant.id,
          hashApiKey(apiKey),
          apiKey.slice(0, 11),
        ]);
        await client.query('COMMIT');
        return { tenant, apiKey };
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },

    async getTenant(id: string): Promise<Tenant | null> {
      const r = await db.query<Tenant>('SELECT id, name, plan, created_at FROM tenants WHERE id = $1', [id]);
      return r.rows[0] ?? null;
    },

    /** The tenant of a live key; records the use (the API caches keys, so at most every few seconds). */
    async tenantForApiKey(apiKey: string): Promise<Tenant | null> {
      const r = await db.query<Tenant>(
        `UPDATE api_keys k SET last_used_at = now() FROM tenants t
          WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.id = k.tenant_id
          RETURNING t.id, t.name, t.plan, t.created_at`,
        [hashApiKey(apiKey)],
      );
      return r.rows[0] ?? null;
    },

    async listTenants(limit: number, after: string | null): Promise<Tenant[]> {
      const r = await db.query<Tenant>(
        'SELECT id, name, plan, created_at FROM tenants WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2',
        [after, limit],
      );
      return r.rows;
    },

    async updateTenant(id: string, patch: { name?: string; plan?: Plan }): Promise<Tenant | null> {
      const r = await db.query<Tenant>(
        `UPDATE tenants SET name = COALESCE($2, name), plan = COALESCE($3, plan) WHERE id = $1
          RETURNING id, name, plan, created_at`,
        [id, patch.name ?? null, patch.plan ?? null],
      );
      if (r.rows[0]) await db.query('SELECT pg_notify($1, $2)', [AUTH_CHANGES_CHANNEL, `tenant:${id}`]);
      return r.rows[0] ?? null;
    },

    /**
     * Removes a tenant and everything it owns (keys, endpoints and secrets, settings, object URLs, event
     * rows: ON DELETE CASCADE), and tells every API instance to forget its cached keys.
     */
    async deleteTenant(id: string): Promise<boolean> {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        const r = await client.query('DELETE FROM tenants WHERE id = $1', [id]);
        await client.query('SELECT pg_notify($1, $2)', [AUTH_CHANGES_CHANNEL, `tenant:${id}`]);
        await client.query('COMMIT');
        return (r.rowCount ?? 0) > 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },

    async listApiKeys(tenantId: string, limit: number, after: string | null): Promise<ApiKeyRow[]> {
      const r = await db.query<ApiKeyRow>(
        `SELECT id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at FROM api_keys
          WHERE tenant_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
        [tenantId, after, limit],
      );
      return r.rows;
    },

    async createApiKey(tenantId: string, name: string): Promise<{ row: ApiKeyRow; apiKey: string }> {
      const apiKey = newApiKey();
      const r = await db.query<ApiKeyRow>(
        `INSERT INTO api_keys (id, tenant_id, key_hash, key_prefix, name) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at`,
        [newApiKeyId(), tenantId, hashApiKey(apiKey), apiKey.slice(0, 11), name],
      );
      return { row: r.rows[0]!, apiKey };
    },

    /** Revokes a key (idempotent) and tells every API instance to drop it from its cache. */
    async revokeApiKey(tenantId: string, id: string): Promise<{ row: ApiKeyRow; keyHash: string } | null> {
      const r = await db.query<ApiKeyRow & { key_hash: string }>(
        `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE tenant_id = $1 AND id = $2
         RETURNING id, tenant_id, name, key_prefix, created_at, last_used_at, revoked_at, key_hash`,
        [tenantId, id],
      );
      const row = r.rows[0];
      if (!row) return null;
      await db.query('SELECT pg_notify($1, $2)', [AUTH_CHANGES_CHANNEL, row.key_hash]);
      const { key_hash: keyHash, ...view } = row;
      return { row: view, keyHash };
    },

    // --- endpoints --------------------------------------------------------------------------------
    async createEndpoint(
      tenant: Tenant,
      input: {
        url: string;
        events: string[];
        description: string | null;
        filter: EndpointFilter | null;
        signature_scheme?: SignatureScheme;
        /** A listen session's secret, kept by its CLI between sessions; otherwise a new one. */
        secret?: string;
      },
    ): Promise<EndpointRow> {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        // The tenant row lock serializes concurrent creations so the plan limit cannot be overrun.
        await client.query('SELECT id FROM tenants WHERE id = $1 FOR UPDATE', [tenant.id]);
        const limit = PLAN_ENDPOINT_LIMITS[tenant.plan];
        if (limit !== null && !input.url.startsWith(LISTEN_URL_PREFIX)) {
          const count = Number(
            (
              await client.query<{ n: string }>(
                'SELECT count(*) AS n FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL AND url NOT LIKE $2',
                [tenant.id, `${LISTEN_URL_PREFIX}%`],
              )
            ).rows[0]!.n,
          );
          if (count >= limit) throw new PlanLimitError(limit);
        }
        const row = (
          await client.query<EndpointRow>(
            `INSERT INTO endpoints (id, tenant_id, url, description, events, filter, secret, signature_scheme)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
            [
              newEndpointId(),
              tenant.id,
              input.url,
              input.description,
              input.events,
              input.filter === null ? null : JSON.stringify(input.filter),
              input.secret ?? newEndpointSecret(),
              input.signature_scheme ?? 'anvil',
            ],
          )
        ).rows[0]!;
        await client.query('COMMIT');
        return row;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },

    async listEndpoints(tenantId: string, limit: number, after: string | null): Promise<EndpointRow[]> {
      const r = await db.query<EndpointRow>(
        `SELECT * FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id > $2)
          ORDER BY id LIMIT $3`,
        [tenantId, after, limit],
      );
      return r.rows;
    },

    async getEndpoint(tenantId: string, id: string): Promise<EndpointRow | null> {
      const r = await db.query<EndpointRow>(
        'SELECT * FROM endpoints WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
        [tenantId, id],
      );
      return r.rows[0] ?? null;
    },

    async updateEndpoint(
      tenantId: string,
      id: string,
      patch: Partial<{
        url: string;
        events: string[];
        description: string | null;
        filter: EndpointFilter | null;
        status: 'enabled' | 'disabled';
        signature_scheme: SignatureScheme;
      }>,
    ): Promise<EndpointRow | null> {
      const sets: string[] = [];
      const values: unknown[] = [tenantId, id];
      for (const [column, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        values.push(column === 'filter' && value !== null ? JSON.stringify(value) : value);
        sets.push(`${column} = $${values.length}`);
      }
      // Enabling starts afresh (no streak, no reason); disabling by hand says so unless a reason is there.
      if (patch.status === 'enabled') {
        sets.push('failing_since = NULL', 'disabled_reason = NULL', 'disabled_at = NULL', 'disable_notice_pending = false');
      } else if (patch.status === 'disabled') {
        sets.push(`disabled_reason = COALESCE(disabled_reason, 'disabled manually')`, 'disabled_at = COALESCE(disabled_at, now())');
      }
      const r = await db.query<EndpointRow>(
        `UPDATE endpoints SET ${[...sets, 'updated_at = now()'].join(', ')}
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING *`,
        values,
      );
      return r.rows[0] ?? null;
    },

    async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query(
        'UPDATE endpoints SET deleted_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
        [tenantId, id],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** The old secret keeps signing beside the new one for 24 h. */
    async rotateEndpointSecret(tenantId: string, id: string): Promise<EndpointRow | null> {
      const r = await db.query<EndpointRow>(
        `UPDATE endpoints SET previous_secret = secret, secret = $3,
                previous_secret_expires_at = now() + ($4::bigint * interval '1 millisecond'), updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING *`,
        [tenantId, id, newEndpointSecret(), SECRET_ROTATION_OVERLAP_MS],
      );
      return r.rows[0] ?? null;
    },

    /** For an attempt: where to send and which secrets sign (newest first). Null when gone. */
    async endpointForDelivery(endpointId: string): Promise<EndpointForDelivery | null> {
      const r = await db.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM endpoints WHERE id = $1 AND deleted_at IS NULL`, [
        endpointId,
      ]);
      return r.rows[0] ? forDelivery(r.rows[0]) : null;
    },

    /** Enabled endpoints of a tenant subscribed to a type, with what an attempt needs (filters are the caller's). */
    async subscribedEndpoints(tenantId: string, type: string): Promise<SubscribedEndpoint[]> {
      const r = await db.query<DeliveryRow & Pick<EndpointRow, 'id' | 'filter'>>(
        `SELECT e.id, e.filter, ${DELIVERY_COLUMNS_OF_E} FROM endpoints AS e WHERE ${subscribedTo('$1', '$2')} ORDER BY e.id`,
        [tenantId, type],
      );
      return r.rows.map((row) => ({ id: row.id, filter: row.filter, ...forDelivery(row) }));
    },

    // --- endpoint health (written only when an attempt fails, or succeeds after failures) ----------------
    /** An attempt failed and the row said no streak: the streak starts now (no-op if one already began). */
    async startFailureStreak(endpointId: string): Promise<void> {
      await db.query(
        `UPDATE endpoints SET failing_since = now() WHERE id = $1 AND failing_since IS NULL AND status = 'enabled' AND deleted_at IS NULL`,
        [endpointId],
      );
    },

    /** An attempt succeeded after failures: the streak ends. */
    async endFailureStreak(endpointId: string): Promise<void> {
      await db.query('UPDATE endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [endpointId]);
    },

    /**
     * Turns an endpoint off when its streak of failures is at least `spanMs` old, marks the follow-up
     * pending and wakes the API processes (see api/endpoint-health.ts). True for the one caller that
     * turned it off.
     */
    async disableFailingEndpoint(endpointId: string, spanMs: number, reason: string): Promise<boolean> {
      const r = await db.query(
        `WITH off AS (
           UPDATE endpoints SET status = 'disabled', disabled_reason = $3, disabled_at = now(), disable_notice_pending = true,
                                updated_at = now()
            WHERE id = $1 AND status = 'enabled' AND deleted_at IS NULL
              AND failing_since <= now() - ($2::bigint * interval '1 millisecond')
           RETURNING id)
         SELECT pg_notify('${ENDPOINT_DISABLED_CHANNEL}', id) FROM off`,
        [endpointId, spanMs, reason],
      );
      return (r.rowCount ?? 0) > 0;
    },

    /** Endpoints turned off automatically whose follow-up (cancel, tell the tenant) is still to do. */
    async pendingDisableNotices(limit = 100): Promise<EndpointRow[]> {
      const r = await db.query<EndpointRow>('SELECT * FROM endpoints WHERE disable_notice_pending ORDER BY id LIMIT $1', [limit]);
      return r.rows;
    },

    async disableNoticeDone(endpointId: string): Promise<void> {
      await db.query('UPDATE endpoints SET disable_notice_pending = false WHERE id = $1', [endpointId]);
    },

    // --- classic settings -------------------------------------------------------------------------
    async getWebhookSettings(tenantId: string): Promise<WebhookSettingsRow> {
      const r = await db.query<WebhookSettingsRow>(
        'SELECT tenant_id, enabled, url, token, public_key FROM webhook_settings WHERE tenant_id = $1',
        [tenantId],
      );
      return r.rows[0] ?? { tenant_id: tenantId, enabled: false, url: null, token: null, public_key: null };
    },

    /** The token is made when webhooks are first enabled and stays stable afterwards. */
    async putWebhookSettings(
      tenantId: string,
      input: { enabled: boolean; url?: string | null },
    ): Promise<WebhookSettingsRow> {
      const r = await db.query<WebhookSettingsRow>(
        `INSERT INTO webhook_settings (tenant_id, enabled, url, token)
              VALUES ($1, $2, $3, CASE WHEN $2 THEN $4 ELSE NULL END)
         ON CONFLICT (tenant_id) DO UPDATE SET
              enabled = EXCLUDED.enabled,
              url = CASE WHEN $5 THEN EXCLUDED.url ELSE webhook_settings.url END,
              token = COALESCE(webhook_settings.token, EXCLUDED.token),
              updated_at = now()
         RETURNING tenant_id, enabled, url, token, public_key`,
        [tenantId, input.enabled, input.url ?? null, newClassicToken(), input.url !== undefined],
      );
      return r.rows[0]!;
    },

    async setPublicKey(tenantId: string, publicKey: string | null): Promise<WebhookSettingsRow> {
      const r = await db.query<WebhookSettingsRow>(
        `INSERT INTO webhook_settings (tenant_id, public_key) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET public_key = EXCLUDED.public_key, updated_at = now()
         RETURNING tenant_id, enabled, url, token, public_key`,
        [tenantId, publicKey],
      );
      return r.rows[0]!;
    },

    async getObjectUrl(tenantId: string, type: ObjectType, eid: string): Promise<string | null> {
      const r = await db.query<{ url: string }>(
        'SELECT url FROM object_webhook_urls WHERE tenant_id = $1 AND object_type = $2 AND eid = $3',
        [tenantId, type, eid],
      );
      return r.rows[0]?.url ?? null;
    },

    /** Per-object URLs of a tenant, by type then eid, after the (type, eid) cursor. */
    async listObjectUrls(
      tenantId: string,
      limit: number,
      after: { type: string; eid: string } | null,
    ): Promise<{ object_type: ObjectType; eid: string; url: string; updated_at: Date }[]> {
      const r = await db.query<{ object_type: ObjectType; eid: string; url: string; updated_at: Date }>(
        `SELECT object_type, eid, url, updated_at FROM object_webhook_urls
          WHERE tenant_id = $1 AND ($2::text IS NULL OR (object_type, eid) > ($2, $3))
          ORDER BY object_type, eid LIMIT $4`,
        [tenantId, after?.type ?? null, after?.eid ?? null, limit],
      );
      return r.rows;
    },

    async putObjectUrl(tenantId: string, type: ObjectType, eid: string, url: string): Promise<void> {
      await db.query(
        `INSERT INTO object_webhook_urls (tenant_id, object_type, eid, url) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, object_type, eid) DO UPDATE SET url = EXCLUDED.url, updated_at = now()`,
        [tenantId, type, eid, url],
      );
    },

    async deleteObjectUrl(tenantId: string, type: ObjectType, eid: string): Promise<boolean> {
      const r = await db.query(
        'DELETE FROM object_webhook_urls WHERE tenant_id = $1 AND object_type = $2 AND eid = $3',
        [tenantId, type, eid],
      );
      return (r.rowCount ?? 0) > 0;
    },

    // --- events (idempotency) ---------------------------------------------------------------------
    /** Inserts the event row; on an id already taken returns the existing row instead. */
    async getEvent(tenantId: string, id: string): Promise<EventRow | null> {
      const r = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return r.rows[0] ?? null;
    },

    /** The delivery log's facts for a page of events (one query). */
    async eventDeliveryFacts(tenantId: string, ids: string[]): Promise<Map<string, EventDeliveryFacts>> {
      if (ids.length === 0) return new Map();
      const r = await db.query<EventDeliveryFacts>(
        'SELECT id, created_at, first_attempts, resent FROM events WHERE tenant_id = $1 AND id = ANY($2::text[])',
        [tenantId, ids],
      );
      return new Map(r.rows.map((row) => [row.id, row]));
    },

    /** A closed workflow was re-run for one target: that run now speaks for the target. */
    async recordResend(eventId: string, targetId: string, runId: string): Promise<void> {
      await db.query(`UPDATE events SET resent = COALESCE(resent, '{}'::jsonb) || jsonb_build_object($2::text, $3::text) WHERE id = $1`, [
        eventId,
        targetId,
        runId,
      ]);
    },
  };
}

export type Store = ReturnType<typeof createStore>;
