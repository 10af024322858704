// `npm run portal-link`: a new one-time link to the Settings pages of the service `npm start` runs, for
// the demo tenant (or `-- tnt_…` for another). Reads the admin key and the demo tenant from the data dir.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../infra/config';
import { PROJECT_ROOT } from '../infra/paths';
import { demoPortalLink } from './demo-portal';

async function main() {
  const config = loadConfig(process.env, { developmentDefaults: true });
  const dataDir = path.resolve(PROJECT_ROOT, config.dataDir);
  const adminKey = config.adminKey ?? readFileSync(path.join(dataDir, 'admin-key'), 'utf8').trim();
  const apiUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const tenant = process.argv[2];
  if (tenant) {
    const res = await fetch(`${apiUrl}/v1/portal-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: tenant }),
    });
    const body = (await res.json()) as { url?: string; expires_at?: string; error?: { message: string } };
    if (res.status !== 201) throw new Error(body.error?.message ?? `the API answered ${res.status}`);
    console.log(`${body.url}\n(one-time link for ${tenant}, valid until ${body.expires_at})`);
    return;
  }
  const link = await demoPortalLink(apiUrl, adminKey, dataDir);
  console.log(`${link.url}\n(one-time link for the demo tenant ${link.tenantId}, valid until ${link.expiresAt})`);
}

main().catch((err: unknown) => {
  const e = err as Error & { cause?: { code?: string } };
  console.error(`[anvil] ${e.cause?.code === 'ECONNREFUSED' ? 'the service is not running: start it with npm start' : e.message}`);
  process.exit(1);
});
