// Identifiers: a readable prefix and a ULID (time-ordered, so lists sort by creation), or random bytes
// for secrets. Workflow code must not import this file: it uses Node's crypto.
import { randomBytes, randomFillSync } from 'node:crypto';
import { ulid as ulidWith } from 'ulid';

// ulid() alone looks its random source up on every call and asks it for one byte at a time (16 calls into
// crypto per id, ~1 % of the API's CPU under a burst); the same cryptographic bytes, drawn from a pool.
// Each character takes a byte's top 5 bits (256 is a multiple of 32: no bias).
const pool = Buffer.alloc(4096);
let drawn = pool.length;
function pooledRandom(): number {
  if (drawn === pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  return pool[drawn++]! / 256;
}
const ulid = () => ulidWith(undefined, pooledRandom);

export const newTenantId = () => `tnt_${ulid()}`;
export const newEndpointId = () => `ep_${ulid()}`;
export const newEventId = () => `evt_${ulid()}`;
export const newApiKeyId = () => `key_${ulid()}`;
export const newPortalSessionId = () => `pss_${ulid()}`;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform random alphanumeric string (rejection sampling, no modulo bias). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUMERIC[byte % 62];
    }
  }
  return out;
}

/** Tenant API key: shown once, stored as a SHA-256 hash. 32 random alphanumerics ≈ 190 bits. */
export const newApiKey = () => `anv_sk_${randomAlphanumeric(32)}`;
/**
 * Endpoint signing secret: `whsec_` + 44 random alphanumerics (262 bits). Those are valid in both base64
 * alphabets with no padding, so the Standard Webhooks option reads the same secret as 33 bytes of key
 * (its libraries decode strictly), and the secret still selects with one double-click.
 */
export const newEndpointSecret = () => `whsec_${randomAlphanumeric(44)}`;
/** Classic organization token: 32 random alphanumerics (the contract asks for at least 24). */
export const newClassicToken = () => randomAlphanumeric(32);

/** Settings pages: the one-time sign-in link's token and the session token it is exchanged for. */
export const PORTAL_LINK_PREFIX = 'anv_pl_';
export const PORTAL_SESSION_PREFIX = 'anv_ps_';
export const newPortalLinkToken = () => `${PORTAL_LINK_PREFIX}${randomAlphanumeric(32)}`;
export const newPortalSessionToken = () => `${PORTAL_SESSION_PREFIX}${randomAlphanumeric(32)}`;
