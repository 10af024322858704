// `npm run migrate`: applies the numbered SQL migrations to DATABASE_URL, and (when TEMPORAL_ADDRESS is
// reachable) registers the search attributes the delivery log queries. Production entry point.
import { loadConfig, requireSetting } from '../infra/config';
import { createDb, migrate } from '../infra/db';
import { DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';
import { ensureNamespaceSetup } from '../infra/namespace';

async function main() {
  const config = loadConfig(process.env);
  const db = createDb(requireSetting(config.databaseUrl, 'DATABASE_URL'), 1);
  try {
    const applied = await migrate(db, (line) => console.log(`[migrate] ${line}`));
    console.log(`[migrate] ${applied.length === 0 ? 'schema up to date' : `${applied.length} migration(s) applied`}`);
  } finally {
    await db.end();
  }
  await ensureNamespaceSetup(
    config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS,
    config.temporalNamespace,
    config.retentionDays,
    (line) => console.log(`[migrate] ${line}`),
  );
}

main().catch((err: unknown) => {
  console.error(`[migrate] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
