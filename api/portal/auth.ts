// Settings pages sessions on the public API: a session token (from a one-time link) acts for its one
// tenant, like that tenant's key, but only on the routes the pages use. It cannot publish events or
// actions, mint further links, manage API keys or reach admin routes. The session itself is looked up by
// api/auth.ts: an expired or signed-out session is a 401 there, counted as a failed authentication.
import type { Request } from 'express';
import { PORTAL_SESSION_PREFIX } from '../../domain/ids';
import type { Tenant } from '../../infra/store';
import type { Principal } from '../auth';
import { ApiError } from '../errors';

export const isPortalSessionToken = (key: string) => key.startsWith(PORTAL_SESSION_PREFIX);

/** `METHOD /path` under /v1 that the Settings pages call; nothing else is open to a portal session. */
const PORTAL_ROUTES: RegExp[] = [
  /^GET \/event-types$/,
  /^(GET|POST) \/endpoints$/,
  /^(GET|PATCH|DELETE) \/endpoints\/[^/]+$/,
  /^GET \/endpoints\/[^/]+\/secret$/,
  /^POST \/endpoints\/[^/]+\/(rotate-secret|test|recover)$/,
  /^GET \/deliveries(\/[^/]+)?$/,
  /^POST \/deliveries\/[^/]+\/retry$/,
  /^GET \/events\/[^/]+$/,
  /^(GET|PUT) \/webhook-settings$/,
  /^(POST|DELETE) \/webhook-settings\/keypair$/,
  /^PUT \/webhook-settings\/public-key$/,
  /^POST \/webhook-settings\/test$/,
  /^GET \/objects\/webhook-urls$/,
  /^(GET|PUT|DELETE) \/objects\/[^/]+\/[^/]+\/webhook-url$/,
];

/** A live session's principal for this request; a route the pages do not use is a 403. */
export function portalPrincipal(tenant: Tenant, req: Request): Principal {
  const route = `${req.method} ${req.path.replace(/\/+$/, '') || '/'}`;
  if (!PORTAL_ROUTES.some((r) => r.test(route))) {
    throw new ApiError(403, 'forbidden', `a Settings pages session cannot call ${req.method} /v1${req.path}: use an API key`);
  }
  return { kind: 'tenant', tenant, via: 'portal' };
}
