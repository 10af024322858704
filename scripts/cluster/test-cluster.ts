// `npm run test:cluster`: the end-to-end test against the production topology. Builds the Temporal server
// if it is not cached yet, compiles the service, starts a throwaway cluster on free ports (PostgreSQL, the
// real Temporal server, its Web UI, migrate, 2 API and 2 worker processes running the compiled JS, retry
// waits scaled by ANVIL_RETRY_TIME_SCALE so a 13-attempt schedule fits in two minutes), runs
// test/cluster/*.e2e.ts with node's test runner against it, and tears it all down. Not part of `npm test`:
// the first run builds the server (about 5 min), and the test itself takes a few minutes.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths';
import { freePort } from '../local-services';
import { ensureTemporalBinaries } from './binaries';
import { buildApp, freeTemporalPort, startCluster, type Cluster } from './cluster';

/** Standard waits ×0.0005: 13 attempts in about 2 min; classic: 5 attempts in about 0.4 s. */
export const E2E_RETRY_TIME_SCALE = '0.0005';
const log = (line: string) => console.log(`[test:cluster] ${line}`);

async function main(): Promise<number> {
  const files =
    process.argv.slice(2).length > 0
      ? process.argv.slice(2).map((f) => path.resolve(f))
      : readdirSync(path.join(PROJECT_ROOT, 'test', 'cluster'))
          .filter((f) => f.endsWith('.e2e.ts'))
          .map((f) => path.join(PROJECT_ROOT, 'test', 'cluster', f));
  const t0 = Date.now();
  const { buildSeconds } = await ensureTemporalBinaries(log);
  await buildApp(log);
  const dataDir = path.join(PROJECT_ROOT, '.tmp', `cluster-e2e-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const adminKey = `anv_admin_e2e_${process.pid}_0123456789abcdef`;
  let cluster: Cluster | null = null;
  const cleanup = async () => {
    await cluster?.stop();
    cluster = null;
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void cleanup().then(() => process.exit(130)));
  try {
    const t1 = Date.now();
    cluster = await startCluster({
      dataDir,
      postgresPort: await freePort(),
      temporalPort: await freeTemporalPort(),
      uiPort: await freePort(),
      apiPorts: [await freePort(), await freePort()],
      workers: 2,
      historyShards: 4,
      adminKey,
      allowInsecureTargets: true,
      appEnv: { ANVIL_RETRY_TIME_SCALE: E2E_RETRY_TIME_SCALE },
      consoleOutput: false,
      log,
    });
    const t2 = Date.now();
    log(`cluster up in ${((t2 - t1) / 1000).toFixed(1)} s: Temporal ${cluster.temporalAddress}, APIs ${cluster.apiUrls.join(' ')}; logs ${cluster.logsDir}`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
        cwd: PROJECT_ROOT,
        stdio: 'inherit',
        env: {
          ...process.env,
          ANVIL_E2E_API_URLS: cluster!.apiUrls.join(','),
          ANVIL_E2E_UI_URL: cluster!.uiUrl ?? '',
          ANVIL_E2E_ADMIN_KEY: adminKey,
          ANVIL_E2E_RETRY_TIME_SCALE: E2E_RETRY_TIME_SCALE,
          TEMPORAL_ADDRESS: cluster!.temporalAddress,
          DATABASE_URL: cluster!.databaseUrl,
          ANVIL_WORKFLOW_BUNDLE: path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js'),
        },
      });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    const t3 = Date.now();
    if (code !== 0) log(`FAILED; the services' logs are in ${cluster.logsDir} until the cluster stops:\n${cluster.all().map((s) => `--- ${s.name}\n${s.tail().slice(-1500)}`).join('\n')}`);
    log(
      `done in ${((t3 - t0) / 1000).toFixed(0)} s: Go build ${buildSeconds === 0 ? 'cached' : `${buildSeconds.toFixed(0)} s`}, ` +
        `compile + cluster start ${((t2 - t0) / 1000 - buildSeconds).toFixed(0)} s, tests ${((t3 - t2) / 1000).toFixed(0)} s`,
    );
    return code;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[test:cluster] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
