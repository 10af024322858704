import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, createTenant, startStack, type Stack } from '../support/stack';

let stack: Stack;
before(async () => {
  stack = await startStack({ withWorker: false });
});
after(async () => {
  await stack.close();
});

void test('GET /healthz reports both parts ok', async () => {
  const res = await call(stack, 'GET', '/healthz', null);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ok', temporal: 'ok', postgres: 'ok' });
});

void test('POST /v1/tenants: admin key creates a tenant and shows its key once', async () => {
  const res = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name: 'Acme', plan: 'enterprise' });
  assert.equal(res.status, 201);
  assert.match(res.body.id, /^tnt_[0-9A-Z]{26}$/);
  assert.equal(res.body.name, 'Acme');
  assert.equal(res.body.plan, 'enterprise');
  assert.match(res.body.api_key, /^anv_sk_[A-Za-z0-9]{32}$/);
  // Stored hashed: the key itself is nowhere in the database.
  const rows = await stack.db.query('SELECT key_hash FROM api_keys WHERE tenant_id = $1', [res.body.id]);
  assert.equal(rows.rowCount, 1);
  assert.notEqual(rows.rows[0].key_hash, res.body.api_key);
  assert.equal(rows.rows[0].key_hash.length, 64);
});

void test('POST /v1/tenants without a key is 401, with a tenant key 403', async () => {
  const none = await call(stack, 'POST', '/v1/tenants', null, { name: 'x' });
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'unauthorized');
  const wrong = await call(stack, 'POST', '/v1/tenants', 'not-a-key', { name: 'x' });
  assert.equal(wrong.status, 401);
  const tenant = await createTenant(stack);
  const asTenant = await call(stack, 'POST', '/v1/tenants', tenant.key, { name: 'x' });
  assert.equal(asTenant.status, 403);
  assert.equal(asTenant.body.error.code, 'forbidden');
});

void test('POST /v1/tenants with an unknown plan is 400 naming plan', async () => {
  const res = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name: 'x', plan: 'gold' });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'validation_error');
  assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['plan']);
  assert.match(res.body.error.message, /plan/);
});

void test('malformed JSON, unknown fields and oversized bodies are 4xx, never 500', async () => {
  const malformed = await call(stack, 'POST', '/v1/tenants', stack.adminKey, '{"name": ');
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.error.code, 'invalid_json');
  const unknown = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name: 'x', colour: 'red' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.details[0].message, /colour/);
  const big = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name: 'x'.repeat(300 * 1024) });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'payload_too_large');
  const noRoute = await call(stack, 'GET', '/v1/nothing', stack.adminKey);
  assert.equal(noRoute.status, 404);
});

void test('the admin key acts for a tenant only when it names tenant_id', async () => {
  const tenant = await createTenant(stack);
  const without = await call(stack, 'GET', '/v1/endpoints', stack.adminKey);
  assert.equal(without.status, 400);
  assert.equal(without.body.error.details[0].path, 'tenant_id');
  const withId = await call(stack, 'GET', `/v1/endpoints?tenant_id=${tenant.id}`, stack.adminKey);
  assert.equal(withId.status, 200);
  assert.deepEqual(withId.body, { data: [], next_cursor: null });
  const other = await createTenant(stack);
  const cross = await call(stack, 'GET', `/v1/endpoints?tenant_id=${other.id}`, tenant.key);
  assert.equal(cross.status, 403);
});
