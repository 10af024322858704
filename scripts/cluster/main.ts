// `npm run cluster`: the production topology on this machine. Builds the Temporal server once (cached in
// .cluster/), compiles the service, then supervises PostgreSQL, the Temporal server, its Web UI, migrate,
// ANVIL_CLUSTER_APIS API processes and ANVIL_CLUSTER_WORKERS worker processes; prints every address.
// Ctrl-C stops everything; the next run finds every tenant, endpoint and delivery where it was
// ($ANVIL_DATA_DIR/cluster).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../infra/config';
import { PROJECT_ROOT } from '../../infra/paths';
import { adminKeyFor } from '../local-services';
import { buildApp, startCluster, type Cluster } from './cluster';

const log = (line: string) => console.log(`[cluster] ${line}`);

async function main() {
  const config = loadConfig(process.env, { developmentDefaults: true });
  if (config.temporalAddress || config.databaseUrl) {
    log('TEMPORAL_ADDRESS / DATABASE_URL are ignored: npm run cluster starts its own Temporal server and PostgreSQL');
  }
  const dataDir = path.resolve(PROJECT_ROOT, config.dataDir, 'cluster');
  mkdirSync(dataDir, { recursive: true });
  const adminKey = adminKeyFor(dataDir, config.adminKey);

  let cluster: Cluster | null = null;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    await cluster?.stop();
    log('stopped');
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));

  await buildApp(log);
  const started = Date.now();
  cluster = await startCluster({
    dataDir,
    postgresPort: config.postgresPort,
    temporalPort: config.temporalPort,
    uiPort: config.temporalUiPort,
    apiPorts: Array.from({ length: config.cluster.apis }, (_, i) => config.port + i),
    workers: config.cluster.workers,
    historyShards: config.cluster.historyShards,
    adminKey,
    allowInsecureTargets: config.allowInsecureTargets,
    consoleOutput: true,
    log,
  });
  if (stopping) return;
  const c = cluster;
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const lines = [
    '',
    `anvil-webhooks cluster is running (started in ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    ...c.apiUrls.map((url, i) => `  API ${i + 1}         ${url.replace('127.0.0.1', 'localhost')}   (health: /healthz; pid ${c.apis[i]!.pid()})`),
    `  workers       ${c.workers.length} processes (pids ${c.workers.map((w) => w.pid()).join(', ')})`,
    `  Temporal      ${c.temporalAddress}   namespace ${config.temporalNamespace}; server ${c.binaries.serverVersion}, ${c.historyShards} history shards, pid ${c.temporal.pid()}`,
    `  Temporal UI   ${c.uiUrl ?? '(off)'}`,
    `  PostgreSQL    ${c.databaseUrl}   (+ ${c.temporalDatabases.join(', ')}; pid ${c.postgres.pid()})`,
    `  admin key     ${adminKey}`,
    `  data, logs    ${rel(dataDir)}, ${rel(c.logsDir)}/`,
    '',
  ];
  if (config.allowInsecureTargets) {
    lines.push('  development mode: http:// and loopback/private delivery targets are allowed (ANVIL_ALLOW_INSECURE_TARGETS=0 to refuse them)', '');
  }
  lines.push('Ctrl-C stops everything.', '');
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(`\n[cluster] ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
