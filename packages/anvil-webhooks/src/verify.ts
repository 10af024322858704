// Verifying a delivery: `Anvil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
// (one v1 per signing secret: during a rotation there are two), or, for endpoints with the Standard
// Webhooks option, `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>` over
// "<id>.<timestamp>.<raw body>" keyed with the secret's base64 part. One answer: true or false, never a
// throw, whatever arrives.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { headerValue, type WebhookHeaders } from './headers.js';

/** Deliveries whose timestamp is further than this from now are refused (replays). */
export const WEBHOOK_TOLERANCE_IN_SECONDS = 5 * 60;

export interface VerifyOptions {
  /** How far the signed timestamp may be from now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Now, in unix seconds (tests). */
  now?: number;
}

const MAX_HEADER_LENGTH = 4096;
const MAX_SIGNATURES = 16;
const SECRET_PREFIX = 'whsec_';

function bodyBytes(rawBody: unknown): Buffer | null {
  if (typeof rawBody === 'string') return Buffer.from(rawBody, 'utf8');
  if (Buffer.isBuffer(rawBody)) return rawBody;
  if (rawBody instanceof Uint8Array) return Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  return null; // a parsed object: its bytes are gone, so nothing can be verified
}

const equalInConstantTime = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function timestampOk(value: string | undefined, toleranceSeconds: number, now: number): number | null {
  if (value === undefined || !/^\d{1,12}$/.test(value)) return null;
  const t = Number(value);
  return Math.abs(now - t) <= toleranceSeconds ? t : null;
}

function verifyAnvil(body: Buffer, header: string, secrets: readonly string[], tolerance: number, now: number): boolean {
  const entries = header.split(',').map((part) => {
    const eq = part.indexOf('=');
    return eq < 0 ? ['', ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
  });
  const stamps = entries.filter(([k]) => k === 't');
  if (stamps.length !== 1) return false;
  const t = timestampOk(stamps[0]![1], tolerance, now);
  if (t === null) return false;
  const given = entries.filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v!)).slice(0, MAX_SIGNATURES);
  if (given.length === 0) return false;
  return secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
    return given.some(([, v]) => equalInConstantTime(Buffer.from(v!, 'hex'), expected));
  });
}

function standardKey(secret: string): Buffer | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  return Buffer.from(encoded, 'base64');
}

function verifyStandard(body: Buffer, id: string | undefined, stamp: string | undefined, header: string, secrets: readonly string[], tolerance: number, now: number): boolean {
  if (!id || id.length > 256) return false;
  const t = timestampOk(stamp, tolerance, now);
  if (t === null) return false;
  const given = header
    .split(' ')
    .map((s) => s.split(','))
    .filter(([version, sig]) => version === 'v1' && sig !== undefined && /^[A-Za-z0-9+/]{43}=$/.test(sig))
    .slice(0, MAX_SIGNATURES);
  if (given.length === 0) return false;
  return secrets.some((secret) => {
    const key = standardKey(secret);
    if (!key) return false;
    const expected = createHmac('sha256', key).update(`${id}.${t}.`).update(body).digest();
    return given.some(([, sig]) => equalInConstantTime(Buffer.from(sig!, 'base64'), expected));
  });
}

/**
 * True when the delivery was signed with `secret` (or one of `secret`, while you rotate) less than
 * `toleranceSeconds` ago. `rawBody` must be the body exactly as received (a string or the bytes), not
 * JSON parsed and re-serialized. `headers` may be Node's `req.headers`, a Fetch `Headers`, or any object.
 */
export function verify(rawBody: string | Uint8Array, headers: WebhookHeaders, secret: string | readonly string[], options: VerifyOptions = {}): boolean {
  try {
    const body = bodyBytes(rawBody);
    const secrets = (typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : []).filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_IN_SECONDS;
    const now = options.now ?? Math.floor(Date.now() / 1000);
    if (!body || secrets.length === 0 || !(tolerance >= 0)) return false;
    const anvil = headerValue(headers, 'anvil-signature');
    if (anvil !== undefined) return anvil.length <= MAX_HEADER_LENGTH && verifyAnvil(body, anvil, secrets, tolerance, now);
    const standard = headerValue(headers, 'webhook-signature');
    if (standard !== undefined && standard.length <= MAX_HEADER_LENGTH) {
      return verifyStandard(body, headerValue(headers, 'webhook-id'), headerValue(headers, 'webhook-timestamp'), standard, secrets, tolerance, now);
    }
    return false;
  } catch {
    return false;
  }
}
