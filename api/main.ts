// Production entry point of the API: `npm run api`, configured only by the environment.
import type { Server } from 'node:http';
import { createApp } from './app';
import { loadConfig, requireSetting } from '../infra/config';
import { createDb } from '../infra/db';
import { createStore } from '../infra/store';
import { connectClient, DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';

async function main() {
  const config = loadConfig(process.env);
  const adminKey = requireSetting(config.adminKey, 'ANVIL_ADMIN_KEY');
  const db = createDb(requireSetting(config.databaseUrl, 'DATABASE_URL'));
  const temporal = await connectClient(config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS, config.temporalNamespace);
  const app = createApp({ config, store: createStore(db), temporal, adminKey });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, () => resolve(s));
    s.once('error', reject);
  });
  console.log(`[api] listening on port ${config.port}` + (config.allowInsecureTargets ? ' (insecure targets allowed)' : ''));
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => {
      void Promise.allSettled([db.end(), temporal.connection.close()]).then(() => process.exit(0));
    });
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // Under `npm start` the supervisor holds an IPC channel: when it dies, so do we.
  // The channel must not keep the process alive once everything else has stopped.
  process.channel?.unref();
  process.once('disconnect', shutdown);
}

main().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`[api] ${e.code === 'EADDRINUSE' ? `port ${process.env.PORT ?? 3000} is already in use: set PORT` : e.message}`);
  process.exit(1);
});
