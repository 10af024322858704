// The Standard Webhooks option on the real stack: an endpoint created (or switched) with
// signature_scheme "standard-webhooks" receives webhook-id, webhook-timestamp and webhook-signature, and
// the `standardwebhooks` library's Webhook.verify accepts every delivery with the endpoint's secret
// (after a rotation, with the new or the old one); "anvil" stays the default; a secret from before the
// option must be rotated first (409); a wrong scheme is a 400 naming the field.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';
import { verify } from '../support/docs-snippet';

let stack: Stack;
const receivers: Receiver[] = [];
before(async () => {
  stack = await startStack();
});
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** What a Standard Webhooks receiver hands the library: the raw body and the headers as received. */
const libraryVerifies = (req: ReceivedRequest, secret: string) =>
  new Webhook(secret).verify(req.rawBody, req.headers as Record<string, string>) as Record<string, unknown>;

void test('standardwebhooks Webhook.verify accepts deliveries to an endpoint with the option on, rotation included', async () => {
  const tenant = await createTenant(stack);
  const r = await receiver();
  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, {
    url: r.url,
    events: ['lead.created'],
    signature_scheme: 'standard-webhooks',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.signature_scheme, 'standard-webhooks');
  const { id, secret } = created.body as { id: string; secret: string };
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${id}`, tenant.key)).body.signature_scheme, 'standard-webhooks');

  const first = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { name: 'Zoë ✓', n: 1 } });
  const [req] = await r.waitFor(1);
  assert.equal(req!.headers['webhook-id'], first.body.id);
  assert.match(req!.headers['webhook-timestamp'] as string, /^\d{10}$/);
  assert.match(req!.headers['webhook-signature'] as string, /^v1,[A-Za-z0-9+/]+=*$/);
  assert.equal(req!.headers['anvil-signature'], undefined, 'one scheme per endpoint');
  assert.deepEqual(libraryVerifies(req!, secret), first.body, 'the library returns the envelope as published');
  assert.throws(() => new Webhook(secret).verify(`${req!.rawBody} `, req!.headers as Record<string, string>));

  const rotated = await call(stack, 'POST', `/v1/endpoints/${id}/rotate-secret`, tenant.key);
  const second = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 2 } });
  const [, again] = await r.waitFor(2);
  assert.equal(again!.headers['webhook-id'], second.body.id);
  assert.match(again!.headers['webhook-signature'] as string, /^v1,\S+ v1,\S+$/, 'new and old secret both sign');
  assert.deepEqual(libraryVerifies(again!, rotated.body.secret), second.body);
  assert.deepEqual(libraryVerifies(again!, secret), second.body);

  const log = await eventually(async () => {
    const d = await call(stack, 'GET', `/v1/deliveries/${second.body.id}:${id}`, tenant.key);
    return d.body.status === 'succeeded' ? d.body : undefined;
  });
  assert.equal(log.attempts[0].status_code, 200);
});

void test('anvil is the default; switching an endpoint with PATCH changes the headers of the next delivery', async () => {
  const tenant = await createTenant(stack);
  const r = await receiver();
  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: r.url, events: ['lead.created'] });
  assert.equal(created.body.signature_scheme, 'anvil');
  await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 1 } });
  const [anvil] = await r.waitFor(1);
  assert.ok(verify(anvil!.rawBody, anvil!.headers['anvil-signature'] as string, created.body.secret));
  assert.equal(anvil!.headers['webhook-signature'], undefined);

  const patched = await call(stack, 'PATCH', `/v1/endpoints/${created.body.id}`, tenant.key, { signature_scheme: 'standard-webhooks' });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.signature_scheme, 'standard-webhooks');
  const published = await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: { n: 2 } });
  const [, standard] = await r.waitFor(2);
  assert.deepEqual(libraryVerifies(standard!, created.body.secret), published.body);
});

void test('a wrong scheme is a 400 naming the field; a secret from before the option must be rotated first (409)', async () => {
  const tenant = await createTenant(stack);
  const bad = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'http://127.0.0.1:9/x', events: ['lead.created'], signature_scheme: 'svix' });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.error.details.some((d: { path: string }) => d.path === 'signature_scheme'));

  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: 'http://127.0.0.1:9/x', events: ['lead.created'] });
  // As endpoints created before this option hold them: base64url, which strict base64 decoders refuse.
  await stack.db.query('UPDATE endpoints SET secret = $2 WHERE id = $1', [created.body.id, 'whsec_q-3_Z9xYabcdefghijklmnopqrstuvwxyz0123456']);
  const refused = await call(stack, 'PATCH', `/v1/endpoints/${created.body.id}`, tenant.key, { signature_scheme: 'standard-webhooks' });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'secret_not_standard_webhooks');
  assert.match(refused.body.error.message, /rotate-secret/);
  await call(stack, 'POST', `/v1/endpoints/${created.body.id}/rotate-secret`, tenant.key);
  const switched = await call(stack, 'PATCH', `/v1/endpoints/${created.body.id}`, tenant.key, { signature_scheme: 'standard-webhooks' });
  assert.equal(switched.status, 200, JSON.stringify(switched.body));
});
