// Proves the Events API signature contract: `Anvil-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret,
// "<t>.<raw body>")>` round-trips through our verifier, the verification snippet from the customer docs
// accepts the header we send, a tampered body or a wrong secret is rejected, and during a rotation the
// header carries two v1 entries, newest first.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import {
  computeSignature,
  SignatureVerificationError,
  signatureHeader,
  SIGNATURE_TOLERANCE_IN_SECONDS,
  verifySignature,
} from '../../domain/signing';
import { verify } from '../support/docs-snippet';


const secret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
const oldSecret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
const body = JSON.stringify({
  id: 'evt_01JABCDEFGHJKMNPQRSTVWXYZ0',
  type: 'lead.created',
  created: '2026-01-02T03:04:05.678Z',
  tenant_id: 'tnt_01JABCDEFGHJKMNPQRSTVWXYZ0',
  data: { lead_id: 'lead_1', name: 'Zoë “quoted” \\ ✓', score: 80 },
  api_version: '2026-01-01',
});
const now = Math.floor(Date.now() / 1000);

void test('the header is t=<unix seconds>,v1=<64 hex chars> over "<t>.<raw body>"', () => {
  const header = signatureHeader([secret], 1_767_225_600, body);
  assert.match(header, /^t=1767225600,v1=[0-9a-f]{64}$/);
  const expected = crypto.createHmac('sha256', secret).update(`1767225600.${body}`).digest('hex');
  assert.equal(header, `t=1767225600,v1=${expected}`);
  assert.equal(computeSignature(secret, 1_767_225_600, body), expected);
});

void test('signatureHeader / verifySignature round trip', () => {
  const header = signatureHeader([secret], now, body);
  assert.doesNotThrow(() => verifySignature(body, header, secret, now));
  // Within the 5-minute tolerance either way, outside it rejected.
  assert.doesNotThrow(() => verifySignature(body, header, secret, now + SIGNATURE_TOLERANCE_IN_SECONDS));
  assert.throws(() => verifySignature(body, header, secret, now + SIGNATURE_TOLERANCE_IN_SECONDS + 1), SignatureVerificationError);
  assert.throws(() => verifySignature(body, header, secret, now - SIGNATURE_TOLERANCE_IN_SECONDS - 1), SignatureVerificationError);
});

void test('the docs snippet accepts the header we send', () => {
  const header = signatureHeader([secret], now, body);
  assert.equal(verify(body, header, secret), true);
});

void test('a tampered body, timestamp or a wrong secret is rejected', () => {
  const header = signatureHeader([secret], now, body);
  const tampered = body.replace('"score":80', '"score":81');
  assert.notEqual(tampered, body);
  assert.equal(verify(tampered, header, secret), false);
  assert.throws(() => verifySignature(tampered, header, secret, now), /no matching v1/);
  assert.equal(verify(body, header, oldSecret), false);
  assert.throws(() => verifySignature(body, header, oldSecret, now), SignatureVerificationError);
  const shiftedTime = header.replace(`t=${now}`, `t=${now + 1}`);
  assert.equal(verify(body, shiftedTime, secret), false);
  assert.throws(() => verifySignature(body, shiftedTime, secret, now), SignatureVerificationError);
  assert.throws(() => verifySignature(body, 'v1=abc', secret, now), /missing timestamp/);
  // A truncated signature does not throw out of our verifier (length checked before timingSafeEqual).
  assert.throws(() => verifySignature(body, header.slice(0, -2), secret, now), /no matching v1/);
});

void test('rotation: two v1 entries, newest first; each verifies with its own secret', () => {
  const header = signatureHeader([secret, oldSecret], now, body);
  assert.match(header, /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
  const [tsPart, newest, previous] = header.split(',') as [string, string, string];
  assert.equal(tsPart, `t=${now}`);
  assert.equal(newest, `v1=${computeSignature(secret, now, body)}`);
  assert.equal(previous, `v1=${computeSignature(oldSecret, now, body)}`);
  // The docs snippet reads the first v1: the new secret.
  assert.equal(verify(body, header, secret), true);
  assert.equal(verify(body, `${tsPart},${previous}`, oldSecret), true);
  // Our verifier accepts any v1 entry, so receivers still on the old secret keep working.
  assert.doesNotThrow(() => verifySignature(body, header, secret, now));
  assert.doesNotThrow(() => verifySignature(body, header, oldSecret, now));
  assert.throws(() => verifySignature(body, header, `whsec_${crypto.randomBytes(32).toString('base64url')}`, now));
  assert.throws(() => signatureHeader([], now, body), /no signing secret/);
});
