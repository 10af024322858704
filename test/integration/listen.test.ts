// `anvil-webhooks listen` against the real stack with two API processes on one task queue, in production
// mode (https-only targets: the service refuses to POST to the loopback receiver the CLI forwards to, so
// deliveries can only reach it over the CLI's own connection). The CLI runs as a child process, connected
// to API process A; events are published through B, whose embedded worker runs the attempts, so each
// delivery crosses from one process to the other. A `trigger`ed event and a Send Test Event arrive with
// signatures that verify with the secret the CLI printed; a local 500 is the attempt's status in the
// delivery log and is retried on schedule; with the CLI gone an attempt fails and says why; Ctrl-C removes the temporary endpoint at once, SIGKILL after
// the session time-out; the next session keeps the same secret.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { verify } from '../../packages/anvil-webhooks/src/index.js';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';

const CLI = path.resolve(__dirname, '../../packages/anvil-webhooks/src/cli/main.ts');
const SESSION_TIMEOUT = '3s';

let a: Stack;
let b: Stack;
let home: string;
const receivers: Receiver[] = [];
const children: ChildProcess[] = [];

before(async () => {
  a = await startStack({ secure: true, env: { ANVIL_LISTEN_SESSION_TIMEOUT: SESSION_TIMEOUT } });
  b = await startStack({ secure: true, taskQueue: a.taskQueue, env: { ANVIL_LISTEN_SESSION_TIMEOUT: SESSION_TIMEOUT } });
  home = mkdtempSync(path.join(tmpdir(), 'anvil-cli-'));
});
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all([a.close(), b.close()]);
  rmSync(home, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** The CLI as a developer runs it, with its settings in the environment and its config file in `home`. */
function cli(args: string[], apiUrl: string | null, apiKey: string | null, configFile = path.join(home, 'config.json')): Cli {
  const env: NodeJS.ProcessEnv = { ...process.env, ANVIL_WEBHOOKS_CONFIG: configFile };
  delete env.ANVIL_API_URL;
  delete env.ANVIL_API_KEY;
  if (apiUrl) env.ANVIL_API_URL = apiUrl;
  if (apiKey) env.ANVIL_API_KEY = apiKey;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitForLine: (pattern, timeoutMs = 30_000) =>
      eventually(
        async () => {
          for (const line of lines) {
            const m = pattern.exec(line);
            if (m) return m;
          }
          return undefined;
        },
        timeoutMs,
        `a CLI line matching ${pattern} (got: ${lines.join(' | ')})`,
      ),
  };
}

const endpointGone = (tenantKey: string, endpointId: string, timeoutMs: number) =>
  eventually(async () => ((await call(a, 'GET', `/v1/endpoints/${endpointId}`, tenantKey)).status === 404 ? true : undefined), timeoutMs, `endpoint ${endpointId} removed`);

