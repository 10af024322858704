// Proves what `npm start` promises, on its own data dir and free ports: it prints the API and Temporal UI
// addresses and the admin key, /healthz is ok for both parts, the Web UI answers; after the whole process
// tree is killed with SIGKILL, the next start finds the tenants and the delivery log where they were; Ctrl-C
// (SIGINT) stops everything and leaves no process behind.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../scripts/local-services';
import { startReceiver } from '../support/receiver';
import { call, eventually, requireEnv } from '../support/stack';

const ROOT = path.resolve(__dirname, '..', '..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'anvil-launcher-'));
chmodSync(dataDir, 0o755); // PostgreSQL runs as its own user
const running: ChildProcess[] = [];

after(() => {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output: () => string;
  banner: { api: string; ui: string; adminKey: string; portal: string };
}

async function start(env: NodeJS.ProcessEnv): Promise<Started> {
  requireEnv('TEMPORAL_CLI');
  // Its own process group, so the test can kill the whole tree as a user's `kill -9 -<pgid>` would.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await eventually(async () => (output.includes('Ctrl-C stops everything') ? true : undefined), 180_000, `the banner; output so far:\n${output}`).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`);
  });
  const api = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
  const ui = /Temporal UI\s+(http:\/\/\S+)/.exec(output)?.[1];
  const adminKey = /admin key\s+(\S+)/.exec(output)?.[1];
  const portal = /Settings\s+(http:\/\/\S+\/portal\/sign-in#token=\S+)/.exec(output)?.[1];
  assert.ok(api && ui && adminKey && portal, `banner incomplete:\n${output}`);
  return { child, output: () => output, banner: { api, ui, adminKey, portal } };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

void test('npm start: banner, health, UI; SIGKILL of the whole tree loses nothing; Ctrl-C stops everything', { timeout: 600_000 }, async () => {
  const env = {
    ...process.env,
    ANVIL_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    ANVIL_TEMPORAL_PORT: String(await freePort()),
    ANVIL_TEMPORAL_UI_PORT: String(await freePort()),
    ANVIL_POSTGRES_PORT: String(await freePort()),
    // What the test harness set for its own servers must not leak into the launcher.
    TEMPORAL_ADDRESS: '',
    DATABASE_URL: '',
    ANVIL_ALLOW_INSECURE_TARGETS: '',
  };
  const receiver = await startReceiver(() => ({ status: 200, body: 'thanks' }));
  try {
    const first = await start(env);
    assert.match(first.output(), /development mode: http:\/\/ and loopback/);
    const api = { url: first.banner.api.replace('localhost', '127.0.0.1') };
    const health = await call(api, 'GET', '/healthz', null);
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok', temporal: 'ok', postgres: 'ok' });
    const ui = await fetch(first.banner.ui.replace('localhost', '127.0.0.1'));
    assert.equal(ui.status, 200);
    // The Settings pages link opens them for the demo tenant, once.
    assert.ok(first.banner.portal.startsWith(`${first.banner.api}/portal/sign-in#token=anv_pl_`), first.banner.portal);
    const page = await fetch(first.banner.portal.replace('localhost', '127.0.0.1'));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const signIn = await call(api, 'POST', '/portal/api/sign-in', null, { token: new URL(first.banner.portal).hash.slice('#token='.length) });
    assert.equal(signIn.status, 201, JSON.stringify(signIn.body));
    assert.equal(signIn.body.tenant.name, 'Demo');

    const tenant = await call(api, 'POST', '/v1/tenants', first.banner.adminKey, { name: 'Survivor', plan: 'pro' });
    assert.equal(tenant.status, 201);
    const key = tenant.body.api_key as string;
    const endpoint = await call(api, 'POST', '/v1/endpoints', key, { url: receiver.url, events: ['lead.created'] });
    assert.equal(endpoint.status, 201);
    const event = await call(api, 'POST', '/v1/events', key, { type: 'lead.created', data: { n: 1 } });
    assert.equal(event.status, 202);
    await receiver.waitFor(1, 60_000);
    const deliveryId = `${event.body.id}:${endpoint.body.id}`;
    await eventually(async () => ((await call(api, 'GET', `/v1/deliveries/${deliveryId}`, key)).body.status === 'succeeded' ? true : undefined), 30_000, 'succeeded');

    // SIGKILL to every process of the tree: launcher, Temporal, PostgreSQL, API (with its worker).
    process.kill(-first.child.pid!, 'SIGKILL');
    await exited(first.child);

    const second = await start(env);
    assert.equal(second.banner.adminKey, first.banner.adminKey, 'the generated admin key is kept in the data dir');
    assert.notEqual(second.banner.portal, first.banner.portal, 'a new one-time link at every start');
    const again = await call({ url: second.banner.api.replace('localhost', '127.0.0.1') }, 'POST', '/portal/api/sign-in', null, {
      token: new URL(second.banner.portal).hash.slice('#token='.length),
    });
    assert.equal(again.body.tenant?.id, signIn.body.tenant.id, 'the same demo tenant');
    const api2 = { url: second.banner.api.replace('localhost', '127.0.0.1') };
    const endpoints = await call(api2, 'GET', '/v1/endpoints', key);
    assert.equal(endpoints.status, 200, 'the tenant key still authenticates');
    assert.deepEqual(endpoints.body.data.map((e: { id: string }) => e.id), [endpoint.body.id]);
    const detail = await call(api2, 'GET', `/v1/deliveries/${deliveryId}`, key);
    assert.equal(detail.status, 200);
    assert.equal(detail.body.status, 'succeeded');
    assert.deepEqual(detail.body.attempts.map((a: { status_code: number }) => a.status_code), [200]);
    assert.equal(detail.body.attempts[0].response_excerpt, 'thanks');
    const list = await call(api2, 'GET', '/v1/deliveries', key);
    assert.deepEqual(list.body.data.map((d: { id: string }) => d.id), [deliveryId]);

    // Ctrl-C reaches the whole foreground group; the launcher stops everything and exits 0.
    process.kill(-second.child.pid!, 'SIGINT');
    await exited(second.child);
    assert.equal(second.child.exitCode, 0, second.output());
    assert.match(second.output(), /\[anvil\] stopped/);
    const health2 = await fetch(`${api2.url}/healthz`).then(() => 'answered', () => 'refused');
    assert.equal(health2, 'refused', 'nothing listens after Ctrl-C');
  } finally {
    await receiver.close();
  }
});
