// API keys, tenant administration and throttling, across two API instances sharing one PostgreSQL (as
// two processes behind a load balancer would): a revoked key or a deleted tenant is refused at once by
// the instance that did it and within seconds by the other; wrong keys from one address are throttled
// on both, while another address is unaffected; publishing is limited per tenant on both together.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import http from 'node:http';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';

let a: Stack;
let b: Stack;
const limits = { ANVIL_AUTH_FAILURE_LIMIT: '20', ANVIL_AUTH_FAILURE_WINDOW_SECONDS: '60', ANVIL_AUTH_FAILURE_BLOCK_SECONDS: '300', ANVIL_PUBLISH_RATE_LIMIT: '5' };
before(async () => {
  [a, b] = await Promise.all([startStack({ withWorker: false, env: limits }), startStack({ withWorker: false, env: limits })]);
  // The suite shares one PostgreSQL: earlier files' wrong keys from 127.0.0.1 (the fuzzer sends many,
  // with a limit of a million) must not count against these stacks' limit of 20.
  await a.db.query("DELETE FROM rate_limits WHERE key LIKE 'auth_fail%'");
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
});

/** A request from a given loopback address (the whole 127/8 is this machine), so throttling sees distinct clients. */
function from(address: string, stack: Stack, method: string, path: string, key: string) {
  return new Promise<{ status: number; headers: Map<string, string>; body: any }>((resolve, reject) => {
    const req = http.request(stack.url + path, { method, localAddress: address, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: new Map(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
          body: JSON.parse(text),
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}
const randomLoopback = () => `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;

void test('tenants list, create (named), and revoke keys; last_used_at shows use; a revoked key is refused at once, on every instance', async () => {
  const tenant = await createTenant(a);
  const created = await call(a, 'POST', '/v1/api-keys', tenant.key, { name: 'CI deploys' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.api_key, /^anv_sk_[A-Za-z0-9]{32}$/);
  assert.equal(created.body.name, 'CI deploys');
  assert.equal(created.body.last_used_at, null);
  const ci = created.body.api_key as string;
  // Both instances have the new key cached after using it.
  assert.equal((await call(a, 'GET', '/v1/endpoints', ci)).status, 200);
  assert.equal((await call(b, 'GET', '/v1/endpoints', ci)).status, 200);
  const list = await call(a, 'GET', '/v1/api-keys', tenant.key);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.data.map((k: { name: string }) => k.name).sort(), ['CI deploys', 'default']);
  const listed = list.body.data.find((k: { id: string }) => k.id === created.body.id);
  assert.ok(Date.parse(listed.last_used_at) >= Date.parse(created.body.created_at), 'last_used_at records the use');
  assert.equal(listed.status, 'active');
  assert.equal(JSON.stringify(list.body).includes(ci), false, 'the key itself is never listed');
  // Another tenant cannot see or revoke it.
  const other = await createTenant(a);
  assert.equal((await call(a, 'DELETE', `/v1/api-keys/${created.body.id}`, other.key)).status, 404);

  const revoked = await call(a, 'DELETE', `/v1/api-keys/${created.body.id}`, tenant.key);
  assert.equal(revoked.status, 200);
  assert.equal(revoked.body.status, 'revoked');
  assert.ok(revoked.body.revoked_at);
  const refused = await call(a, 'GET', '/v1/endpoints', ci);
  assert.equal(refused.status, 401, 'refused at once by the instance that revoked it');
  const t0 = Date.now();
  await eventually(async () => ((await call(b, 'GET', '/v1/endpoints', ci)).status === 401 ? true : undefined), 5000, 'instance B to refuse');
  console.log(`[access] instance B refused the revoked key ${Date.now() - t0} ms after the revocation answered`);
  assert.equal((await call(a, 'GET', '/v1/endpoints', tenant.key)).status, 200, 'the other key still works');
});

void test('admin lists, reads, changes the plan of and deletes tenants; a tenant key may not', async () => {
  const tenant = await createTenant(a);
  assert.equal((await call(a, 'GET', '/v1/tenants', tenant.key)).status, 403);
  assert.equal((await call(a, 'PATCH', `/v1/tenants/${tenant.id}`, tenant.key, { plan: 'enterprise' })).status, 403);
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { data: { id: string }[]; next_cursor: string | null } } = await call(
      a,
      'GET',
      `/v1/tenants?limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      a.adminKey,
    );
    ids.push(...page.body.data.map((t) => t.id));
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.ok(ids.includes(tenant.id));
  assert.deepEqual(ids, [...ids].sort(), 'ordered by id (creation time)');
  const read = await call(a, 'GET', `/v1/tenants/${tenant.id}`, a.adminKey);
  assert.equal(read.body.plan, 'pro');
  const changed = await call(a, 'PATCH', `/v1/tenants/${tenant.id}`, a.adminKey, { plan: 'enterprise' });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.plan, 'enterprise');
  assert.equal((await call(a, 'PATCH', `/v1/tenants/${tenant.id}`, a.adminKey, { plan: 'gold' })).body.error.details[0].path, 'plan');

  assert.equal((await call(b, 'GET', '/v1/endpoints', tenant.key)).status, 200); // cached on B
  const deleted = await call(a, 'DELETE', `/v1/tenants/${tenant.id}`, a.adminKey);
  assert.equal(deleted.status, 200);
  assert.deepEqual(deleted.body, { id: tenant.id, deleted: true, canceled_deliveries: 0 });
  assert.equal((await call(a, 'GET', `/v1/tenants/${tenant.id}`, a.adminKey)).status, 404);
  assert.equal((await call(a, 'GET', '/v1/endpoints', tenant.key)).status, 401);
  await eventually(async () => ((await call(b, 'GET', '/v1/endpoints', tenant.key)).status === 401 ? true : undefined), 5000, 'B to forget the tenant');
  assert.equal((await call(a, 'DELETE', `/v1/tenants/${tenant.id}`, a.adminKey)).status, 404);
});

void test('30 wrong keys from one address in a second: later ones get 429 with Retry-After, on both instances; another address is unaffected', async () => {
  const tenant = await createTenant(a);
  const attacker = randomLoopback();
  const statuses: number[] = [];
  let last: Awaited<ReturnType<typeof from>> | null = null;
  const started = Date.now();
  for (let i = 0; i < 30; i++) {
    last = await from(attacker, i % 2 === 0 ? a : b, 'GET', '/v1/endpoints', `anv_sk_wrong${i}`);
    statuses.push(last.status);
  }
  console.log(`[access] 30 wrong keys in ${Date.now() - started} ms: ${statuses.join(' ')}`);
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), 'the first 20 (the limit) are plain 401s');
  assert.deepEqual(statuses.slice(20), Array(10).fill(429), 'the rest are throttled, on either instance');
  assert.equal(last!.body.error.code, 'rate_limited');
  const retryAfter = Number(last!.headers.get('retry-after'));
  assert.ok(retryAfter > 200 && retryAfter <= 300, `Retry-After ${retryAfter}`);
  assert.equal(last!.headers.get('ratelimit-limit'), '20');
  assert.equal(last!.headers.get('ratelimit-remaining'), '0');
  // While blocked, even a right key from that address is refused: guessing learns nothing.
  assert.equal((await from(attacker, a, 'GET', '/v1/endpoints', tenant.key)).status, 429);
  // Another address with the right key is unaffected, on both instances.
  const other = randomLoopback();
  assert.equal((await from(other, a, 'GET', '/v1/endpoints', tenant.key)).status, 200);
  assert.equal((await from(other, b, 'GET', '/v1/endpoints', tenant.key)).status, 200);
});

