// Signing in to the Settings pages. POST /v1/portal-sessions: a one-time link that opens them for a tenant
// (a tenant key for itself; the admin key for any tenant with `tenant_id`). Its token travels in the link's
// fragment, which browsers never send to a server: it stays out of access logs, proxies and Referer
// headers. The page reads it and exchanges it, once, at POST /portal/api/sign-in for a short-lived session
// token that it sends as a bearer key (no cookie: it works in a cross-site iframe).
import { Router, type Request } from 'express';
import { portalSessionSchema, portalSignInSchema } from '../../domain/schemas';
import type { RouteDeps } from '../app';
import { clientAddress, refuse, refuseIfBlocked, tenantOf } from '../auth';
import { ApiError, parseWith } from '../errors';
import { isPortalSessionToken } from './auth';

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** Where links point: ANVIL_PUBLIC_URL, else the scheme and host this request came to. */
export function publicBaseUrl(req: Request, configured: string | undefined): string {
  if (configured) return configured;
  const host = req.get('host') ?? '';
  if (!HOST.test(host)) {
    throw new ApiError(400, 'validation_error', 'the Host header is not a host name: set ANVIL_PUBLIC_URL', [
      { path: 'Host', message: 'not a host name' },
    ]);
  }
  return `${req.protocol}://${host}`;
}

export const portalSignInPath = '/portal/sign-in';

export function portalSessionsRouter(deps: RouteDeps) {
  const { store, config } = deps;
  const router = Router();

  router.post('/portal-sessions', async (req, res) => {
    parseWith(portalSessionSchema, req.body === undefined ? {} : req.body);
    const tenant = await tenantOf(req, store);
    const base = publicBaseUrl(req, config.publicUrl);
    const link = await store.createPortalLink(tenant.id, config.portal.linkTtlMs);
    res.set('Cache-Control', 'no-store');
    res.status(201).json({ url: `${base}${portalSignInPath}#token=${link.token}`, expires_at: link.expiresAt.toISOString() });
  });

  return router;
}

/** Under /portal/api: the page's exchange of a link's token for a session, and sign-out. */
export function portalSignInRouter(deps: Pick<RouteDeps, 'store' | 'config' | 'rateLimits'>) {
  const { store, config, rateLimits } = deps;
  const router = Router();

  router.post('/sign-in', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    // A made-up link is a failed authentication, throttled per address like a wrong API key.
    const address = clientAddress(req);
    refuseIfBlocked(rateLimits, res, address);
    const { token } = parseWith(portalSignInSchema, req.body === undefined ? {} : req.body);
    const opened = await store.openPortalLink(token, config.portal.sessionTtlMs);
    if (!opened.ok) {
      if (opened.reason === 'invalid') return refuse(rateLimits, res, address, 'this sign-in link is not valid', 'link_invalid');
      const why = {
        used: [410, 'link_used', 'this sign-in link was already used: each link opens the Settings pages once'],
        expired: [410, 'link_expired', 'this sign-in link has expired'],
      } as const;
      const [status, code, message] = why[opened.reason];
      throw new ApiError(status, code, message);
    }
    res.status(201).json({
      session_token: opened.sessionToken,
      expires_at: opened.expiresAt.toISOString(),
      tenant: { id: opened.tenant.id, name: opened.tenant.name, plan: opened.tenant.plan },
    });
  });

  router.post('/sign-out', async (req, res) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (match && isPortalSessionToken(match[1]!)) await store.endPortalSession(match[1]!);
    res.status(204).end();
  });

  return router;
}
