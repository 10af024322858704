// The Standard Webhooks option signs as the spec says: `webhook-id`, `webhook-timestamp` and
// `webhook-signature: v1,<base64>` over "<id>.<timestamp>.<body>" with the secret's base64 part decoded,
// so the spec's reference library (`standardwebhooks` on npm) verifies it, rotation's two signatures
// included; secrets made now decode under both schemes, and secrets from before the option are told apart.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { newEndpointSecret } from '../../domain/ids';
import { isStandardWebhooksSecret, signedHeaders, standardWebhooksKey } from '../../domain/signing';
import { verify } from '../support/docs-snippet';

const body = JSON.stringify({ id: 'evt_01JABCDEFGHJKMNPQRSTVWXYZ0', type: 'lead.created', data: { name: 'Zoë ✓' } });
const eventId = 'evt_01JABCDEFGHJKMNPQRSTVWXYZ0';
const now = Math.floor(Date.now() / 1000);

void test('new secrets: whsec_ + 44 alphanumerics, a standard base64 key of 33 random bytes', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const secret = newEndpointSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9]{44}$/);
    assert.ok(isStandardWebhooksSecret(secret));
    assert.equal(standardWebhooksKey(secret).length, 33);
    seen.add(secret);
  }
  assert.equal(seen.size, 200);
  // A secret from before the option (base64url of 32 bytes) is not one the libraries can decode.
  assert.equal(isStandardWebhooksSecret(`whsec_${Buffer.from('\xfb\xff'.repeat(16), 'latin1').toString('base64url')}`), false);
});

void test('standard-webhooks headers verify with the standardwebhooks library; a changed byte does not', () => {
  const secret = newEndpointSecret();
  const headers = signedHeaders('standard-webhooks', [secret], now, eventId, body);
  assert.deepEqual(Object.keys(headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp']);
  assert.equal(headers['webhook-id'], eventId);
  assert.equal(headers['webhook-timestamp'], String(now));
  assert.match(headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]{43}=$/);
  const expected = crypto.createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${eventId}.${now}.${body}`).digest('base64');
  assert.equal(headers['webhook-signature'], `v1,${expected}`);
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  assert.throws(() => new Webhook(secret).verify(body.replace('Zoë', 'Zoe'), headers), WebhookVerificationError);
  assert.throws(() => new Webhook(newEndpointSecret()).verify(body, headers), WebhookVerificationError);
});

void test('during a rotation both secrets sign (space-separated); the library accepts either secret', () => {
  const [fresh, old] = [newEndpointSecret(), newEndpointSecret()];
  const headers = signedHeaders('standard-webhooks', [fresh, old], now, eventId, body);
  assert.match(headers['webhook-signature']!, /^v1,\S+ v1,\S+$/);
  assert.ok(new Webhook(fresh).verify(body, headers));
  assert.ok(new Webhook(old).verify(body, headers));
});

void test('the anvil scheme is unchanged: Anvil-Signature and Anvil-Event-Id, verified by the docs snippet', () => {
  const secret = newEndpointSecret();
  const headers = signedHeaders('anvil', [secret], now, eventId, body);
  assert.deepEqual(Object.keys(headers).sort(), ['Anvil-Event-Id', 'Anvil-Signature']);
  assert.equal(headers['Anvil-Event-Id'], eventId);
  assert.ok(verify(body, headers['Anvil-Signature']!, secret));
});
