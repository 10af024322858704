// Issue 11 on the production-mode API (insecure targets off): the repro requests that answered 500 now
// answer 4xx with the error shape and the field named; JSON structure is bounded at parsing; response
// headers; a client id reused with another payload is a 409; the reference is served without a CDN.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, createTenant, startStack, type ApiResponse, type Stack } from '../support/stack';

let secure: Stack;
let insecure: Stack;
before(async () => {
  secure = await startStack({ secure: true, withWorker: false });
  insecure = await startStack({ withWorker: false });
});
after(async () => {
  await secure.close();
  await insecure.close();
});

function assertError(res: ApiResponse, status: number, field?: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body.error.code, 'string');
  assert.equal(typeof res.body.error.message, 'string');
  if (field) {
    assert.ok(
      res.body.error.details.some((d: { path: string }) => d.path === field),
      `details name ${field}: ${JSON.stringify(res.body.error.details)}`,
    );
  }
}

void test('the fuzzer’s 500s: NUL bytes in ids and query parameters are 4xx naming the field', async () => {
  const tenant = await createTenant(secure);
  // Path ids that cannot exist are not found, with the broken rule under `id`.
  assertError(await call(secure, 'GET', '/v1/events/evt_%00aaaaaaaa', tenant.key), 404, 'id');
  assertError(await call(secure, 'GET', '/v1/endpoints/a%00b', tenant.key), 404, 'id');
  assertError(await call(secure, 'DELETE', '/v1/endpoints/%00', tenant.key), 404, 'id');
  assertError(await call(secure, 'POST', '/v1/endpoints/a%00b/rotate-secret', tenant.key), 404, 'id');
  assertError(await call(secure, 'GET', `/v1/endpoints/ep_${'A'.repeat(5000)}`, tenant.key), 404, 'id');
  assertError(await call(secure, 'GET', '/v1/deliveries/evt_aaaaaaaa%00:classic', tenant.key), 404, 'id');
  // Query parameters are 400s.
  assertError(await call(secure, 'GET', '/v1/webhook-settings?tenant_id=%00', secure.adminKey), 400, 'tenant_id');
  const list = await call(secure, 'GET', '/v1/deliveries?cursor=..&event_type=%0A&tenant_id=%00', secure.adminKey);
  assertError(list, 400);
  const fields = list.body.error.details.map((d: { path: string }) => d.path).sort();
  assert.deepEqual(fields, ['event_type', 'tenant_id']);
  assertError(await call(secure, 'GET', `/v1/deliveries?endpoint_id=${encodeURIComponent("x' OR 1=1")}`, tenant.key), 400, 'endpoint_id');
  // A cursor that decodes to something no page ends with never reaches a query.
  const nulCursor = Buffer.from('\0', 'utf8').toString('base64url');
  assertError(await call(secure, 'GET', `/v1/endpoints?cursor=${nulCursor}`, tenant.key), 400, 'cursor');
  // The well-formed but unknown stay plain 404s.
  assertError(await call(secure, 'GET', '/v1/endpoints/ep_01JABCDEFGHJKMNPQRSTVWXYZ0', tenant.key), 404);
});

void test('NUL characters in stored text are 400s naming the field', async () => {
  const tenant = await createTenant(secure);
  assertError(await call(secure, 'POST', '/v1/tenants', secure.adminKey, { name: 'a\u0000b' }), 400, 'name');
  const endpoint = { url: 'https://example.com/hook', events: ['lead.created'] };
  assertError(await call(secure, 'POST', '/v1/endpoints', tenant.key, { ...endpoint, description: 'x\u0000' }), 400, 'description');
  assertError(await call(secure, 'POST', '/v1/endpoints', tenant.key, { ...endpoint, url: 'https://example.com/\u0000' }), 400, 'url');
  assertError(await call(secure, 'POST', '/v1/endpoints', tenant.key, { ...endpoint, filter: { 'data.x': 'a\u0000' } }), 400, 'filter');
  // Event data may carry one: it is stored as json, not jsonb, and delivered as sent.
  const ok = await call(secure, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { note: 'a\u0000b' } });
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  assert.equal(ok.body.data.note, 'a\u0000b');
});

