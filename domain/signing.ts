// Events API signatures: `Anvil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
// During a secret rotation both secrets sign, newest first, so verifiers that accept any v1 keep working.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Anvil-Signature';
export const EVENT_ID_HEADER = 'Anvil-Event-Id';
export const SIGNATURE_TOLERANCE_IN_SECONDS = 5 * 60;

export function computeSignature(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

/** The header value for one attempt; `secrets` newest first. */
export function signatureHeader(secrets: readonly string[], timestamp: number, rawBody: string): string {
  if (secrets.length === 0) throw new Error('no signing secret');
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${computeSignature(s, timestamp, rawBody)}`)].join(',');
}

export class SignatureVerificationError extends Error {
  override name = 'SignatureVerificationError';
}

/** The receiver side, as our docs give it to customers (accepts any v1 entry). */
export function verifySignature(
  rawBody: string,
  header: string,
  secret: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  const parts = header.split(',').map((p) => p.split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) throw new SignatureVerificationError('missing timestamp');
  if (Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_IN_SECONDS) {
    throw new SignatureVerificationError('timestamp outside the tolerance');
  }
  const expected = Buffer.from(computeSignature(secret, t, rawBody));
  const ok = parts
    .filter(([k]) => k === 'v1')
    .some(([, v]) => v !== undefined && v.length === expected.length && timingSafeEqual(Buffer.from(v), expected));
  if (!ok) throw new SignatureVerificationError('no matching v1 signature');
}

// ---------------------------------------------------------------------------------------------------------
// Standard Webhooks (https://www.standardwebhooks.com), an endpoint's option: `webhook-id`,
// `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, where
// the key is the secret's part after `whsec_`, base64-decoded (the spec's rule, which every Standard Webhooks
// library applies). Several signatures are space-separated: during a rotation both secrets sign.

/** How an endpoint's deliveries are signed. */
export const SIGNATURE_SCHEMES = ['anvil', 'standard-webhooks'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
const SECRET_PREFIX = 'whsec_';

/**
 * True when a secret decodes as the Standard Webhooks spec reads it: `whsec_` and standard base64 (the
 * libraries use strict decoders). Secrets made since the option exists always do; older ones carry
 * base64url characters and must be rotated before the option is turned on.
 */
export function isStandardWebhooksSecret(secret: string): boolean {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return encoded.length > 0 && encoded.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded);
}

/** The HMAC key of a secret under Standard Webhooks: its base64 part, decoded. */
export function standardWebhooksKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

export function standardWebhooksSignature(secret: string, messageId: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', standardWebhooksKey(secret)).update(`${messageId}.${timestamp}.${rawBody}`).digest('base64');
}

/**
 * The headers that authenticate one attempt under the endpoint's scheme; `secrets` newest first. The event
 * id names the message (the same on every attempt), as `Anvil-Event-Id` or `webhook-id`.
 */
export function signedHeaders(
  scheme: SignatureScheme,
  secrets: readonly string[],
  timestamp: number,
  eventId: string,
  rawBody: string,
): Record<string, string> {
  if (scheme === 'standard-webhooks') {
    if (secrets.length === 0) throw new Error('no signing secret');
    return {
      [WEBHOOK_ID_HEADER]: eventId,
      [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
      [WEBHOOK_SIGNATURE_HEADER]: secrets.map((s) => `v1,${standardWebhooksSignature(s, eventId, timestamp, rawBody)}`).join(' '),
    };
  }
  return { [SIGNATURE_HEADER]: signatureHeader(secrets, timestamp, rawBody), [EVENT_ID_HEADER]: eventId };
}