void test('publishing is limited per tenant across instances: 429 with Retry-After and RateLimit headers; another tenant is unaffected', async () => {
  const busy = await createTenant(a);
  const calm = await createTenant(a);
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', '/v1/events', busy.key, { type: 'lead.created', data: { i } })),
  );
  const accepted = results.filter((r) => r.status === 202);
  const throttled = results.filter((r) => r.status === 429);
  console.log(`[access] 20 concurrent publishes at 5/s over two instances: ${accepted.length} accepted, ${throttled.length} throttled`);
  assert.equal(accepted.length + throttled.length, 20);
  // A fixed one-second window: a burst can straddle two windows, never more.
  assert.ok(accepted.length >= 5 && accepted.length <= 10, `${accepted.length} accepted`);
  const t = throttled[0]!;
  assert.equal(t.body.error.code, 'rate_limited');
  assert.ok(Number(t.headers.get('retry-after')) >= 1);
  assert.equal(t.headers.get('ratelimit-limit'), '5');
  assert.equal(t.headers.get('ratelimit-remaining'), '0');
  assert.equal(accepted[0]!.headers.get('ratelimit-limit'), '5');
  assert.equal((await call(b, 'POST', '/v1/events', calm.key, { type: 'lead.created', data: {} })).status, 202);
});
