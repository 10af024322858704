// Bearer keys: the admin key manages tenants and may act for any tenant (`tenant_id`); a tenant key acts
// for its own tenant only. Keys are compared in constant time (admin) or by SHA-256 lookup (tenants).
// Tenant keys are cached for a few seconds; a revocation or a tenant deletion reaches every API
// instance's cache through PostgreSQL LISTEN/NOTIFY at once (the TTL bounds it if a notification is lost).
// Wrong keys are counted per client address across instances; past the limit the address gets 429.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { tenantIdSchema } from '../domain/schemas';
import type { Store, Tenant } from '../infra/store';
import { ApiError, parseField } from './errors';
import { setRateLimitHeaders, tooManyRequests, type RateLimits } from './rate-limits';

export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenant: Tenant; keyHash: string };

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
  close(): Promise<void>;
}

export function createAuthenticator(store: Store, adminKey: string, limits: RateLimits): Authenticator {
  const adminDigest = digest(adminKey);
  const recent = new Map<string, { tenant: Tenant; until: number }>();
  const forget = (change: string | null) => {
    if (change === null) return recent.clear();
    if (!change.startsWith('tenant:')) return void recent.delete(change);
    const tenantId = change.slice('tenant:'.length);
    for (const [hash, entry] of recent) if (entry.tenant.id === tenantId) recent.delete(hash);
  };
  const listener = store.listenAuthChanges(forget);
  const tenantForKey = async (key: string, hash: string): Promise<Tenant | null> => {
    const hit = recent.get(hash);
    if (hit && hit.until > Date.now()) return hit.tenant;
    const tenant = await store.tenantForApiKey(key);
    if (recent.size >= API_KEY_CACHE_MAX) recent.clear();
    if (tenant) recent.set(hash, { tenant, until: Date.now() + API_KEY_CACHE_TTL_MS });
    else recent.delete(hash);
    return tenant;
  };
  const refuse = async (res: Parameters<RequestHandler>[1], address: string, message: string): Promise<never> => {
    const r = await limits.auth.fail(address);
    if (!r.allowed) {
      setRateLimitHeaders(res, r, limits.auth.windowSeconds);
      throw tooManyRequests('too many failed authentications from this address', r.resetMs);
    }
    throw new ApiError(401, 'unauthorized', message);
  };
  const middleware: RequestHandler = async (req, res, next) => {
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    // A blocked address is refused before its key is even looked at: guessing learns nothing.
    const blockedMs = limits.auth.blockedFor(address);
    if (blockedMs > 0) {
      setRateLimitHeaders(res, { allowed: false, limit: limits.auth.limit, remaining: 0, resetMs: blockedMs }, limits.auth.windowSeconds);
      throw tooManyRequests('too many failed authentications from this address', blockedMs);
    }
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
    if (key.length > 200) return refuse(res, address, 'invalid API key');
    const tenant = await tenantForKey(key, hash.toString('hex'));
    if (!tenant) return refuse(res, address, 'invalid API key');
    req.principal = { kind: 'tenant', tenant, keyHash: hash.toString('hex') };
    next();
  };
  return { middleware, forget, close: () => listener.close() };
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
