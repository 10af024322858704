// Throttling shared by every API instance: counters live in PostgreSQL (rate-limiter-flexible's
// RateLimiterPostgres on the `rate_limits` table, migration 004), so ten instances enforce one limit.
// - failed authentication, per client address: after `authFailureLimit` wrong keys in the window the
//   address is refused (429) for `authFailureBlockSeconds`, whatever key it sends;
// - publishing, per tenant: `publishRateLimit` events and actions per second.
// When PostgreSQL cannot be reached the counters fall back to this instance's memory (insurance limiter),
// so an outage is never reported as throttling, nor throttling lost entirely.
// Publishing leases its points: an instance takes a tenth of a tenant's per-second limit (1 to 100 points)
// from the shared counter in one query and spends it from memory until the window ends, so most publishes
// cost no query. The price: while one instance holds unspent points of a window, another can be refused up
// to that many points early (at most a tenth of the limit per instance); limits under 20/s lease 1 point,
// i.e. every publish is counted in PostgreSQL as before.
import type { RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { ApiError } from './errors';

export const RATE_LIMIT_TABLE = 'rate_limits';

export interface Limiter {
  /** Counts one against `key`; answers whether it was allowed and what the headers should say. */
  consume(key: string): Promise<{ allowed: boolean; limit: number; remaining: number; resetMs: number }>;
}

function pgStore(db: Db, opts: { keyPrefix: string; points: number; duration: number; blockDuration?: number }): RateLimiterAbstract {
  const base = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.duration, blockDuration: opts.blockDuration ?? 0 };
  return new RateLimiterPostgres({
    ...base,
    storeClient: db,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    clearExpiredByTimeout: true,
    insuranceLimiter: new RateLimiterMemory(base),
  });
}

function pgLimiter(db: Db, opts: { keyPrefix: string; points: number; duration: number; blockDuration?: number }): Limiter {
  const limiter = pgStore(db, opts);
  return {
    async consume(key) {
      try {
        const r = await limiter.consume(key);
        return { allowed: true, limit: opts.points, remaining: r.remainingPoints, resetMs: r.msBeforeNext };
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, limit: opts.points, remaining: 0, resetMs: rejection.msBeforeNext };
      }
    },
  };
}

/** Points an instance takes from the shared counter at once for a limit of `points` per window. */
export const leaseSize = (points: number): number => Math.max(1, Math.min(100, Math.floor(points / 10)));

/**
 * A limiter that takes `leaseSize(points)` points from `shared` at a time and spends them from memory until
 * the shared window ends. Without blocking (blockDuration 0) only: a lease is a plain count.
 */
export function leasedLimiter(shared: RateLimiterAbstract, points: number, now: () => number = Date.now): Limiter {
  const size = leaseSize(points);
  interface Lease { left: number; sharedRemaining: number; until: number }
  const leases = new Map<string, Lease>();
  const pending = new Map<string, Promise<Lease | { refusedForMs: number }>>();

  const take = async (key: string): Promise<Lease | { refusedForMs: number }> => {
    try {
      const r = await shared.consume(key, size);
      return { left: size, sharedRemaining: r.remainingPoints, until: now() + r.msBeforeNext };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      // The counter went past the limit with this lease: what was left of it before is still ours.
      const granted = Math.min(size, Math.max(0, points - (rejection.consumedPoints - size)));
      if (granted === 0) return { refusedForMs: rejection.msBeforeNext };
      return { left: granted, sharedRemaining: 0, until: now() + rejection.msBeforeNext };
    }
  };

  return {
    async consume(key) {
      for (;;) {
        const lease = leases.get(key);
        if (lease && lease.left > 0 && lease.until > now()) {
          lease.left -= 1;
          return { allowed: true, limit: points, remaining: lease.sharedRemaining + lease.left, resetMs: lease.until - now() };
        }
        // One query per key at a time: requests arriving meanwhile share its outcome.
        let taking = pending.get(key);
        if (!taking) {
          taking = take(key).finally(() => pending.delete(key));
          pending.set(key, taking);
          const got = await taking;
          if ('refusedForMs' in got) leases.delete(key);
          else {
            if (leases.size > 100_000) leases.clear();
            leases.set(key, got);
          }
        }
        const got = await taking;
        if ('refusedForMs' in got) return { allowed: false, limit: points, remaining: 0, resetMs: got.refusedForMs };
      }
    },
  };
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** RateLimit-* fields (IETF httpapi draft, as express-rate-limit's standard headers) and Retry-After on 429. */
export function setRateLimitHeaders(res: Response, r: Awaited<ReturnType<Limiter['consume']>>, windowSeconds: number): void {
  res.setHeader('RateLimit-Policy', `${r.limit};w=${windowSeconds}`);
  res.setHeader('RateLimit-Limit', String(r.limit));
  res.setHeader('RateLimit-Remaining', String(r.remaining));
  res.setHeader('RateLimit-Reset', String(seconds(r.resetMs)));
}

export function tooManyRequests(what: string, resetMs: number): ApiError {
  return new ApiError(429, 'rate_limited', `${what}; retry after ${seconds(resetMs)} s`, undefined, seconds(resetMs));
}

export interface RateLimits {
  /** Failed authentications by client address: `check` before looking at the key, `fail` after a wrong one. */
  auth: {
    blockedFor(address: string): number;
    fail(address: string): Promise<Awaited<ReturnType<Limiter['consume']>>>;
    limit: number;
    windowSeconds: number;
  };
  /** Middleware for routes that publish; `tenantOf` names the tenant the request acts for. */
  publish(tenantOf: (req: Parameters<RequestHandler>[0]) => Promise<{ id: string }>): RequestHandler;
}

export function createRateLimits(db: Db, config: Config): RateLimits {
  const authFailures = pgLimiter(db, {
    keyPrefix: 'auth_fail',
    points: config.authFailureLimit,
    duration: config.authFailureWindowSeconds,
    blockDuration: config.authFailureBlockSeconds,
  });
  // Addresses this instance saw refused: answered from memory until the block ends, without a query.
  const blocked = new Map<string, number>();
  const publishes =
    config.publishRateLimit > 0
      ? leasedLimiter(pgStore(db, { keyPrefix: 'publish', points: config.publishRateLimit, duration: 1 }), config.publishRateLimit)
      : null;
  return {
    auth: {
      limit: config.authFailureLimit,
      windowSeconds: config.authFailureWindowSeconds,
      blockedFor(address) {
        const until = blocked.get(address);
        if (until === undefined) return 0;
        if (until > Date.now()) return until - Date.now();
        blocked.delete(address);
        return 0;
      },
      async fail(address) {
        const r = await authFailures.consume(address);
        if (!r.allowed) {
          if (blocked.size > 100_000) blocked.clear();
          blocked.set(address, Date.now() + r.resetMs);
        }
        return r;
      },
    },
    publish(tenantOf) {
      return async (req, res, next) => {
        if (!publishes) return next();
        const tenant = await tenantOf(req);
        const r = await publishes.consume(tenant.id);
        setRateLimitHeaders(res, r, 1);
        if (!r.allowed) throw tooManyRequests(`more than ${r.limit} events per second for tenant ${tenant.id}`, r.resetMs);
        next();
      };
    },
  };
}
