// The Settings pages' sign-in, in SQL: one-time links and the short-lived sessions they open. Tokens are
// stored only as SHA-256 hashes; a link is exchanged at most once (one UPDATE … WHERE opened_at IS NULL).
import { createHash } from 'node:crypto';
import type { Db } from './db';
import { newPortalLinkToken, newPortalSessionId, newPortalSessionToken } from '../domain/ids';
import type { Tenant } from './store';

/** Used and expired rows are kept this long, so a stale link is told apart from a made-up one. */
const KEEP_STALE_MS = 24 * 60 * 60 * 1000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export type OpenedLink =
  | { ok: true; sessionToken: string; expiresAt: Date; tenant: Tenant }
  | { ok: false; reason: 'invalid' | 'used' | 'expired' };

export function portalStatements(db: Db) {
  return {
    /** A one-time sign-in link for a tenant; also forgets rows stale for more than a day. */
    async createPortalLink(tenantId: string, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
      await db.query(
        `DELETE FROM portal_sessions WHERE link_expires_at < now() - ($1::bigint * interval '1 millisecond')
            AND (session_expires_at IS NULL OR session_expires_at < now() - ($1::bigint * interval '1 millisecond'))`,
        [KEEP_STALE_MS],
      );
      const token = newPortalLinkToken();
      const r = await db.query<{ link_expires_at: Date }>(
        `INSERT INTO portal_sessions (id, tenant_id, link_hash, link_expires_at)
         VALUES ($1, $2, $3, now() + ($4::bigint * interval '1 millisecond')) RETURNING link_expires_at`,
        [newPortalSessionId(), tenantId, hashToken(token), ttlMs],
      );
      return { token, expiresAt: r.rows[0]!.link_expires_at };
    },

    /** Exchanges a link for a session, once; says why when it cannot. */
    async openPortalLink(linkToken: string, sessionTtlMs: number): Promise<OpenedLink> {
      const sessionToken = newPortalSessionToken();
      const r = await db.query<Tenant & { session_expires_at: Date }>(
        `WITH opened AS (
           UPDATE portal_sessions SET opened_at = now(), session_hash = $2,
                  session_expires_at = now() + ($3::bigint * interval '1 millisecond')
            WHERE link_hash = $1 AND opened_at IS NULL AND link_expires_at > now()
            RETURNING tenant_id, session_expires_at)
         SELECT t.id, t.name, t.plan, t.created_at, o.session_expires_at FROM opened o JOIN tenants t ON t.id = o.tenant_id`,
        [hashToken(linkToken), hashToken(sessionToken), sessionTtlMs],
      );
      const row = r.rows[0];
      if (row) {
        const { session_expires_at, ...tenant } = row;
        return { ok: true, sessionToken, expiresAt: session_expires_at, tenant };
      }
      const why = await db.query<{ used: boolean }>('SELECT opened_at IS NOT NULL AS used FROM portal_sessions WHERE link_hash = $1', [
        hashToken(linkToken),
      ]);
      const stale = why.rows[0];
      return { ok: false, reason: !stale ? 'invalid' : stale.used ? 'used' : 'expired' };
    },

    /** The tenant a live session acts for, or null (unknown, expired or signed out). */
    async portalSessionTenant(sessionToken: string): Promise<Tenant | null> {
      const r = await db.query<Tenant>(
        `SELECT t.id, t.name, t.plan, t.created_at FROM portal_sessions s JOIN tenants t ON t.id = s.tenant_id
          WHERE s.session_hash = $1 AND s.session_expires_at > now()`,
        [hashToken(sessionToken)],
      );
      return r.rows[0] ?? null;
    },

    async endPortalSession(sessionToken: string): Promise<void> {
      await db.query('UPDATE portal_sessions SET session_expires_at = now() WHERE session_hash = $1 AND session_expires_at > now()', [
        hashToken(sessionToken),
      ]);
    },
  };
}