void test('listen receives a triggered event and a Send Test Event; a local 500 is retried and shows in the log; SIGKILL removes the endpoint after the time-out', async () => {
  const tenant = await createTenant(a);
  const local = await startReceiver((_req, i) => (i === 0 ? { status: 500, body: 'boom' } : { status: 200, body: 'ok' }));
  receivers.push(local);

  // Nothing outside reaches the local port: the service refuses it as an endpoint.
  const direct = await call(a, 'POST', '/v1/endpoints', tenant.key, { url: local.url, events: ['lead.created'] });
  assert.equal(direct.status, 400, JSON.stringify(direct.body));

  const listening = cli(['listen', '--forward-to', local.url, '--events', 'lead.created,lead.stage_changed'], a.url, tenant.key);
  const [, secret] = await listening.waitForLine(/Your webhook signing secret is (whsec_\w+)/);
  const [, endpointId] = await listening.waitForLine(/Forwarding lead\.created, lead\.stage_changed to .* \(endpoint (ep_\w+)\)/);
  const endpoint = await call(a, 'GET', `/v1/endpoints/${endpointId}`, tenant.key);
  assert.equal(endpoint.status, 200);
  assert.deepEqual(endpoint.body.events, ['lead.created', 'lead.stage_changed']);

  // trigger, through the other API process
  const trigger = cli(['trigger', 'lead.created'], b.url, tenant.key);
  assert.equal(await trigger.exited, 0, trigger.lines.join('\n'));
  const [, eventId] = await trigger.waitForLine(/^Triggered lead\.created (evt_\w+)$/);

  const [first, second] = await local.waitFor(2);
  for (const req of [first!, second!]) {
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/hook');
    assert.equal(req.headers['anvil-event-id'], eventId);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.match(req.headers['user-agent'] as string, /^anvil-webhooks\//);
    assert.equal(verify(req.rawBody, req.headers, secret!), true, 'signed with the secret the CLI printed');
  }
  assert.equal(second!.rawBody, first!.rawBody, 'the retry carries the same bytes');
  const envelope = JSON.parse(first!.rawBody) as { id: string; type: string; data: Record<string, unknown> };
  assert.equal(envelope.id, eventId);
  assert.equal(envelope.type, 'lead.created');
  const types = await call(a, 'GET', '/v1/event-types', tenant.key);
  assert.deepEqual(envelope.data, types.body.data.find((t: { name: string }) => t.name === 'lead.created').example, 'the catalog sample');

  const log = await eventually(async () => {
    const d = await call(b, 'GET', `/v1/deliveries/${eventId}:${endpointId}`, tenant.key);
    return d.body?.status === 'succeeded' ? d.body : undefined;
  });
  assert.deepEqual(
    log.attempts.map((x: { attempt: number; status_code: number | null; error: string | null; response_excerpt: string | null }) => [x.attempt, x.status_code, x.error, x.response_excerpt]),
    [
      [1, 500, 'HTTP 500', 'boom'],
      [2, 200, null, 'ok'],
    ],
  );
  const gap = Date.parse(log.attempts[1].at) - Date.parse(log.attempts[0].at);
  assert.ok(gap >= 250, `second attempt ${gap} ms after the first (the schedule's 300 ms)`);
  await listening.waitForLine(new RegExp(`lead\\.created ${eventId} \\(attempt 1\\)  <-- \\[500\\]`));
  await listening.waitForLine(new RegExp(`lead\\.created ${eventId} \\(attempt 2\\)  <-- \\[200\\]`));

  // Send Test Event on the temporary endpoint
  const test = await call(b, 'POST', `/v1/endpoints/${endpointId}/test`, tenant.key, { type: 'lead.stage_changed' });
  assert.equal(test.status, 202, JSON.stringify(test.body));
  const [, , third] = await local.waitFor(3);
  assert.equal(third!.headers['anvil-event-id'], test.body.event_id);
  assert.equal((JSON.parse(third!.rawBody) as { type: string }).type, 'lead.stage_changed');
  assert.equal(verify(third!.rawBody, third!.headers, secret!), true);
  await listening.waitForLine(new RegExp(`lead\\.stage_changed ${test.body.event_id} \\(attempt 1\\)  <-- \\[200\\]`));

  // SIGKILL: nobody says goodbye; the session times out and its endpoint goes with it.
  listening.child.kill('SIGKILL');
  await listening.exited;
  const killedAt = Date.now();
  // Meanwhile a delivery fails like an unreachable endpoint would, and the log says why.
  const meanwhile = await call(b, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 2 } });
  const failed = await eventually(async () => {
    const d = await call(a, 'GET', `/v1/deliveries/${meanwhile.body.id}:${endpointId}`, tenant.key);
    return d.body?.attempts?.length >= 1 ? d.body : undefined;
  });
  assert.equal(failed.attempts[0].status_code, null);
  assert.match(failed.attempts[0].error, /no anvil-webhooks listen CLI is connected|connection reset/);
  assert.equal(local.requests.length, 3, 'nothing reached the local port');
  await endpointGone(tenant.key, endpointId!, 15_000);
  const after = Date.now() - killedAt;
  assert.ok(after >= 1500, `removed ${after} ms after the kill: only once the ${SESSION_TIMEOUT} time-out passed`);
  const list = await call(a, 'GET', '/v1/endpoints', tenant.key);
  assert.deepEqual(list.body.data, []);
});

