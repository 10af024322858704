// The receiver package (packages/anvil-webhooks) against real deliveries of the running service: a mixed
// run — an Anvil-signed endpoint behind the package's Express middleware, a Standard Webhooks endpoint
// behind its node:http handler, a secret rotated midway — verifies every delivery (with the new secret,
// and with the old one while it is still valid), refuses them with another secret or a changed byte; the
// idempotency helper runs a re-sent event once; classic data encrypted with the organization's key
// decrypts back to what was published.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import express from 'express';
import { anvilExpress, anvilNodeHandler, createIdempotency, decryptClassicData, eventIdOf, verify } from '../../packages/anvil-webhooks/src/index.js';
import { startReceiver, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';

let stack: Stack;
const closers: (() => Promise<void>)[] = [];
before(async () => {
  stack = await startStack();
});
after(async () => {
  await Promise.all(closers.map((c) => c()));
  await stack.close();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

interface Envelope {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

void test('a mixed run, rotation included: the middleware verifies every delivery; another secret or a changed byte fails', async () => {
  const tenant = await createTenant(stack);
  // The secrets are known only once the endpoints exist: the servers read them when a request comes.
  const secrets: { anvil: string[]; standard: string[] } = { anvil: [], standard: [] };
  const viaExpress: Envelope[] = [];
  const viaNode: Envelope[] = [];
  const processed: string[] = [];
  const once = createIdempotency();
  const app = express();
  app.post('/hook', (req, res, next) => anvilExpress({ secret: secrets.anvil })(req, res, next), async (req, res) => {
    const event = req.body as Envelope;
    viaExpress.push(event);
    await once(eventIdOf(req.headers)!, () => processed.push(event.id));
    res.status(204).end();
  });
  const expressUrl = await serve(app);
  const nodeUrl = await serve((req, res) =>
    anvilNodeHandler<Envelope>({ secret: secrets.standard }, (event) => {
      viaNode.push(event);
    })(req, res),
  );
  // A recorder beside them keeps the raw bytes, to check them again with the package's verify().
  const raw: Receiver = await startReceiver();
  closers.push(() => raw.close());

  const anvilEp = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: expressUrl, events: ['lead.created', 'lead.stage_changed'] });
  const standardEp = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: nodeUrl, events: ['lead.created'], signature_scheme: 'standard-webhooks' });
  const rawEp = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: raw.url, events: ['lead.created'] });
  assert.equal(anvilEp.status, 201, JSON.stringify(anvilEp.body));
  assert.equal(standardEp.status, 201, JSON.stringify(standardEp.body));
  secrets.anvil.push(anvilEp.body.secret);
  secrets.standard.push(standardEp.body.secret);

  const publish = async (type: string, data: Record<string, unknown>) => {
    const res = await call(stack, 'POST', '/v1/events', tenant.key, { type, data });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body as Envelope;
  };
  const before = [
    await publish('lead.created', { name: 'Zoë — 東京 🚀', n: 1 }),
    await publish('lead.stage_changed', { stage: 'won', n: 2 }),
    await publish('lead.created', { n: 3, nested: { a: [true, null, 2.5] } }),
  ];
  await eventually(async () => (viaExpress.length === 3 && viaNode.length === 2 ? true : undefined), 20_000, 'the first three deliveries');

  // Rotation: deliveries carry a v1 for each secret; a receiver still holding only the old one verifies.
  const rotatedAnvil = await call(stack, 'POST', `/v1/endpoints/${anvilEp.body.id}/rotate-secret`, tenant.key);
  const rotatedStandard = await call(stack, 'POST', `/v1/endpoints/${standardEp.body.id}/rotate-secret`, tenant.key);
  const rotatedRaw = await call(stack, 'POST', `/v1/endpoints/${rawEp.body.id}/rotate-secret`, tenant.key);
  assert.equal(rotatedAnvil.status, 200, JSON.stringify(rotatedAnvil.body));
  const afterRotation = [await publish('lead.created', { n: 4 }), await publish('lead.stage_changed', { n: 5 })];
  await eventually(async () => (viaExpress.length === 5 && viaNode.length === 3 ? true : undefined), 20_000, 'the deliveries after the rotation');
  // The receivers switch to the new secrets: still verified.
  secrets.anvil.splice(0, 1, rotatedAnvil.body.secret);
  secrets.standard.splice(0, 1, rotatedStandard.body.secret);
  const last = await publish('lead.created', { n: 6 });
  await eventually(async () => (viaExpress.length === 6 && viaNode.length === 4 ? true : undefined), 20_000, 'the last deliveries');

  const all = [...before, ...afterRotation, last];
  // Deliveries of events published one after the other may arrive in either order (no ordering is
  // promised, as with every webhook provider): compare them sorted by id.
  const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  const ids = (list: string[]) => [...list].sort();
  assert.deepEqual(byId(viaExpress).map((e) => e.id), byId(all).map((e) => e.id), 'every delivery verified, parsed, handed to the route');
  assert.deepEqual(byId(viaExpress), byId(all), 'req.body is the envelope as published');
  assert.deepEqual(byId(viaNode).map((e) => e.id), byId(all.filter((e) => e.type === 'lead.created')).map((e) => e.id));
  assert.deepEqual(ids(processed), ids(all.map((e) => e.id)));

  // Nothing was refused: every endpoint's log shows only 2xx first attempts.
  for (const e of all) {
    const d = await eventually(async () => {
      const r = await call(stack, 'GET', `/v1/deliveries/${e.id}:${anvilEp.body.id}`, tenant.key);
      return r.body?.status === 'succeeded' ? r.body : undefined;
    });
    assert.deepEqual(d.attempts.map((a: { status_code: number }) => a.status_code), [204]);
  }

  // The raw bytes: verify() with the secret of the moment, never with another secret or a changed byte.
  const got = await raw.waitFor(4);
  const oldSecret = rawEp.body.secret as string;
  const newSecret = rotatedRaw.body.secret as string;
  got.forEach((req, i) => {
    const sig = req.headers['anvil-signature'] as string;
    assert.equal(verify(req.rawBody, req.headers, i < 2 ? oldSecret : newSecret), true, `delivery ${i + 1}`);
    assert.equal(verify(req.rawBody, req.headers, oldSecret), true, `delivery ${i + 1} with the old secret (still valid)`);
    assert.equal(sig.split(',').filter((p) => p.startsWith('v1=')).length, i < 2 ? 1 : 2);
    assert.equal(verify(req.rawBody, req.headers, secrets.standard[0]!), false);
    assert.equal(verify(req.rawBody.replace('"n":', '"n" :'), req.headers, oldSecret), false);
    assert.equal(verify(req.rawBody, req.headers, oldSecret, { now: Math.floor(Date.now() / 1000) + 301 }), false, 'stale');
  });

  // A re-send from the delivery log: same event id, the handler's work is not done twice.
  const resent = await call(stack, 'POST', `/v1/deliveries/${last.id}:${anvilEp.body.id}/retry`, tenant.key);
  assert.ok([200, 202].includes(resent.status), JSON.stringify(resent.body));
  await eventually(async () => (viaExpress.length === 7 ? true : undefined), 20_000, 'the re-sent delivery');
  assert.equal(viaExpress[6]!.id, last.id);
  assert.deepEqual(ids(processed), ids(all.map((e) => e.id)), 'processed once');
});

