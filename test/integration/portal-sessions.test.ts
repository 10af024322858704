// Settings pages sign-in on the real API and PostgreSQL: POST /v1/portal-sessions makes a one-time link
// (tenant key for itself, admin key for any tenant, nobody for another tenant); opening it yields a session
// once (used again: 410 link_used; expired: 410 link_expired; made up: 401); the session acts for its tenant
// on the pages' routes only (no publishing, no new links, no admin routes, another tenant's ids are 404),
// and ends on expiry or sign-out; made-up links and ended sessions are throttled like wrong API keys.
// Every /portal answer carries the strict CSP with the configured frame-ancestors. Also
// GET /v1/objects/webhook-urls, which the API Settings page lists.
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { call, createTenant, startStack, type Stack } from '../support/stack';

let stack: Stack;
let framed: Stack;
let strict: Stack;
const EMBEDDER = 'https://app.example.com';

before(async () => {
  stack = await startStack({ withWorker: false });
  framed = await startStack({ withWorker: false, env: { ANVIL_PORTAL_FRAME_ANCESTORS: `'self' ${EMBEDDER}`, ANVIL_PUBLIC_URL: 'https://hooks.example.com/' } });
  strict = await startStack({ withWorker: false, env: { ANVIL_AUTH_FAILURE_LIMIT: '3', ANVIL_AUTH_FAILURE_WINDOW_SECONDS: '60', ANVIL_AUTH_FAILURE_BLOCK_SECONDS: '300' } });
});
after(async () => {
  await stack.close();
  await framed.close();
  await strict.close();
});