void test('Ctrl-C removes the endpoint at once; the next session keeps the secret', async () => {
  const tenant = await createTenant(a);
  const local = await startReceiver();
  receivers.push(local);
  const refused = await call(a, 'POST', '/v1/listen-sessions', tenant.key, { events: ['lead.nope'], forward_to: local.url });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.details[0].path, 'events[0]', JSON.stringify(refused.body));
  // forward_to is stored and shown in the endpoint's description: an http(s) URL, no NUL (PostgreSQL's text refuses it).
  for (const forward_to of ['http://localhost:4000/x\u0000y', 'ftp://localhost/x', 'localhost:4000', `http://localhost/${'a'.repeat(400)}`]) {
    const bad = await call(a, 'POST', '/v1/listen-sessions', tenant.key, { forward_to });
    assert.deepEqual([bad.status, bad.body.error.details[0].path], [400, 'forward_to'], JSON.stringify(bad.body));
  }
  const unknown = await call(a, 'DELETE', '/v1/listen-sessions/ls_01M8XYWH721GWG8KPAPSKY76DE', tenant.key);
  assert.equal(unknown.status, 404);
  const first = cli(['listen', '--forward-to', local.url], b.url, tenant.key);
  const [, secret] = await first.waitForLine(/Your webhook signing secret is (whsec_\w+)/);
  const [, endpointId] = await first.waitForLine(/\(endpoint (ep_\w+)\)/);
  const published = await call(a, 'POST', '/v1/events', tenant.key, { type: 'export.ready', data: { url: 'https://example.com/x.csv' } });
  assert.equal(published.status, 202);
  await first.waitForLine(new RegExp(`export\\.ready ${published.body.id} \\(attempt 1\\)  <-- \\[200\\]`));

  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, first.lines.join('\n'));
  assert.equal((await call(a, 'GET', `/v1/endpoints/${endpointId}`, tenant.key)).status, 404, 'removed before the CLI exited');

  const second = cli(['listen', '--forward-to', local.url], b.url, tenant.key);
  const [, again] = await second.waitForLine(/Your webhook signing secret is (whsec_\w+)/);
  assert.equal(again, secret, 'the same secret as last time (kept in the config file)');
  const [, secondEndpoint] = await second.waitForLine(/\(endpoint (ep_\w+)\)/);
  assert.notEqual(secondEndpoint, endpointId);

  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
  await endpointGone(tenant.key, secondEndpoint!, 2000);
});

void test('login saves the URL and key (mode 600); trigger --data @file and deliveries tail then work without settings in the environment', async () => {
  const tenant = await createTenant(a);
  const local = await startReceiver();
  receivers.push(local);
  const configFile = path.join(home, 'login', 'config.json');
  const wrong = cli(['login', '--api-url', a.url, '--api-key', 'anv_sk_wrong'], null, null, configFile);
  assert.equal(await wrong.exited, 1);
  await wrong.waitForLine(/^anvil-webhooks: GET \/v1\/endpoints\?limit=1: HTTP 401/);
  const login = cli(['login', '--api-url', `${a.url}/`, '--api-key', tenant.key], null, null, configFile);
  assert.equal(await login.exited, 0, login.lines.join('\n'));
  assert.equal(statSync(configFile).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(configFile, 'utf8')), { api_url: a.url, api_key: tenant.key });

  const ep = await call(a, 'POST', '/v1/listen-sessions', tenant.key, { events: ['lead.created'], forward_to: local.url });
  assert.equal(ep.status, 201, JSON.stringify(ep.body));
  const tail = cli(['deliveries', 'tail', '--interval', '0.5'], null, null, configFile);
  await new Promise((r) => setTimeout(r, 1500)); // its first page read: only what happens from now on is printed
  const dataFile = path.join(home, 'lead.json');
  writeFileSync(dataFile, JSON.stringify({ name: 'Zoë', score: 91 }));
  const trigger = cli(['trigger', 'lead.created', '--data', `@${dataFile}`], null, null, configFile);
  assert.equal(await trigger.exited, 0, trigger.lines.join('\n'));
  const [, eventId] = await trigger.waitForLine(/^Triggered lead\.created (evt_\w+)$/);
  const event = await call(a, 'GET', `/v1/events/${eventId}`, tenant.key);
  assert.deepEqual(event.body.data, { name: 'Zoë', score: 91 });
  // The session has no CLI connected: the attempt fails, and tail shows the delivery.
  await tail.waitForLine(new RegExp(`${eventId}:${ep.body.endpoint_id}  lead\\.created  (pending|retrying|failed)`));
  tail.child.kill('SIGINT');
  assert.equal(await tail.exited, 0);
  // No CLI ever held that session: SESSION_TIMEOUT after its creation it ends by itself (on a slow
  // machine the steps above take longer than that), and its endpoint goes either way.
  const ended = (await call(a, 'DELETE', `/v1/listen-sessions/${ep.body.id}`, tenant.key)).status;
  assert.ok(ended === 204 || ended === 404, `DELETE of the session: ${ended}`);
  await endpointGone(tenant.key, ep.body.endpoint_id, 5000);
  // Deleting a session that is still open: 204, and its endpoint is gone at once.
  const fresh = await call(a, 'POST', '/v1/listen-sessions', tenant.key, { events: ['lead.created'], forward_to: local.url });
  assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
  assert.equal((await call(a, 'DELETE', `/v1/listen-sessions/${fresh.body.id}`, tenant.key)).status, 204);
  assert.equal((await call(a, 'GET', `/v1/endpoints/${fresh.body.endpoint_id}`, tenant.key)).status, 404);
  assert.equal((await call(a, 'DELETE', `/v1/listen-sessions/${fresh.body.id}`, tenant.key)).status, 404, 'a deleted session is gone');
});
