// Classic actions on the wire, on the real stack (API + worker + Temporal dev server + Postgres + loopback
// receivers): the body is exactly `{action, token, data}` with the settings token and the documented
// headers; with a keypair `data` decrypts with Anvil's published `decryptRSA` back to the published data
// (non-ASCII text, a 100 KB object, a generated or an uploaded key), without one (or after DELETE keypair)
// it is the plain object; per-object URLs (etch-packet, weld-data) take the action instead of the static
// URL until removed; an always-503 receiver gets exactly 5 byte-identical attempts (data encrypted once)
// and the delivery log shows `failed` with 5 attempts; the settings Test button reaches only the static
// URL (409 without one); nothing configured means no delivery at all; a repeated action id is delivered once.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver';
import { call, createTenant, deliveriesStartedFor, eventually, fastPolicies, startStack, type Stack } from '../support/stack';

// @anvilco/encryption ships no type declarations: load the real published decryptor and type the one call.
const { decryptRSA } = createRequire(__filename)('@anvilco/encryption') as {
  decryptRSA: (privateKeyPem: string, encrypted: string) => string;
};

const VERSION = (JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
const ENCRYPTED = /^[A-Za-z0-9+/]+={0,2}:[0-9a-f]{32}:[0-9a-f]+$/;

let stack: Stack;
const receivers: Receiver[] = [];

before(async () => {
  stack = await startStack({ policies: fastPolicies });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

/** A tenant with webhooks enabled on `url` (or enabled without a static URL when url is null). */
async function classicTenant(url: string | null): Promise<{ id: string; key: string; token: string }> {
  const tenant = await createTenant(stack);
  const res = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, url === null ? { enabled: true } : { enabled: true, url });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.match(res.body.token, /^[A-Za-z0-9]{24,}$/);
  return { ...tenant, token: res.body.token as string };
}

async function publishAction(key: string, body: Record<string, unknown>): Promise<string> {
  const res = await call(stack, 'POST', '/v1/actions', key, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body.id, /^evt_[A-Za-z0-9]{8,64}$/);
  return res.body.id as string;
}

/** The delivery ids the action fanned out to, once its eventWorkflow completed. */
const fannedOut = (eventId: string) => deliveriesStartedFor(stack, eventId);

async function deliveryDone(key: string, deliveryId: string) {
  return eventually(
    async () => {
      const res = await call(stack, 'GET', `/v1/deliveries/${deliveryId}`, key);
      return res.status === 200 && ['succeeded', 'failed', 'canceled'].includes(res.body.status) ? res.body : undefined;
    },
    30_000,
    `delivery ${deliveryId} to finish`,
  );
}

interface ClassicBody {
  action: string;
  token: string;
  data: unknown;
}

/** What the contract promises about one classic request: method, headers, exactly {action, token, data}. */
function classicBody(req: ReceivedRequest, action: string, token: string): ClassicBody {
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/hook');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['user-agent'], `anvil-webhooks/${VERSION}`);
  const body = JSON.parse(req.rawBody) as ClassicBody;
  assert.deepEqual(Object.keys(body), ['action', 'token', 'data'], 'body keys in the documented order');
  assert.equal(body.action, action);
  assert.equal(body.token, token, 'token is the organization settings token');
  return body;
}

/** Lets deliveries that should not happen have time to show up. */
const settle = (ms = 1500) => new Promise((r) => setTimeout(r, ms));

void test('plain data without a keypair; encrypted data that decryptRSA reads back exactly (non-ASCII, 100 KB); plain again after DELETE keypair', async () => {
  const hook = await receiver();
  const tenant = await classicTenant(hook.url);

  // No keypair: data is the published JSON object, and the bytes are exactly {action, token, data}.
  const plainData = { eid: 'weld_1', name: 'Zoë — 東京 🚀', nested: { z: 1, a: [true, null, 2.5] } };
  await publishAction(tenant.key, { action: 'weldComplete', data: plainData });
  const [plainReq] = await hook.waitFor(1);
  const plain = classicBody(plainReq!, 'weldComplete', tenant.token);
  assert.deepEqual(plain.data, plainData);
  assert.equal(plainReq!.rawBody, JSON.stringify({ action: 'weldComplete', token: tenant.token, data: plainData }));

  // A generated keypair: the private key decrypts what arrives.
  const keypair = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(keypair.status, 201, JSON.stringify(keypair.body));
  const privateKey = keypair.body.private_key as string;

  const nonAscii = { eid: 'pkt_ü', signer: 'Zoë Ünïcödé — 東京 🚀', note: 'line\nbreak "quoted" \\ back\u0000slash', n: 42 };
  const big = {
    eid: 'pkt_big',
    rows: Array.from({ length: 1100 }, (_, i) => ({ i, text: `row ${i} ${'x'.repeat(60)} é東🚀` })),
  };
  const bigJson = JSON.stringify(big);
  assert.ok(Buffer.byteLength(bigJson) >= 100 * 1024, `test data is ${Buffer.byteLength(bigJson)} bytes`);

  await publishAction(tenant.key, { action: 'signerComplete', data: nonAscii });
  await hook.waitFor(2);
  await publishAction(tenant.key, { action: 'etchPacketComplete', data: big });
  const got = await hook.waitFor(3);

  const signer = classicBody(got[1]!, 'signerComplete', tenant.token);
  assert.equal(typeof signer.data, 'string', 'data is a string when the organization has a keypair');
  assert.match(signer.data as string, ENCRYPTED);
  assert.ok(!got[1]!.rawBody.includes('Zoë'), 'the plaintext is not on the wire');
  const signerPlain = decryptRSA(privateKey, signer.data as string);
  assert.equal(signerPlain, JSON.stringify(nonAscii), 'decrypts to exactly the published JSON');
  assert.deepEqual(JSON.parse(signerPlain), nonAscii);

  const packet = classicBody(got[2]!, 'etchPacketComplete', tenant.token);
  assert.match(packet.data as string, ENCRYPTED);
  const packetPlain = decryptRSA(privateKey, packet.data as string);
  assert.equal(packetPlain, bigJson);
  assert.deepEqual(JSON.parse(packetPlain), big);

  // DELETE keypair: the next action's data is plain JSON again.
  const removed = await call(stack, 'DELETE', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(removed.status, 204);
  const after = { eid: 'weld_2', done: true };
  await publishAction(tenant.key, { action: 'weldCreate', data: after });
  const [, , , afterReq] = await hook.waitFor(4);
  assert.equal(afterReq!.rawBody, JSON.stringify({ action: 'weldCreate', token: tenant.token, data: after }));
  await settle(500);
  assert.equal(hook.requests.length, 4);
});

void test('an uploaded 2048-bit public key encrypts data that its own private key decrypts with decryptRSA', async () => {
  const hook = await receiver();
  const tenant = await classicTenant(hook.url);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const put = await call(stack, 'PUT', '/v1/webhook-settings/public-key', tenant.key, { public_key: publicKey });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const data = { eid: 'pkt_upload', text: 'ça marche — ✓' };
  await publishAction(tenant.key, { action: 'etchPacketComplete', object: { type: 'etch-packet', eid: 'pkt_upload' }, data });
  const [req] = await hook.waitFor(1);
  const body = classicBody(req!, 'etchPacketComplete', tenant.token);
  assert.match(body.data as string, ENCRYPTED);
  assert.equal(decryptRSA(privateKey, body.data as string), JSON.stringify(data));
  // The stored key is the same key (SPKI PEM).
  const settings = await call(stack, 'GET', '/v1/webhook-settings', tenant.key);
  assert.equal(
    createPublicKey(settings.body.public_key as string).export({ type: 'spki', format: 'der' }).toString('base64'),
    createPublicKey(publicKey).export({ type: 'spki', format: 'der' }).toString('base64'),
  );
});

void test('per-object URLs (etch-packet, weld-data) take the action instead of the static URL until removed', async () => {
  const [staticHook, packetHook, weldHook] = await Promise.all([receiver(), receiver(), receiver()]);
  const tenant = await classicTenant(staticHook.url);

  const putPacket = await call(stack, 'PUT', '/v1/objects/etch-packet/pkt_A1/webhook-url', tenant.key, { url: packetHook.url });
  assert.equal(putPacket.status, 200, JSON.stringify(putPacket.body));
  assert.deepEqual(putPacket.body, { type: 'etch-packet', eid: 'pkt_A1', url: packetHook.url });
  const putWeld = await call(stack, 'PUT', '/v1/objects/weld-data/weld_A1/webhook-url', tenant.key, { url: weldHook.url });
  assert.equal(putWeld.status, 200, JSON.stringify(putWeld.body));
  const getPacket = await call(stack, 'GET', '/v1/objects/etch-packet/pkt_A1/webhook-url', tenant.key);
  assert.equal(getPacket.status, 200);
  assert.equal(getPacket.body.url, packetHook.url);

  const packetData = { eid: 'pkt_A1', status: 'completed' };
  const weldData = { eid: 'weld_A1', status: 'completed' };
  await publishAction(tenant.key, { action: 'etchPacketComplete', object: { type: 'etch-packet', eid: 'pkt_A1' }, data: packetData });
  await publishAction(tenant.key, { action: 'weldComplete', object: { type: 'weld-data', eid: 'weld_A1' }, data: weldData });
  // Same eid under the other object type: no URL of its own, so the static URL.
  const crossData = { eid: 'pkt_A1', kind: 'weld-data with an etch-packet eid' };
  await publishAction(tenant.key, { action: 'weldCreate', object: { type: 'weld-data', eid: 'pkt_A1' }, data: crossData });

  const [packetReq] = await packetHook.waitFor(1);
  assert.equal(packetReq!.rawBody, JSON.stringify({ action: 'etchPacketComplete', token: tenant.token, data: packetData }));
  const [weldReq] = await weldHook.waitFor(1);
  assert.equal(weldReq!.rawBody, JSON.stringify({ action: 'weldComplete', token: tenant.token, data: weldData }));
  const [crossReq] = await staticHook.waitFor(1);
  assert.deepEqual(JSON.parse(crossReq!.rawBody), { action: 'weldCreate', token: tenant.token, data: crossData });
  await settle();
  assert.equal(staticHook.requests.length, 1, 'the static URL got only the action without an object URL');
  assert.equal(packetHook.requests.length, 1);
  assert.equal(weldHook.requests.length, 1);

  // Removed: the next action for the object goes to the static URL.
  const del = await call(stack, 'DELETE', '/v1/objects/etch-packet/pkt_A1/webhook-url', tenant.key);
  assert.equal(del.status, 204);
  assert.equal((await call(stack, 'GET', '/v1/objects/etch-packet/pkt_A1/webhook-url', tenant.key)).status, 404);
  assert.equal((await call(stack, 'DELETE', '/v1/objects/etch-packet/pkt_A1/webhook-url', tenant.key)).status, 404);
  const again = { eid: 'pkt_A1', status: 'completed again' };
  await publishAction(tenant.key, { action: 'etchPacketComplete', object: { type: 'etch-packet', eid: 'pkt_A1' }, data: again });
  const [, staticReq] = await staticHook.waitFor(2);
  assert.equal(staticReq!.rawBody, JSON.stringify({ action: 'etchPacketComplete', token: tenant.token, data: again }));
  await settle();
  assert.equal(packetHook.requests.length, 1, 'the removed object URL gets nothing more');
  assert.equal(staticHook.requests.length, 2);
});

void test('an always-503 receiver gets exactly 5 byte-identical attempts (data encrypted once); the log shows failed with 5 attempts', async () => {
  const failing = await receiver(() => ({ status: 503, body: 'unavailable' }));
  const tenant = await classicTenant(failing.url);
  const keypair = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(keypair.status, 201);
  const data = { eid: 'pkt_503', signer: 'Zoë' };
  const id = await publishAction(tenant.key, { action: 'etchPacketComplete', data });
  assert.deepEqual(await fannedOut(id), [`${id}:classic`]);

  const delivery = await deliveryDone(tenant.key, `${id}:classic`);
  assert.equal(delivery.status, 'failed');
  assert.equal(delivery.attempts.length, 5, JSON.stringify(delivery.attempts));
  assert.deepEqual(
    delivery.attempts.map((a: { attempt: number; status_code: number }) => [a.attempt, a.status_code]),
    [1, 2, 3, 4, 5].map((n) => [n, 503]),
  );
  assert.equal(delivery.event_id, id);
  assert.equal(delivery.endpoint_id, 'classic');
  assert.equal(delivery.event_type, 'etchPacketComplete');
  assert.equal(delivery.last_status_code, 503);
  assert.equal(delivery.next_attempt_at, null);

  await settle();
  assert.equal(failing.requests.length, 5, 'exactly 5 attempts reached the receiver');
  const first = failing.requests[0]!;
  const body = classicBody(first, 'etchPacketComplete', tenant.token);
  assert.match(body.data as string, ENCRYPTED);
  assert.equal(decryptRSA(keypair.body.private_key as string, body.data as string), JSON.stringify(data));
  for (const req of failing.requests) assert.equal(req.rawBody, first.rawBody, 'every attempt sends the same bytes');
  // The fast classic policy waits 200/400/600/800 ms: the attempts are spread out, not a burst.
  const gaps = failing.requests.slice(1).map((r, i) => r.at - failing.requests[i]!.at);
  gaps.forEach((gap, i) => assert.ok(gap >= (fastPolicies.classic as { delays: number[] }).delays[i]! - 50, `gap ${i + 1}: ${gap} ms`));
  // The list shows the same summary.
  const listed = await call(stack, 'GET', `/v1/deliveries?event_id=${id}`, tenant.key);
  assert.equal(listed.status, 200);
  assert.equal(listed.body.data.length, 1);
  assert.equal(listed.body.data[0].status, 'failed');
  assert.equal(listed.body.data[0].attempts, 5);
});

void test('POST /v1/webhook-settings/test: 202 and webhookTest reaches only the static URL; 409 without a static URL', async () => {
  const [staticHook, objectHook] = await Promise.all([receiver(), receiver()]);
  const tenant = await classicTenant(staticHook.url);
  assert.equal((await call(stack, 'PUT', '/v1/objects/etch-packet/pkt_T1/webhook-url', tenant.key, { url: objectHook.url })).status, 200);

  const res = await call(stack, 'POST', '/v1/webhook-settings/test', tenant.key);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body.id, /^evt_[A-Za-z0-9]{8,64}$/);
  const [req] = await staticHook.waitFor(1);
  const body = classicBody(req!, 'webhookTest', tenant.token);
  assert.equal(typeof body.data, 'object');
  assert.equal((await deliveryDone(tenant.key, `${res.body.id as string}:classic`)).status, 'succeeded');

  // A webhookTest published with an object that has its own URL still goes to the static URL.
  await publishAction(tenant.key, { action: 'webhookTest', object: { type: 'etch-packet', eid: 'pkt_T1' }, data: { isTest: true } });
  const [, second] = await staticHook.waitFor(2);
  assert.deepEqual(JSON.parse(second!.rawBody), { action: 'webhookTest', token: tenant.token, data: { isTest: true } });
  await settle();
  assert.equal(objectHook.requests.length, 0, 'an object URL never takes webhookTest');
  assert.equal(staticHook.requests.length, 2);

  // Enabled without a static URL (only an object URL): 409, nothing sent.
  const noStatic = await classicTenant(null);
  assert.equal((await call(stack, 'PUT', '/v1/objects/etch-packet/pkt_T2/webhook-url', noStatic.key, { url: objectHook.url })).status, 200);
  const conflict = await call(stack, 'POST', '/v1/webhook-settings/test', noStatic.key);
  assert.equal(conflict.status, 409, JSON.stringify(conflict.body));
  assert.equal(typeof conflict.body.error.message, 'string');
  // Never configured at all: 409 too.
  const fresh = await createTenant(stack);
  assert.equal((await call(stack, 'POST', '/v1/webhook-settings/test', fresh.key)).status, 409);
  await settle();
  assert.equal(objectHook.requests.length, 0);
});

void test('nothing configured: POST /v1/actions answers 202, the event shows deliveries: [] and no receiver gets anything', async () => {
  const [staticHook, objectHook] = await Promise.all([receiver(), receiver()]);
  const ids: [string, string][] = [];

  // Never configured.
  const fresh = await createTenant(stack);
  ids.push([fresh.key, await publishAction(fresh.key, { action: 'weldCreate', data: { eid: 'w1' } })]);

  // Configured (static URL, object URL), then disabled: neither URL gets anything.
  const disabled = await classicTenant(staticHook.url);
  assert.equal((await call(stack, 'PUT', '/v1/objects/weld-data/w2/webhook-url', disabled.key, { url: objectHook.url })).status, 200);
  const off = await call(stack, 'PUT', '/v1/webhook-settings', disabled.key, { enabled: false });
  assert.equal(off.status, 200);
  assert.equal(off.body.enabled, false);
  ids.push([disabled.key, await publishAction(disabled.key, { action: 'weldComplete', object: { type: 'weld-data', eid: 'w2' }, data: { eid: 'w2' } })]);
  ids.push([disabled.key, await publishAction(disabled.key, { action: 'weldComplete', data: { eid: 'w3' } })]);

  // Enabled without a static URL, and no URL for this object (another object has one).
  const noStatic = await classicTenant(null);
  assert.equal((await call(stack, 'PUT', '/v1/objects/weld-data/other/webhook-url', noStatic.key, { url: objectHook.url })).status, 200);
  ids.push([noStatic.key, await publishAction(noStatic.key, { action: 'weldComplete', object: { type: 'weld-data', eid: 'w4' }, data: { eid: 'w4' } })]);
  ids.push([noStatic.key, await publishAction(noStatic.key, { action: 'signerComplete', data: { eid: 'w5' } })]);

  for (const [key, id] of ids) {
    assert.deepEqual(await fannedOut(id), [], `${id} has no target`);
    const event = await call(stack, 'GET', `/v1/events/${id}`, key);
    assert.equal(event.status, 200, JSON.stringify(event.body));
    assert.equal(event.body.id, id);
    assert.deepEqual(event.body.deliveries, []);
  }
  await settle();
  assert.equal(staticHook.requests.length, 0);
  assert.equal(objectHook.requests.length, 0);
});

void test('the same action id twice: one delivery; the same payload again is a 200, another payload a 409', async () => {
  const hook = await receiver();
  const tenant = await classicTenant(hook.url);
  const id = `evt_classicdup${Date.now()}`;
  const first = await call(stack, 'POST', '/v1/actions', tenant.key, { id, action: 'weldComplete', data: { eid: 'dup', n: 1 } });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  assert.equal(first.body.id, id);
  const second = await call(stack, 'POST', '/v1/actions', tenant.key, { id, action: 'weldComplete', data: { eid: 'dup', n: 1 } });
  assert.ok(second.status === 200 || second.status === 202, `repeat answered ${second.status}`);
  assert.equal(second.body.id, id);
  const changed = await call(stack, 'POST', '/v1/actions', tenant.key, { id, action: 'weldComplete', data: { eid: 'dup', n: 2 } });
  assert.equal(changed.status, 409, JSON.stringify(changed.body));
  assert.equal(changed.body.error.details[0].path, 'id');

  const [req] = await hook.waitFor(1);
  assert.equal(req!.rawBody, JSON.stringify({ action: 'weldComplete', token: tenant.token, data: { eid: 'dup', n: 1 } }));
  assert.equal((await deliveryDone(tenant.key, `${id}:classic`)).status, 'succeeded');
  await settle();
  assert.equal(hook.requests.length, 1, 'delivered once');
  const listed = await call(stack, 'GET', `/v1/deliveries?event_id=${id}`, tenant.key);
  assert.equal(listed.body.data.length, 1);
  const event = await call(stack, 'GET', `/v1/events/${id}`, tenant.key);
  assert.equal(event.body.deliveries.length, 1);
});