/** A JSON POST from a given loopback address (the whole 127/8 is this machine): throttling sees distinct clients. */
function postFrom(address: string, target: Stack, path: string, body: unknown, key?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
    const req = http.request(target.url + path, { method: 'POST', localAddress: address, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.once('error', reject);
    req.end(JSON.stringify(body));
  });
}
const randomLoopback = () => `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;

const tokenOf = (url: string) => new URL(url).hash.replace(/^#token=/, '');

async function link(key: string, body: unknown = {}) {
  const res = await call(stack, 'POST', '/v1/portal-sessions', key, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { url: string; expires_at: string };
}

async function signIn(token: string) {
  return call(stack, 'POST', '/portal/api/sign-in', null, { token });
}

void test('POST /v1/portal-sessions: a one-time link in the fragment, valid for minutes', async () => {
  const tenant = await createTenant(stack);
  const before = Date.now();
  const res = await call(stack, 'POST', '/v1/portal-sessions', tenant.key, {});
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys(res.body).sort(), ['expires_at', 'url']);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const url = new URL(res.body.url);
  assert.equal(`${url.origin}${url.pathname}`, `${stack.url}/portal/sign-in`);
  assert.equal(url.search, '', 'the token is not in the query string, which servers log');
  assert.match(url.hash, /^#token=anv_pl_[A-Za-z0-9]{32}$/);
  const ttl = Date.parse(res.body.expires_at) - before;
  assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000 + 5000, `expires in ${ttl} ms`);
  // Only a hash is stored.
  const rows = await stack.db.query('SELECT link_hash FROM portal_sessions WHERE tenant_id = $1', [tenant.id]);
  assert.equal(rows.rows[0].link_hash, createHash('sha256').update(tokenOf(res.body.url)).digest('hex'));

  // ANVIL_PUBLIC_URL sets the link's base.
  const other = await createTenant(framed);
  const configured = await call(framed, 'POST', '/v1/portal-sessions', other.key, {});
  assert.match(configured.body.url, /^https:\/\/hooks\.example\.com\/portal\/sign-in#token=anv_pl_/);
});

void test('POST /v1/portal-sessions: who may ask for whom', async () => {
  const a = await createTenant(stack);
  const b = await createTenant(stack);
  const admin = await call(stack, 'POST', '/v1/portal-sessions', stack.adminKey, { tenant_id: b.id });
  assert.equal(admin.status, 201);
  assert.equal((await signIn(tokenOf(admin.body.url))).body.tenant.id, b.id, 'the admin key makes a link for the tenant it names');

  const noTenant = await call(stack, 'POST', '/v1/portal-sessions', stack.adminKey, {});
  assert.equal(noTenant.status, 400);
  assert.equal(noTenant.body.error.details[0].path, 'tenant_id');
  const malformed = await call(stack, 'POST', '/v1/portal-sessions', stack.adminKey, { tenant_id: 'tnt_nope' });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.error.details[0].path, 'tenant_id');
  const unknown = await call(stack, 'POST', '/v1/portal-sessions', stack.adminKey, { tenant_id: 'tnt_01JABCDEFGHJKMNPQRSTVWXYZ0' });
  assert.equal(unknown.status, 404);
  const foreign = await call(stack, 'POST', '/v1/portal-sessions', a.key, { tenant_id: b.id });
  assert.equal(foreign.status, 403, 'a tenant key cannot open another tenant’s pages');
  const anonymous = await call(stack, 'POST', '/v1/portal-sessions', null, {});
  assert.equal(anonymous.status, 401);
  const extra = await call(stack, 'POST', '/v1/portal-sessions', a.key, { tenant_id: a.id, scope: 'all' });
  assert.equal(extra.status, 400);
  assert.match(extra.body.error.details[0].message, /unknown field/);
  const notObject = await call(stack, 'POST', '/v1/portal-sessions', a.key, 'null');
  assert.equal(notObject.status, 400, 'a body that is not an object is refused; no body at all is {}');
  assert.equal((await call(stack, 'POST', '/v1/portal-sessions', a.key)).status, 201);
});

void test('a link opens a session once; used, expired and made-up links are refused with their reason', async () => {
  const tenant = await createTenant(stack);
  const { url } = await link(tenant.key);
  const first = await signIn(tokenOf(url));
  assert.equal(first.status, 201, JSON.stringify(first.body));
  assert.match(first.body.session_token, /^anv_ps_[A-Za-z0-9]{32}$/);
  assert.equal(first.body.tenant.id, tenant.id);
  assert.equal(first.headers.get('cache-control'), 'no-store');
  const ttl = Date.parse(first.body.expires_at) - Date.now();
  assert.ok(ttl > 55 * 60_000 && ttl <= 60 * 60_000 + 5000, `session lasts ${ttl} ms`);

  const again = await signIn(tokenOf(url));
  assert.equal(again.status, 410);
  assert.equal(again.body.error.code, 'link_used');
  assert.equal(again.body.session_token, undefined);

  const late = await link(tenant.key);
  await stack.db.query(`UPDATE portal_sessions SET link_expires_at = now() - interval '1 second' WHERE link_hash = $1`, [
    createHash('sha256').update(tokenOf(late.url)).digest('hex'),
  ]);
  const expired = await signIn(tokenOf(late.url));
  assert.equal(expired.status, 410);
  assert.equal(expired.body.error.code, 'link_expired');

  const madeUp = await signIn('anv_pl_' + 'x'.repeat(32));
  assert.equal(madeUp.status, 401);
  assert.equal(madeUp.body.error.code, 'link_invalid');
  const empty = await call(stack, 'POST', '/portal/api/sign-in', null, {});
  assert.equal(empty.status, 400);
  assert.equal(empty.body.error.details[0].path, 'token');

  // Two tabs opening the same fresh link at once: exactly one session.
  const race = await link(tenant.key);
  const both = await Promise.all([signIn(tokenOf(race.url)), signIn(tokenOf(race.url))]);
  assert.deepEqual(both.map((r) => r.status).sort(), [201, 410]);
});

void test('a session acts for its tenant on the pages’ routes only, and ends', async () => {
  const a = await createTenant(stack);
  const b = await createTenant(stack);
  const ownEndpoint = await call(stack, 'POST', '/v1/endpoints', a.key, { url: 'https://a.example.com/hook', events: ['lead.created'] });
  const foreignEndpoint = await call(stack, 'POST', '/v1/endpoints', b.key, { url: 'https://b.example.com/hook', events: ['lead.created'] });
  const session = (await signIn(tokenOf((await link(a.key)).url))).body.session_token as string;

  const list = await call(stack, 'GET', '/v1/endpoints', session);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.data.map((e: { id: string }) => e.id), [ownEndpoint.body.id]);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${ownEndpoint.body.id}/secret`, session)).body.secret, ownEndpoint.body.secret);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${foreignEndpoint.body.id}`, session)).status, 404);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${foreignEndpoint.body.id}/secret`, session)).status, 404);
  assert.equal((await call(stack, 'GET', `/v1/endpoints?tenant_id=${b.id}`, session)).status, 403);
  const badUrl = await call(stack, 'POST', '/v1/endpoints', session, { url: 'not a url', events: ['lead.created'] });
  assert.equal(badUrl.status, 400, 'the same validation as with an API key');
  assert.equal(badUrl.body.error.details[0].path, 'url');

  for (const [method, path, body] of [
    ['POST', '/v1/events', { type: 'lead.created', data: {} }],
    ['POST', '/v1/actions', { action: 'webhookTest', data: {} }],
    ['POST', '/v1/portal-sessions', {}],
    ['POST', '/v1/tenants', { name: 'x', plan: 'pro' }],
  ] as const) {
    const res = await call(stack, method, path, session, body);
    assert.equal(res.status, 403, `${method} ${path} with a portal session`);
    assert.equal(res.body.error.code, 'forbidden');
  }

  const out = await call(stack, 'POST', '/portal/api/sign-out', session);
  assert.equal(out.status, 204);
  const after = await call(stack, 'GET', '/v1/endpoints', session);
  assert.equal(after.status, 401);
  assert.equal(after.body.error.code, 'session_expired');

  const second = (await signIn(tokenOf((await link(a.key)).url))).body.session_token as string;
  await stack.db.query(`UPDATE portal_sessions SET session_expires_at = now() - interval '1 second' WHERE session_hash = $1`, [
    createHash('sha256').update(second).digest('hex'),
  ]);
  assert.equal((await call(stack, 'GET', '/v1/endpoints', second)).status, 401, 'an expired session is refused');
});

