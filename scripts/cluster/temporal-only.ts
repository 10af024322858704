// The cluster's PostgreSQL and Temporal server alone (no UI, API or workers), for the benchmark: started in
// its own process by startClusterTemporal, it reports the frontend's address over IPC and stops both on
// SIGTERM or when its parent goes away.
import { mkdirSync } from 'node:fs';
import { freePort } from '../local-services';
import { freeTemporalPort, startCluster } from './cluster';

async function main() {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: temporal-only.ts <data dir>');
  mkdirSync(dataDir, { recursive: true });
  const cluster = await startCluster({
    dataDir,
    postgresPort: await freePort(),
    temporalPort: await freeTemporalPort(),
    uiPort: null,
    apiPorts: [],
    workers: 0,
    historyShards: 4,
    adminKey: 'unused-no-api-processes-here',
    allowInsecureTargets: true,
    consoleOutput: false,
    log: () => {},
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  process.send?.({ address: cluster.temporalAddress });
}

main().catch((err: unknown) => {
  process.send?.({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