void test('the Express middleware answers 400 to a request that is not a delivery, and never calls the route', async () => {
  let called = 0;
  const app = express();
  app.post('/hook', anvilExpress({ secret: 'whsec_' + 'A'.repeat(44) }), (_req, res) => {
    called++;
    res.status(204).end();
  });
  const url = await serve(app);
  for (const headers of [{} as Record<string, string>, { 'anvil-signature': 'garbage' }, { 'anvil-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` }]) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"id":"evt_x"}' });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'invalid signature' });
  }
  assert.equal(called, 0);
});

void test('classic data encrypted with the organization key: decryptClassicData returns what was published', async () => {
  const hook = await startReceiver();
  closers.push(() => hook.close());
  const tenant = await createTenant(stack);
  const settings = await call(stack, 'PUT', '/v1/webhook-settings', tenant.key, { enabled: true, url: hook.url });
  assert.equal(settings.status, 200, JSON.stringify(settings.body));
  const keypair = await call(stack, 'POST', '/v1/webhook-settings/keypair', tenant.key);
  assert.equal(keypair.status, 201, JSON.stringify(keypair.body));
  const data = { eid: 'pkt_ü', signer: 'Zoë Ünïcödé — 東京 🚀', rows: Array.from({ length: 300 }, (_, i) => ({ i, t: 'x'.repeat(40) })) };
  const published = await call(stack, 'POST', '/v1/actions', tenant.key, { action: 'etchPacketComplete', data });
  assert.equal(published.status, 202, JSON.stringify(published.body));
  const [req] = await hook.waitFor(1);
  const body = JSON.parse(req!.rawBody) as { action: string; token: string; data: unknown };
  assert.equal(body.action, 'etchPacketComplete');
  assert.equal(body.token, settings.body.token);
  assert.equal(typeof body.data, 'string');
  assert.deepEqual(decryptClassicData(body.data, keypair.body.private_key), data);

  // Without a keypair the same call returns the plain object.
  await call(stack, 'DELETE', '/v1/webhook-settings/keypair', tenant.key);
  await call(stack, 'POST', '/v1/actions', tenant.key, { action: 'signerComplete', data: { plain: 'é' } });
  const [, plain] = await hook.waitFor(2);
  assert.deepEqual(decryptClassicData((JSON.parse(plain!.rawBody) as { data: unknown }).data, keypair.body.private_key), { plain: 'é' });
});
