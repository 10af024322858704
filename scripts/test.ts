// `npm test`: starts what the suite needs, runs every test file with node's test runner, and tears it
// all down, also when a test fails or the run is interrupted:
//   - a Temporal dev server on free ports with an in-memory database (search attributes registered);
//   - PostgreSQL: a throwaway embedded cluster, or a throwaway database on DATABASE_URL's server;
//   - the workflow bundle, built once for every test worker, and the Settings pages (dist/portal);
//   - the time-skipping test server is started by the workflow tests themselves (TEMPORAL_TEST_SERVER).
// `npm test -- test/unit/signing.test.ts` runs only the files given; `npm test -- test/unit` every file under it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createDb, migrate } from '../infra/db';
import { buildPortal } from './build-portal';
import { buildWorkflowBundle } from './build-workflow-bundle';
import {
  freePort,
  startEmbeddedPostgres,
  startTemporalDevServer,
  type LocalPostgres,
  type TemporalDevServer,
} from './local-services';
import { ensureNamespaceSetup } from '../infra/namespace';

const ROOT = path.resolve(__dirname, '..');
const log = (line: string) => console.log(`[test] ${line}`);

function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return testFiles(full);
      return name.endsWith('.test.ts') ? [full] : [];
    })
    .sort();
}

async function throwawayDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `anvil_test_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function main(): Promise<number> {
  // Arguments: test files (default: every test under test/), and node --test options such as
  // --test-name-pattern=… passed through.
  const args = process.argv.slice(2);
  const options = args.filter((a) => a.startsWith('--'));
  // A directory stands for the test files under it (node 20's runner, given a directory, runs nothing).
  const named = args
    .filter((a) => !a.startsWith('--'))
    .flatMap((f) => {
      const full = path.resolve(f);
      if (!existsSync(full)) throw new Error(`no such test file or directory: ${f}`);
      return statSync(full).isDirectory() ? testFiles(full) : [full];
    });
  if (args.some((a) => !a.startsWith('--')) && named.length === 0) throw new Error(`no *.test.ts file under ${args.filter((a) => !a.startsWith('--')).join(', ')}`);
  const packages = path.join(ROOT, 'packages');
  const files =
    named.length > 0
      ? named
      : [
          ...testFiles(path.join(ROOT, 'test')),
          // the workspaces' own tests (the receiver package)
          ...readdirSync(packages).flatMap((p) => (existsSync(path.join(packages, p, 'test')) ? testFiles(path.join(packages, p, 'test')) : [])),
        ];
  const scratch = path.join(ROOT, '.tmp', `test-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(scratch, { recursive: true, force: true })];
  let interrupted = false;
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    cleanups.length = 0;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      interrupted = true;
      void cleanup().then(() => process.exit(130));
    });
  }
  try {
    const started = Date.now();
    const cli = process.env.TEMPORAL_CLI;
    if (!cli) throw new Error('TEMPORAL_CLI is not set: run through `npm test`');
    const [temporalServer, database, bundle] = await Promise.all([
      (async (): Promise<TemporalDevServer> => {
        const server = await startTemporalDevServer({ cli, dbFile: null, port: await freePort(), uiPort: null, log });
        cleanups.push(() => server.stop());
        await ensureNamespaceSetup(server.address, 'default', 30, () => {});
        return server;
      })(),
      (async (): Promise<string> => {
        if (process.env.DATABASE_URL) {
          const db = await throwawayDatabase(process.env.DATABASE_URL);
          cleanups.push(db.drop);
          return db.url;
        }
        const local: LocalPostgres = await startEmbeddedPostgres({ dir: path.join(scratch, 'pg'), port: await freePort(), database: 'anvil_test', log: () => {} });
        cleanups.push(() => local.stop());
        return local.url;
      })(),
      buildWorkflowBundle(path.join(scratch, 'workflow-bundle.js')),
      buildPortal(),
    ]);
    const db = createDb(database, 1);
    await migrate(db);
    await db.end();
    log(`services ready in ${((Date.now() - started) / 1000).toFixed(1)} s: Temporal ${temporalServer.address}, ${files.length} test file(s)`);

    const code = await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-concurrency=1', ...options, ...files],
        {
          cwd: ROOT,
          stdio: 'inherit',
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: temporalServer.address,
            DATABASE_URL: database,
            ANVIL_TEST_WORKFLOW_BUNDLE: bundle,
            ANVIL_ALLOW_INSECURE_TARGETS: '1',
          },
        },
      );
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    return code;
  } finally {
    if (!interrupted) await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[test] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
