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