void test('JSON nesting and key counts are bounded at parsing: 400 and 413 with a clear message', async () => {
  const tenant = await createTenant(secure);
  for (const depth of [5000, 20_000]) {
    const data = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const res = await call(secure, 'POST', '/v1/events', tenant.key, `{"type":"lead.created","data":${data}}`);
    assertError(res, 400, '(body)');
    assert.equal(res.body.error.code, 'json_too_deep');
    assert.match(res.body.error.message, /deeper than 32 levels/);
    const action = await call(secure, 'POST', '/v1/actions', tenant.key, `{"action":"weldCreate","data":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
    assert.equal(action.body.error.code, 'json_too_deep');
  }
  // Brackets inside strings are text, not nesting.
  const text = await call(secure, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { s: '[[[['.repeat(100) + '"\\' } });
  assert.equal(text.status, 202, JSON.stringify(text.body));
  // 30 levels of real nesting are fine.
  let nested: unknown = 1;
  for (let i = 0; i < 29; i++) nested = { n: nested };
  assert.equal((await call(secure, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: nested })).status, 202);
  const many = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, i]));
  const res = await call(secure, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: many });
  assertError(res, 413, '(body)');
  assert.equal(res.body.error.code, 'json_too_many_keys');
});

void test('answers carry nosniff, a CSP, frame rules and no-store; HSTS in production mode only', async () => {
  const tenant = await createTenant(secure);
  const created = await call(secure, 'POST', '/v1/endpoints', tenant.key, { url: 'https://example.com/hook', events: ['lead.created'] });
  assert.equal(created.status, 201);
  for (const res of [
    created,
    await call(secure, 'GET', `/v1/endpoints/${created.body.id}/secret`, tenant.key),
    await call(secure, 'POST', `/v1/endpoints/${created.body.id}/rotate-secret`, tenant.key),
    await call(secure, 'GET', '/v1/webhook-settings', tenant.key),
    await call(secure, 'POST', '/v1/webhook-settings/keypair', tenant.key),
    await call(secure, 'POST', '/v1/api-keys', tenant.key, { name: 'ci' }),
    await call(secure, 'GET', '/v1/nothing', tenant.key),
  ]) {
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'.*frame-ancestors 'none'/);
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
    assert.match(res.headers.get('x-request-id') ?? '', /^[\w-]{8,}$/);
  }
  const dev = await call(insecure, 'GET', '/healthz', null);
  assert.equal(dev.headers.get('strict-transport-security'), null);
  assert.equal(dev.headers.get('x-content-type-options'), 'nosniff');
});

void test('the same client id with another payload is a 409 naming id; the same payload is a 200', async () => {
  const tenant = await createTenant(secure);
  const event = { id: 'evt_idem0000000001', type: 'lead.created', data: { lead: 1, tags: ['a', 'b'] } };
  assert.equal((await call(secure, 'POST', '/v1/events', tenant.key, event)).status, 202);
  // Key order is not a different payload.
  const same = await call(secure, 'POST', '/v1/events', tenant.key, { data: { tags: ['a', 'b'], lead: 1 }, type: 'lead.created', id: event.id });
  assert.equal(same.status, 200);
  for (const changed of [{ ...event, data: { lead: 2, tags: ['a', 'b'] } }, { ...event, type: 'lead.stage_changed' }]) {
    const res = await call(secure, 'POST', '/v1/events', tenant.key, changed);
    assertError(res, 409, 'id');
    assert.equal(res.body.error.code, 'id_conflict');
  }
  const action = { id: 'evt_idem0000000002', action: 'weldCreate', data: { eid: 'w1' } };
  assert.equal((await call(secure, 'POST', '/v1/actions', tenant.key, action)).status, 202);
  assert.equal((await call(secure, 'POST', '/v1/actions', tenant.key, action)).status, 200);
  assertError(await call(secure, 'POST', '/v1/actions', tenant.key, { ...action, object: { type: 'weld-data', eid: 'w1' } }), 409, 'id');
});

void test('/livez, /readyz and the API reference: /openapi.json and /docs served from this process', async () => {
  assert.deepEqual((await call(secure, 'GET', '/livez', null)).body, { status: 'ok' });
  assert.deepEqual((await call(secure, 'GET', '/readyz', null)).body, { status: 'ok', temporal: 'ok', postgres: 'ok' });
  const doc = await call(secure, 'GET', '/openapi.json', null);
  assert.equal(doc.status, 200);
  assert.equal(doc.body.openapi, '3.1.0');
  assert.ok(doc.body.webhooks.event.post.requestBody, 'webhooks document what we POST');
  const page = await fetch(`${secure.url}/docs`);
  const html = await page.text();
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
  // Every script and stylesheet the page loads comes from this origin, and each is served.
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.length >= 3);
  for (const asset of assets) {
    assert.ok(asset.startsWith('/'), `${asset} is served by the API itself`);
    const res = await fetch(secure.url + asset);
    assert.equal(res.status, 200, asset);
    assert.ok((await res.arrayBuffer()).byteLength > 100, asset);
  }
});
