// Bearer keys: the admin key manages tenants and may act for any tenant (`tenant_id`); a tenant key acts
// for its own tenant only. Keys are compared in constant time (admin) or by SHA-256 lookup (tenants).
// Tenant keys are cached for a few seconds; a revocation or a tenant deletion reaches every API
// instance's cache through PostgreSQL LISTEN/NOTIFY at once (the TTL bounds it if a notification is lost).
// Wrong keys are counted per client address across instances; past the limit the address gets 429.
// A Settings pages session token (anv_ps_…, api/portal/auth.ts) authenticates here too, for its tenant.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { tenantIdSchema } from '../domain/schemas';
import { log } from '../infra/log';
import type { ChannelListener } from '../infra/pg-channels';
import { AUTH_CHANGES_CHANNEL, type Store, type Tenant } from '../infra/store';
import { ApiError, parseField } from './errors';
import { isPortalSessionToken, portalPrincipal } from './portal/auth';
import { setRateLimitHeaders, tooManyRequests, type RateLimits } from './rate-limits';

/**
 * Who a request acts as: the admin key; a tenant's API key (`keyHash`: its SHA-256 hex); or a Settings
 * pages session (`via: 'portal'`), which acts for its tenant on the routes the pages use only.
 */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'tenant'; tenant: Tenant; keyHash: string; via?: undefined }
  | { kind: 'tenant'; tenant: Tenant; via: 'portal' };

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Tenant keys seen recently, by SHA-256: publishing should not cost a key lookup per request. */
export const API_KEY_CACHE_TTL_MS = 10_000;
const API_KEY_CACHE_MAX = 10_000;

export interface Authenticator {
  middleware: RequestHandler;
  /** Drops a key (by its SHA-256 hex) or, with `tenant:<id>`, every key of a tenant from the cache. */
  forget(change: string | null): void;
}

export const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** A blocked address is refused (429) before its credential is even looked at: guessing learns nothing. */
export function refuseIfBlocked(limits: RateLimits, res: Response, address: string): void {
  const blockedMs = limits.auth.blockedFor(address);
  if (blockedMs > 0) {
    setRateLimitHeaders(res, { allowed: false, limit: limits.auth.limit, remaining: 0, resetMs: blockedMs }, limits.auth.windowSeconds);
    throw tooManyRequests('too many failed authentications from this address', blockedMs);
  }
}

/**
 * A failed authentication (a wrong key, an ended Settings pages session, a made-up sign-in link): counted
 * against the address, then a 401 with `code`, or a 429 once the address is past the limit.
 */
export async function refuse(limits: RateLimits, res: Response, address: string, message: string, code = 'unauthorized'): Promise<never> {
  const r = await limits.auth.fail(address);
  if (!r.allowed) {
    setRateLimitHeaders(res, r, limits.auth.windowSeconds);
    throw tooManyRequests('too many failed authentications from this address', r.resetMs);
  }
  throw new ApiError(401, code, message);
}

