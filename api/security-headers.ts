// Response headers every answer carries (helmet), and the per-route overrides pages need. The API answers
// JSON only, so its policy forbids everything a browser might do with a response: no scripts, no styles,
// no framing. Pages served beside the API (the reference at /docs, the Settings pages at /portal) set
// their own Content-Security-Policy with `pagePolicy`, mounted on their routes after `securityHeaders`.
import type { RequestHandler } from 'express';
import helmet from 'helmet';

type Directives = Record<string, Iterable<string> | null>;

/** The policy of JSON answers: nothing may load, nothing may frame them. */
const API_DIRECTIVES: Directives = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

export interface SecurityHeaderOptions {
  /** Strict-Transport-Security (production: the service is reached over HTTPS only). */
  hsts: boolean;
}

/** nosniff, the API's CSP, X-Frame-Options DENY, no-referrer, and HSTS when asked for. */
export function securityHeaders({ hsts }: SecurityHeaderOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: API_DIRECTIVES },
    strictTransportSecurity: hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  });
}

/**
 * A page's own policy, replacing the API's on the routes it is mounted on. `frameAncestors` lists the
 * origins allowed to embed the page (the portal inside a platform's settings page); without it the page
 * cannot be framed. X-Frame-Options cannot name origins, so it is dropped when framing is allowed: every
 * browser that honours CSP uses frame-ancestors instead.
 */
export function pagePolicy({ directives, frameAncestors = [] }: { directives: Directives; frameAncestors?: string[] }): RequestHandler {
  const csp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      'default-src': ["'none'"],
      'base-uri': ["'none'"],
      ...directives,
      'frame-ancestors': frameAncestors.length > 0 ? frameAncestors : ["'none'"],
    },
  });
  return (req, res, next) => {
    if (frameAncestors.length > 0) res.removeHeader('X-Frame-Options');
    csp(req, res, next);
  };
}

/** API answers are per caller and may carry secrets, tokens or keys: no cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  next();
};
