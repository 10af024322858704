// The Settings pages under /portal: the built single-page app (index.html for each page, hashed assets),
// and (from sessions.ts) the sign-in exchange under /portal/api. Every answer here carries the headers
// every answer gets (security-headers.ts) with the pages' own strict CSP in place of the API's, through
// its `pagePolicy` (no inline script or style, nothing from another origin), and `frame-ancestors` from
// ANVIL_PORTAL_FRAME_ANCESTORS, so the pages can be embedded in the platform's own settings page and
// nowhere else. The session is a bearer token the page
// keeps in sessionStorage and sends in Authorization: no cookie, so it works in a cross-site iframe whose
// third-party cookies the browser blocks.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { PORTAL_BUILD_DIR } from '../../infra/paths';
import type { RouteDeps } from '../app';
import { noStore, pagePolicy } from '../security-headers';
import { portalSignInRouter } from './sessions';

/** Paths the single-page app renders; anything else under /portal is its "page not found". */
export const PORTAL_PAGES = ['/sign-in', '/webhooks', '/api-settings'];

/** The pages' policy: everything from this origin only; no inline script or style, nothing else loads. */
const PORTAL_DIRECTIVES = {
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
};

/** ANVIL_PORTAL_FRAME_ANCESTORS as pagePolicy takes it: `'none'` keeps X-Frame-Options DENY too. */
export const frameAncestorsOf = (configured: string): string[] => (configured === "'none'" ? [] : configured.split(' '));

/** index.html as built, re-read when the build changes it (npm start rebuilds on source changes). */
function builtIndex(): () => string | null {
  let cached: { mtimeMs: number; html: string } | null = null;
  const file = path.join(PORTAL_BUILD_DIR, 'index.html');
  return () => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      return null;
    }
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, html: readFileSync(file, 'utf8') };
    return cached.html;
  };
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Settings pages not built</title></head>
<body><h1>The Settings pages are not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds them).</p></body></html>`;

export function portalRouter(deps: RouteDeps) {
  const { config } = deps;
  const router = Router();
  const index = builtIndex();
  // The pages' CSP replaces the API's (security-headers.ts) on every answer under /portal.
  router.use(pagePolicy({ directives: PORTAL_DIRECTIVES, frameAncestors: frameAncestorsOf(config.portal.frameAncestors) }));

  router.use(
    '/assets',
    express.static(path.join(PORTAL_BUILD_DIR, 'assets'), { index: false, immutable: true, maxAge: '365d', redirect: false }),
  );

  router.use('/api', noStore, portalSignInRouter(deps));

  // The pages themselves: mounted with use(), not get(), as /docs's assets are: they are not API
  // operations, so the route table that /openapi.json must match lists only the API.
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || /^\/(assets|api)(\/|$)/.test(req.path)) return next();
    if (req.path === '/') {
      res.redirect(302, `${req.baseUrl}/webhooks`);
      return;
    }
    const html = index();
    res.set({ 'Cache-Control': 'no-store', 'Content-Type': 'text/html; charset=utf-8' });
    if (html === null) {
      res.status(503).send(NOT_BUILT);
      return;
    }
    res.status(PORTAL_PAGES.includes(req.path.replace(/\/+$/, '')) ? 200 : 404).send(html);
  });

  return router;
}
