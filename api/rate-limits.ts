// Throttling shared by every API instance: counters live in PostgreSQL (rate-limiter-flexible's
// RateLimiterPostgres on the `rate_limits` table, migration 004), so ten instances enforce one limit.
// - failed authentication, per client address: after `authFailureLimit` wrong keys in the window the
//   address is refused (429) for `authFailureBlockSeconds`, whatever key it sends;
// - publishing, per tenant: `publishRateLimit` events and actions per second.
// When PostgreSQL cannot be reached the counters fall back to this instance's memory (insurance limiter),
// so an outage is never reported as throttling, nor throttling lost entirely.
import type { RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { ApiError } from './errors';

export const RATE_LIMIT_TABLE = 'rate_limits';

export interface Limiter {
  /** Counts one against `key`; answers whether it was allowed and what the headers should say. */
  consume(key: string): Promise<{ allowed: boolean; limit: number; remaining: number; resetMs: number }>;
}

function pgLimiter(db: Db, opts: { keyPrefix: string; points: number; duration: number; blockDuration?: number }): Limiter {
  const base = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.duration, blockDuration: opts.blockDuration ?? 0 };
  const limiter = new RateLimiterPostgres({
    ...base,
    storeClient: db,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    clearExpiredByTimeout: true,
    insuranceLimiter: new RateLimiterMemory(base),
  });
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
  const publishes = config.publishRateLimit > 0 ? pgLimiter(db, { keyPrefix: 'publish', points: config.publishRateLimit, duration: 1 }) : null;
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