/** `channels`: the process's LISTEN connection (infra/pg-channels.ts), which carries revocations and deletions. */
export function createAuthenticator(store: Store, adminKey: string, limits: RateLimits, channels: ChannelListener): Authenticator {
  const adminDigest = digest(adminKey);
  const recent = new Map<string, { tenant: Tenant; until: number }>();
  /** Lookups under way, by hash: the 32 requests of a burst that miss together share one. */
  const pending = new Map<string, Promise<Tenant | null>>();
  /** Bumped by every notice: a lookup that a notice overtook answers its requests but is not cached. */
  let generation = 0;
  const forget = (change: string | null) => {
    generation += 1;
    pending.clear();
    if (change === null) return recent.clear();
    if (!change.startsWith('tenant:')) return void recent.delete(change);
    const tenantId = change.slice('tenant:'.length);
    for (const [hash, entry] of recent) if (entry.tenant.id === tenantId) recent.delete(hash);
  };
  // While the connection is down notifications are lost: after it is back the whole cache goes.
  channels.onReconnect(() => forget(null));
  channels
    .listen(AUTH_CHANGES_CHANNEL, forget)
    .then(() => forget(null))
    .catch((err: unknown) => log().warn(`[auth] LISTEN failed, cached keys live out their ${API_KEY_CACHE_TTL_MS / 1000} s: ${(err as Error).message}`));
  const tenantForKey = (key: string, hash: string): Promise<Tenant | null> => {
    const hit = recent.get(hash);
    if (hit && hit.until > Date.now()) return Promise.resolve(hit.tenant);
    const shared = pending.get(hash);
    if (shared) return shared;
    const startedIn = generation;
    const lookup = store
      .tenantForApiKey(key)
      .then((tenant) => {
        // A revocation committed while this lookup ran may not be in its answer: only a lookup no notice
        // overtook is cached.
        if (generation === startedIn) {
          if (recent.size >= API_KEY_CACHE_MAX) recent.clear();
          if (tenant) recent.set(hash, { tenant, until: Date.now() + API_KEY_CACHE_TTL_MS });
          else recent.delete(hash);
        }
        return tenant;
      })
      .finally(() => {
        if (pending.get(hash) === lookup) pending.delete(hash);
      });
    pending.set(hash, lookup);
    return lookup;
  };
  const middleware: RequestHandler = async (req, res, next) => {
    const address = clientAddress(req);
    refuseIfBlocked(limits, res, address);
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(401, 'unauthorized', 'missing or malformed Authorization header: expected "Bearer <api key>"');
    }
    const key = match[1]!;
    const hash = digest(key);
    if (timingSafeEqual(hash, adminDigest)) {
      req.principal = { kind: 'admin' };
      return next();
    }
    if (key.length > 200) return refuse(limits, res, address, 'invalid API key');
    // A Settings pages session (from a one-time link): looked up each time, so signing out, expiry and a
    // tenant's deletion end it at once. An unknown or ended one counts as a failed authentication too.
    if (isPortalSessionToken(key)) {
      const tenant = await store.portalSessionTenant(key);
      if (!tenant) {
        return refuse(limits, res, address, 'the Settings pages session has expired or was signed out: open the Settings pages again', 'session_expired');
      }
      req.principal = portalPrincipal(tenant, req);
      return next();
    }
    const tenant = await tenantForKey(key, hash.toString('hex'));
    if (!tenant) return refuse(limits, res, address, 'invalid API key');
    req.principal = { kind: 'tenant', tenant, keyHash: hash.toString('hex') };
    next();
  };
  return { middleware, forget };
}

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (req.principal?.kind !== 'admin') throw new ApiError(403, 'forbidden', 'this route needs the admin key');
  next();
};

/**
 * The tenant a request acts for: the key's own tenant, or for the admin key the `tenant_id` given in the
 * query or body. A tenant key naming another tenant is refused.
 */
export async function tenantOf(req: Request, store: Store): Promise<Tenant> {
  const body = req.body as Record<string, unknown> | undefined;
  const raw = (req.query.tenant_id as unknown) ?? (body && typeof body === 'object' ? body.tenant_id : undefined);
  const principal = req.principal;
  if (!principal) throw new ApiError(401, 'unauthorized', 'not authenticated');
  if (principal.kind === 'tenant') {
    if (raw !== undefined && raw !== principal.tenant.id) {
      throw new ApiError(403, 'forbidden', 'a tenant key acts for its own tenant only', [
        { path: 'tenant_id', message: 'does not match the API key' },
      ]);
    }
    return principal.tenant;
  }
  if (raw === undefined || raw === '') {
    throw new ApiError(400, 'validation_error', 'tenant_id is required with the admin key', [
      { path: 'tenant_id', message: 'required with the admin key' },
    ]);
  }
  const id = parseField(tenantIdSchema, raw, 'tenant_id');
  const tenant = await store.getTenant(id);
  if (!tenant) throw new ApiError(404, 'not_found', `tenant ${id} not found`);
  return tenant;
}