void test('every /portal answer carries the strict CSP, nosniff and the configured frame-ancestors', async () => {
  for (const [s, ancestors] of [
    [stack, "'self'"],
    [framed, `'self' ${EMBEDDER}`],
  ] as const) {
    const page = await fetch(`${s.url}/portal/webhooks`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!app\.example\.com)/);
    assert.ok(csp.endsWith(`frame-ancestors ${ancestors}`), csp);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(page.headers.get('x-frame-options'), null, 'frame-ancestors decides framing, not X-Frame-Options DENY');
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('set-cookie'), null);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style');
    const script = /<script type="module" src="(\/portal\/assets\/portal-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads its hashed bundle from this origin');
    const asset = await fetch(`${s.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.ok(asset.headers.get('content-security-policy'));
  }
  for (const path of ['/portal/sign-in', '/portal/api-settings']) assert.equal((await fetch(`${stack.url}${path}`)).status, 200, path);
  const missing = await fetch(`${stack.url}/portal/nowhere`);
  assert.equal(missing.status, 404);
  assert.ok(missing.headers.get('content-security-policy'));
  assert.equal((await fetch(`${stack.url}/portal/assets/nothing.js`)).status, 404);
  const root = await fetch(`${stack.url}/portal`, { redirect: 'manual' });
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/portal/webhooks');
});

void test('GET /v1/objects/webhook-urls lists the organization’s per-object URLs, paged, its own only', async () => {
  const a = await createTenant(stack);
  const b = await createTenant(stack);
  for (const [type, eid] of [
    ['weld-data', 'w1'],
    ['etch-packet', 'e2'],
    ['etch-packet', 'e1'],
  ]) {
    const res = await call(stack, 'PUT', `/v1/objects/${type}/${eid}/webhook-url`, a.key, { url: `https://a.example.com/${eid}` });
    assert.equal(res.status, 200);
  }
  await call(stack, 'PUT', '/v1/objects/etch-packet/b1/webhook-url', b.key, { url: 'https://b.example.com/b1' });
  const first = await call(stack, 'GET', '/v1/objects/webhook-urls?limit=2', a.key);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.data.map((o: { type: string; eid: string }) => `${o.type}/${o.eid}`), ['etch-packet/e1', 'etch-packet/e2']);
  assert.equal(first.body.data[0].url, 'https://a.example.com/e1');
  assert.ok(first.body.next_cursor);
  const second = await call(stack, 'GET', `/v1/objects/webhook-urls?limit=2&cursor=${first.body.next_cursor}`, a.key);
  assert.deepEqual(second.body.data.map((o: { eid: string }) => o.eid), ['w1']);
  assert.equal(second.body.next_cursor, null);
  assert.equal((await call(stack, 'GET', '/v1/objects/webhook-urls?cursor=zz', a.key)).status, 400);
});

void test('made-up sign-in links and ended sessions count as failed authentications: an address past the limit gets 429', async () => {
  const tenant = await createTenant(strict);
  const made = await call(strict, 'POST', '/v1/portal-sessions', tenant.key, {});
  const guesser = randomLoopback();
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await postFrom(guesser, strict, '/portal/api/sign-in', { token: `anv_pl_${'g'.repeat(31)}${i}` })).status);
  assert.deepEqual(statuses, [401, 401, 401, 429], 'three failures allowed, the fourth throttled');
  const blocked = await postFrom(guesser, strict, '/portal/api/sign-in', { token: tokenOf(made.body.url) });
  assert.equal(blocked.status, 429, 'even a real link: a blocked address learns nothing');
  assert.equal(blocked.body.error.code, 'rate_limited');
  assert.ok(Number(blocked.headers['retry-after']) >= 1);
  // The link was not spent by the refused attempt: it still opens, from another address.
  const opened = await postFrom(randomLoopback(), strict, '/portal/api/sign-in', { token: tokenOf(made.body.url) });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));

  // An ended session is a failed authentication too (code session_expired until the limit).
  const other = randomLoopback();
  const ended = await postFrom(other, strict, '/portal/api/sign-out', {}, opened.body.session_token);
  assert.equal(ended.status, 204);
  const refused: number[] = [];
  for (let i = 0; i < 4; i++) refused.push((await postFrom(other, strict, '/v1/endpoints/ep_01JABCDEFGHJKMNPQRSTVWXYZ0/rotate-secret', {}, opened.body.session_token)).status);
  assert.deepEqual(refused, [401, 401, 401, 429]);
});
