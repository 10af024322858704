// The real Temporal server, its SQL schema tool and the Web UI server, built once from their Go modules
// at pinned versions and cached in the git-ignored `.cluster/` folder. Nothing is vendored: `go install`
// fetches the modules (and, with GOTOOLCHAIN=auto, the Go toolchain they ask for) through the Go module
// proxy. A second run finds the binaries and builds nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths';

/** Pinned versions: the server the dev server embeds (CLI 1.9.x ships 1.32), and the UI of that line. */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const TEMPORAL_UI_MODULE = 'github.com/temporalio/ui-server/v2';
export const TEMPORAL_UI_VERSION = 'v2.56.4';

export const CLUSTER_DIR = path.join(PROJECT_ROOT, '.cluster');
const GO_DIR = path.join(CLUSTER_DIR, 'go');
const BIN_DIR = path.join(CLUSTER_DIR, 'bin');

export interface TemporalBinaries {
  server: string;
  sqlTool: string;
  uiServer: string;
  serverVersion: string;
  uiVersion: string;
}

type Log = (line: string) => void;

interface Target {
  /** Packages of one module at one version (`go install` builds them in one invocation). */
  packages: { pkg: string; name: string }[];
  module: string;
  version: string;
}

const targets: Target[] = [
  {
    module: TEMPORAL_SERVER_MODULE,
    version: TEMPORAL_SERVER_VERSION,
    packages: [
      { pkg: `${TEMPORAL_SERVER_MODULE}/cmd/server`, name: 'temporal-server' },
      { pkg: `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`, name: 'temporal-sql-tool' },
    ],
  },
  {
    module: TEMPORAL_UI_MODULE,
    version: TEMPORAL_UI_VERSION,
    packages: [{ pkg: `${TEMPORAL_UI_MODULE}/cmd/server`, name: 'temporal-ui-server' }],
  },
];

/** One folder per module version, so a script can put the tools on PATH under their usual names. */
const binaryPath = (name: string, version: string) =>
  path.join(BIN_DIR, `${name === 'temporal-ui-server' ? 'ui' : 'temporal'}-${version}`, name);

export function builtBinaries(): TemporalBinaries | null {
  const server = binaryPath('temporal-server', TEMPORAL_SERVER_VERSION);
  const sqlTool = binaryPath('temporal-sql-tool', TEMPORAL_SERVER_VERSION);
  const uiServer = binaryPath('temporal-ui-server', TEMPORAL_UI_VERSION);
  if (![server, sqlTool, uiServer].every((f) => existsSync(f))) return null;
  return { server, sqlTool, uiServer, serverVersion: TEMPORAL_SERVER_VERSION, uiVersion: TEMPORAL_UI_VERSION };
}

/** The environment of every `go` call: a project-local GOPATH, so the cache is one folder to delete. */
function goEnv(gobin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPATH: GO_DIR,
    GOMODCACHE: path.join(GO_DIR, 'pkg', 'mod'),
    GOCACHE: path.join(GO_DIR, 'cache'),
    GOBIN: gobin,
    // The modules ask for a newer Go than a machine may have: fetch that toolchain through the proxy.
    GOTOOLCHAIN: 'auto',
    // Pure-Go builds (the server's SQLite driver is pure Go): no C compiler needed.
    CGO_ENABLED: '0',
    // Writable module cache, so `rm -rf .cluster` works.
    GOFLAGS: [process.env.GOFLAGS ?? '', '-modcacherw', '-trimpath'].join(' ').trim(),
  };
}

function runGo(args: string[], env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const collect = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-6000);
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(`  ${line.trim()}`);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'ENOENT' ? 'Go is not installed: install Go (https://go.dev/dl/) to build the Temporal server' : err.message)),
    );
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} failed (exit ${code}):\n${tail}`))));
  });
}

/** Builds what is missing; returns the binaries and how long the build took (0 when cached). */
export async function ensureTemporalBinaries(log: Log): Promise<{ binaries: TemporalBinaries; buildSeconds: number }> {
  const cached = builtBinaries();
  if (cached) return { binaries: cached, buildSeconds: 0 };
  mkdirSync(BIN_DIR, { recursive: true });
  const started = Date.now();
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} and UI server ${TEMPORAL_UI_VERSION} from their Go modules (once; ≈ 5–8 min on 2 cores)…`);
  for (const target of targets) {
    if (target.packages.every((p) => existsSync(binaryPath(p.name, target.version)))) continue;
    const staging = path.join(BIN_DIR, `.staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      await runGo(['install', ...target.packages.map((p) => `${p.pkg}@${target.version}`)], goEnv(staging), log);
      for (const p of target.packages) {
        // `go install` names a binary after its package directory (server, sql).
        mkdirSync(path.dirname(binaryPath(p.name, target.version)), { recursive: true });
        renameSync(path.join(staging, path.basename(p.pkg)), binaryPath(p.name, target.version));
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const buildSeconds = (Date.now() - started) / 1000;
  writeFileSync(path.join(BIN_DIR, 'build-log.txt'), `${new Date().toISOString()} built in ${buildSeconds.toFixed(0)} s\n`, { flag: 'a' });
  log(`built in ${Math.round(buildSeconds)} s (cached in ${path.relative(PROJECT_ROOT, BIN_DIR)}/)`);
  return { binaries: builtBinaries()!, buildSeconds };
}

export function lastBuildLog(): string {
  const file = path.join(BIN_DIR, 'build-log.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

if (require.main === module) {
  ensureTemporalBinaries((line) => console.log(`[cluster] ${line}`)).then(
    ({ binaries, buildSeconds }) => {
      console.log(`[cluster] ${buildSeconds === 0 ? 'already built' : `built in ${buildSeconds.toFixed(0)} s`}:`);
      for (const file of [binaries.server, binaries.sqlTool, binaries.uiServer]) console.log(`  ${path.relative(PROJECT_ROOT, file)}`);
    },
    (err: unknown) => {
      console.error(`[cluster] ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
