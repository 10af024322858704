// A link that opens the Settings pages for a demo tenant on a running service, so a newcomer sees the
// pages at once: `npm start` prints one, `npm run portal-link` makes a new one (links work once). The demo
// tenant is created through the public API on first use and remembered in the data dir.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEMO_TENANT_FILE = 'demo-tenant';

interface Answer {
  status: number;
  body: { id?: string; url?: string; expires_at?: string } | null;
}

async function post(apiUrl: string, adminKey: string, route: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${apiUrl}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Answer['body'] };
}

/** A one-time link for the demo tenant (created if the data dir names none, or one that no longer exists). */
export async function demoPortalLink(apiUrl: string, adminKey: string, dataDir: string): Promise<{ url: string; expiresAt: string; tenantId: string }> {
  const file = path.join(dataDir, DEMO_TENANT_FILE);
  let tenantId = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  for (let attempt = 0; attempt < 2; attempt++) {
    if (!tenantId) {
      const created = await post(apiUrl, adminKey, '/v1/tenants', { name: 'Demo', plan: 'pro' });
      if (created.status !== 201) throw new Error(`creating the demo tenant: ${created.status} ${JSON.stringify(created.body)}`);
      tenantId = created.body?.id ?? '';
      writeFileSync(file, `${tenantId}\n`);
    }
    const link = await post(apiUrl, adminKey, '/v1/portal-sessions', { tenant_id: tenantId });
    if (link.status === 201 && link.body?.url && link.body.expires_at) return { url: link.body.url, expiresAt: link.body.expires_at, tenantId };
    if (link.status !== 404) throw new Error(`making a portal link: ${link.status} ${JSON.stringify(link.body)}`);
    tenantId = ''; // the data dir outlived its tenant: make a new one
  }
  throw new Error('could not make a portal link for the demo tenant');
}
