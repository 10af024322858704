// Bearer keys: the admin key manages tenants and may act for any tenant (`tenant_id`); a tenant key acts
// for its own tenant only. Keys are compared in constant time (admin) or by SHA-256 lookup (tenants).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Store, Tenant } from '../infra/store';
import { ApiError } from './errors';

export type Principal = { kind: 'admin' } | { kind: 'tenant'; tenant: Tenant };

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Tenant keys seen recently, by SHA-256: publishing should not cost a key lookup per request. */
export const API_KEY_CACHE_TTL_MS = 10_000;
const API_KEY_CACHE_MAX = 10_000;

export function authenticate(store: Store, adminKey: string): RequestHandler {
  const adminDigest = digest(adminKey);
  const recent = new Map<string, { tenant: Tenant; until: number }>();
  const tenantForKey = async (key: string): Promise<Tenant | null> => {
    const id = digest(key).toString('hex');
    const hit = recent.get(id);
    if (hit && hit.until > Date.now()) return hit.tenant;
    const tenant = await store.tenantForApiKey(key);
    if (recent.size >= API_KEY_CACHE_MAX) recent.clear();
    if (tenant) recent.set(id, { tenant, until: Date.now() + API_KEY_CACHE_TTL_MS });
    return tenant;
  };
  return async (req, _res, next) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(401, 'unauthorized', 'missing or malformed Authorization header: expected "Bearer <api key>"');
    }
    const key = match[1]!;
    if (timingSafeEqual(digest(key), adminDigest)) {
      req.principal = { kind: 'admin' };
      return next();
    }
    const tenant = await tenantForKey(key);
    if (!tenant) throw new ApiError(401, 'unauthorized', 'invalid API key');
    req.principal = { kind: 'tenant', tenant };
    next();
  };
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
  if (typeof raw !== 'string' || raw === '') {
    throw new ApiError(400, 'validation_error', 'tenant_id is required with the admin key', [
      { path: 'tenant_id', message: 'required with the admin key' },
    ]);
  }
  const tenant = await store.getTenant(raw);
  if (!tenant) throw new ApiError(404, 'not_found', `tenant ${raw} not found`);
  return tenant;
}
