// Classic webhook settings and validation on the real API (with Temporal and Postgres): fresh settings are
// disabled with no token; enabling makes a ≥ 24-alphanumeric token that survives disable/enable and URL
// changes; keypair generation answers SPKI + PKCS#8 PEMs of one RSA-2048 pair and GET never shows a private
// key; a valid public key uploads, DELETE removes it; malformed PEMs, private keys, 1024-bit keys, unknown
// actions or object types, non-object data and a non-boolean isTest are 400s naming the field and start
// nothing; another tenant sees neither the object URLs nor the settings (404 / its own empty settings).
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, type ApiResponse, startStack, type Stack } from '../support/stack';

let stack: Stack;
const receivers: Receiver[] = [];

before(async () => {
  stack = await startStack();
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

const HOOK = 'http://127.0.0.1:9/hook'; // never called: these tests stop before delivery
const TOKEN = /^[A-Za-z0-9]{24,}$/;
const SPKI_PEM = /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/;
const PKCS8_PEM = /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n?$/;

/** A 400 whose details name `path`; returns the detail. */
function assertNames(res: ApiResponse, path: string): { path: string; message: string } {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  const details = (res.body?.error?.details ?? []) as { path: string; message: string }[];
  const detail = details.find((d) => d.path === path);
  assert.ok(detail, `details name ${path}: ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body.error.code, 'string');
  assert.ok(detail.message.length > 0);
  return detail;
}

const der = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

void test('settings: disabled with no token at first; enabling makes a token that stays through disable, enable and URL changes', async () => {
  const tenant = await createTenant(stack);
  const fresh = await call(stack, 'GET', '/v1/webhook-settings', tenant.key);
  assert.equal(fresh.status, 200);
  assert.deepEqual(fresh.body, { enabled: false, url: null, token: null, public_key: null });

  const on = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: HOOK });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.equal(on.body.enabled, true);
  assert.equal(on.body.url, HOOK);
  assert.match(on.body.token, TOKEN);
  const token = on.body.token as string;
  assert.deepEqual((await call(stack, 'GET', '/v1/webhook-settings', tenant.key)).body, { enabled: true, url: HOOK, token, public_key: null });

  const off = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: false });
  assert.equal(off.status, 200);
  assert.deepEqual(off.body, { enabled: false, url: HOOK, token, public_key: null }, 'disabling keeps URL and token');
  const back = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true });
  assert.deepEqual(back.body, { enabled: true, url: HOOK, token, public_key: null });
  const moved = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: 'http://127.0.0.1:9/other' });
  assert.deepEqual(moved.body, { enabled: true, url: 'http://127.0.0.1:9/other', token, public_key: null });
  const cleared = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: null });
  assert.deepEqual(cleared.body, { enabled: true, url: null, token, public_key: null });
  assert.deepEqual((await call(stack, 'GET', '/v1/webhook-settings', tenant.key)).body, cleared.body);

  // Two organizations never share a token.
  const other = await createTenant(stack);
  const otherOn = await call(stack, 'PUT', '/v1/webhook-settings', other.key, { enabled: true, url: HOOK });
  assert.match(otherOn.body.token, TOKEN);
  assert.notEqual(otherOn.body.token, token);

  // Bad settings input names the field.
  assertNames(await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: 'yes', url: HOOK }), 'enabled');
  assertNames(await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: 'not a url' }), 'url');
  assertNames(await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: 'ftp://127.0.0.1/x' }), 'url');
});

void test('keypair: 201 with an SPKI public and PKCS#8 private PEM of one RSA-2048 pair; GET shows only the public key; upload and DELETE', async () => {
  const tenant = await createTenant(stack);
  const res = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['private_key', 'public_key']);
  assert.match(res.body.public_key, SPKI_PEM);
  assert.match(res.body.private_key, PKCS8_PEM);
  const pub = createPublicKey(res.body.public_key as string);
  assert.equal(pub.asymmetricKeyType, 'rsa');
  assert.equal(pub.asymmetricKeyDetails?.modulusLength, 2048);
  const derived = createPublicKey(createPrivateKey(res.body.private_key as string));
  assert.equal(derived.export({ type: 'spki', format: 'der' }).toString('base64'), der(res.body.public_key as string), 'the private key belongs to the public key');

  const shown = await call(stack, 'GET', '/v1/webhook-settings', tenant.key);
  assert.equal(shown.status, 200);
  assert.equal(shown.body.public_key, res.body.public_key);
  assert.deepEqual(Object.keys(shown.body).sort(), ['enabled', 'public_key', 'token', 'url']);
  assert.ok(!JSON.stringify(shown.body).includes('PRIVATE'), 'no private key in the settings');
  // Enabling afterwards keeps the key and never shows the private one.
  const on = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: HOOK });
  assert.equal(on.body.public_key, res.body.public_key);
  assert.match(on.body.token, TOKEN, 'a keypair made before enabling does not stop the token being made');
  assert.ok(!JSON.stringify(on.body).includes('PRIVATE'));

  // Upload a 2048-bit SPKI key of our own: 200, it replaces the generated one.
  const own = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const put = await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key: own.publicKey });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.match(put.body.public_key, SPKI_PEM);
  assert.equal(der(put.body.public_key as string), der(own.publicKey));
  assert.equal(put.body.token, on.body.token);
  assert.ok(!JSON.stringify(put.body).includes('PRIVATE'));
  assert.equal(der((await call(stack, 'GET', '/v1/webhook-settings', tenant.key)).body.public_key as string), der(own.publicKey));

  // A PKCS#1 ("RSA PUBLIC KEY") upload is the same key, stored and shown as SPKI PEM.
  const pkcs1 = createPublicKey(own.publicKey).export({ type: 'pkcs1', format: 'pem' }) as string;
  const putPkcs1 = await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key: pkcs1 });
  assert.equal(putPkcs1.status, 200, JSON.stringify(putPkcs1.body));
  assert.match(putPkcs1.body.public_key, SPKI_PEM);
  assert.equal(der(putPkcs1.body.public_key as string), der(own.publicKey));

  // DELETE keypair: 204, then no key (delivery of plain data afterwards: classic-delivery.test.ts).
  const del = await call(stack, 'DELETE', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(del.status, 204);
  const gone = await call(stack, 'GET', '/v1/webhook-settings', tenant.key);
  assert.equal(gone.body.public_key, null);
  assert.equal(gone.body.enabled, true);
  assert.equal(gone.body.token, on.body.token);
});

void test('public-key upload refuses a malformed PEM, a private key and a 1024-bit key, naming public_key, and keeps the old key', async () => {
  const tenant = await createTenant(stack);
  const good = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  assert.equal((await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key: good.publicKey })).status, 200);

  const short = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const truncated = good.publicKey.slice(0, 120) + '\n-----END PUBLIC KEY-----\n';
  const cases: [string, unknown, RegExp][] = [
    ['not PEM at all', 'hello', /PEM/i],
    ['a truncated PEM', truncated, /./],
    ['a PEM with garbage base64', '-----BEGIN PUBLIC KEY-----\nAAAAnotakey\n-----END PUBLIC KEY-----\n', /./],
    ['an empty string', '', /./],
    ['the PKCS#8 private key', good.privateKey, /private/i],
    ['a PKCS#1 private key', short.privateKey, /private/i],
    ['a 1024-bit public key', short.publicKey, /1024|2048|bits/],
  ];
  for (const [what, public_key, message] of cases) {
    const res = await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key });
    const detail = assertNames(res, 'public_key');
    assert.match(`${res.body.error.message} ${detail.message}`, message, what);
  }
  assertNames(await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key: 42 }), 'public_key');
  assertNames(await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, {}), 'public_key');
  const after = await call(stack, 'GET', '/v1/webhook-settings', tenant.key);
  assert.equal(der(after.body.public_key as string), der(good.publicKey), 'refused uploads leave the key as it was');
});

void test('refused actions are 400s naming the field and start nothing', async () => {
  const hook = await startReceiver();
  receivers.push(hook);
  const tenant = await createTenant(stack);
  assert.equal((await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: hook.url })).status, 200);

  const cases: [string, Record<string, unknown>, string][] = [
    ['unknown action', { action: 'weldExplode', data: {} }, 'action'],
    ['missing action', { data: {} }, 'action'],
    ['unknown object type', { action: 'weldComplete', object: { type: 'cast', eid: 'c1' }, data: {} }, 'object.type'],
    ['object without eid', { action: 'weldComplete', object: { type: 'weld-data' }, data: {} }, 'object.eid'],
    ['data is an array', { action: 'weldComplete', data: [1, 2] }, 'data'],
    ['data is a string', { action: 'weldComplete', data: 'hello' }, 'data'],
    ['data is null', { action: 'weldComplete', data: null }, 'data'],
    ['data missing', { action: 'weldComplete' }, 'data'],
    ['isTest is a string', { action: 'webhookTest', data: { isTest: 'true' } }, 'data.isTest'],
    ['isTest is a number', { action: 'webhookTest', data: { isTest: 1 } }, 'data.isTest'],
  ];
  for (const [what, body, path] of cases) {
    const id = `evt_refused${Math.random().toString(36).slice(2, 12)}`;
    const res = await call(stack, 'POST', '/v1/actions', tenant.key, { id, ...body });
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
    assertNames(res, path);
    // Nothing was accepted: no event row, no workflow.
    assert.equal((await call(stack, 'GET', `/v1/events/${id}`, tenant.key)).status, 404, what);
    await assert.rejects(stack.client.workflow.getHandle(id).describe(), what);
  }
  // Object URL routes validate the type and the URL too.
  assertNames(await call(stack, 'PUT', '/v1/objects/cast/c1/webhook-url', tenant.key, { url: HOOK }), 'type');
  assertNames(await call(stack, 'DELETE', '/v1/objects/cast/c1/webhook-url', tenant.key), 'type');
  assertNames(await call(stack, 'PUT', '/v1/objects/etch-packet/p1/webhook-url', tenant.key, { url: 'nope' }), 'url');
  assertNames(await call(stack, 'PUT', '/v1/objects/etch-packet/p1/webhook-url', tenant.key, {}), 'url');

  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(hook.requests.length, 0, 'no refused action was delivered');
});

void test("tenant isolation: another tenant sees neither the object URLs nor the settings, and its actions don't use them", async () => {
  const [aStatic, aObject, bStatic] = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
  receivers.push(aStatic, aObject, bStatic);
  const a = await createTenant(stack);
  const b = await createTenant(stack);
  const aOn = await call(stack, 'PUT', '/v1/webhook-settings', a.key, { enabled: true, url: aStatic.url });
  assert.equal((await call(stack, 'POST', '/v1/webhook-settings/keypair', a.key)).status, 201);
  assert.equal((await call(stack, 'PUT', '/v1/objects/etch-packet/shared_eid/webhook-url', a.key, { url: aObject.url })).status, 200);

  // B's own settings are empty; A's object URL is a 404 for B, and B cannot delete or see it.
  assert.deepEqual((await call(stack, 'GET', '/v1/webhook-settings', b.key)).body, { enabled: false, url: null, token: null, public_key: null });
  assert.equal((await call(stack, 'GET', '/v1/objects/etch-packet/shared_eid/webhook-url', b.key)).status, 404);
  assert.equal((await call(stack, 'DELETE', '/v1/objects/etch-packet/shared_eid/webhook-url', b.key)).status, 404);
  assert.equal((await call(stack, 'GET', '/v1/objects/etch-packet/shared_eid/webhook-url', a.key)).body.url, aObject.url);
  // A tenant key naming the other tenant is refused, not served.
  const cross = await call(stack, 'GET', `/v1/webhook-settings?tenant_id=${a.id}`, b.key);
  assert.ok(cross.status === 403 || cross.status === 404, `cross-tenant read answered ${cross.status}`);
  assert.ok(!JSON.stringify(cross.body).includes(aOn.body.token as string));
  // Changing B's settings leaves A's untouched; B gets its own token.
  const bOn = await call(stack, 'PUT', '/v1/webhook-settings', b.key, { enabled: true, url: bStatic.url });
  assert.notEqual(bOn.body.token, aOn.body.token);
  assert.equal(bOn.body.public_key, null);
  const aNow = await call(stack, 'GET', '/v1/webhook-settings', a.key);
  assert.equal(aNow.body.url, aStatic.url);
  assert.equal(aNow.body.token, aOn.body.token);
  assert.match(aNow.body.public_key, SPKI_PEM);
  // The admin key acting for B sees B's settings only.
  const admin = await call(stack, 'GET', `/v1/webhook-settings?tenant_id=${b.id}`, stack.adminKey);
  assert.equal(admin.body.token, bOn.body.token);

  // B's action for the same object eid goes to B's static URL, with B's token and plain data.
  const data = { eid: 'shared_eid', from: 'b' };
  const res = await call(stack, 'POST', '/v1/actions', b.key, { action: 'etchPacketComplete', object: { type: 'etch-packet', eid: 'shared_eid' }, data });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const [req] = await bStatic.waitFor(1);
  assert.equal(req!.rawBody, JSON.stringify({ action: 'etchPacketComplete', token: bOn.body.token, data }));
  // A cannot see B's event or delivery.
  assert.equal((await call(stack, 'GET', `/v1/events/${res.body.id as string}`, a.key)).status, 404);
  assert.equal((await call(stack, 'GET', `/v1/deliveries/${res.body.id as string}:classic`, a.key)).status, 404);
  assert.equal((await call(stack, 'GET', `/v1/deliveries/${res.body.id as string}:classic`, b.key)).status, 200);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(aObject.requests.length, 0);
  assert.equal(aStatic.requests.length, 0);
});
