// Encryption of classic webhook `data` for organizations that registered an RSA public key.
//
// Wire format (must round-trip through Anvil's published decryptor, `decryptRSA` in
// @anvilco/encryption 2.0.4): `<wrappedKey>:<iv>:<ciphertext>` where
//   - K is 32 random bytes written as 64 lowercase hex characters; the 64 ASCII bytes of that hex
//     string (not the 32 raw bytes) are RSA-OAEP encrypted (SHA-1, MGF1-SHA-1, no label) and
//     base64-encoded. The decryptor reads the RSA plaintext back as a string and hex-decodes it, so
//     the AES key actually used is the 32 decoded bytes of K.
//   - iv is 16 random bytes in lowercase hex.
//   - ciphertext is AES-256-CBC with PKCS#7 padding of UTF-8 JSON.stringify(data), lowercase hex.
// Only node:crypto is used so the format is pinned here rather than by a dependency.
import {
  constants,
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/** Smallest RSA modulus we accept: 1024-bit keys are considered breakable. */
export const MIN_RSA_BITS = 2048;

/** Size of generated keypairs; matches the minimum so the wrapped key stays small. */
const GENERATED_RSA_BITS = 2048;
/** The common RSA public exponent (F4); what every mainstream tool generates. */
const RSA_PUBLIC_EXPONENT = 0x10001;
/** AES-256 needs a 32-byte key. */
const AES_KEY_BYTES = 32;
/** CBC block size, so the IV is always 16 bytes. */
const AES_IV_BYTES = 16;
const AES_ALGORITHM = 'aes-256-cbc';
/** The decryptor calls privateDecrypt with OAEP and Node's default hash, which is SHA-1. */
const OAEP_HASH = 'sha1';
/** Separator between the three parts; never appears in base64 or hex. */
const PART_SEPARATOR = ':';

/**
 * Encrypts `data` for a classic webhook. A fresh AES key and IV are drawn on every call, so two
 * encryptions of the same data never produce the same string.
 * Throws TypeError when `data` has no JSON representation (e.g. undefined or a function), because
 * the receiver would have nothing to JSON.parse.
 */
export function encryptClassicData(publicKeyPem: string, data: unknown): string {
  const json: string | undefined = JSON.stringify(data);
  if (json === undefined) {
    throw new TypeError('classic webhook data has no JSON representation');
  }

  const aesKey = randomBytes(AES_KEY_BYTES);
  // The hex text of the key is what gets RSA-wrapped: decryptRSA does `enc.toString()` and then
  // `Buffer.from(key, 'hex')`, so wrapping the raw bytes would not round-trip.
  const aesKeyHex = aesKey.toString('hex');
  const wrappedKey = publicEncrypt(
    { key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH },
    Buffer.from(aesKeyHex, 'ascii'),
  ).toString('base64');

  const iv = randomBytes(AES_IV_BYTES);
  // createCipheriv applies PKCS#7 padding by default (autoPadding is on).
  const cipher = createCipheriv(AES_ALGORITHM, aesKey, iv);
  const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);

  return [wrappedKey, iv.toString('hex'), ciphertext.toString('hex')].join(PART_SEPARATOR);
}

/** Generates an RSA-2048 keypair: public key as SPKI PEM, private key as unencrypted PKCS#8 PEM. */
export function generateClassicKeypair(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: GENERATED_RSA_BITS,
    publicExponent: RSA_PUBLIC_EXPONENT,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

export type CheckPublicKeyResult =
  | { ok: true; publicKey: string }
  | { ok: false; reason: 'malformed' | 'private_key' | 'not_rsa' | 'too_short'; message: string };

/**
 * Any PEM private-key block (PKCS#8 "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", PKCS#1 "RSA PRIVATE
 * KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", ...). Checked first and anywhere in the input,
 * because Node happily derives a public key from a private one and we must not accept that silently.
 */
const PRIVATE_KEY_HEADER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/**
 * Exactly one SPKI ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY") block and nothing else, so a
 * certificate or a paste with stray extra blocks is not half-read.
 */
const PUBLIC_KEY_PEM = /^-----BEGIN ((?:RSA )?PUBLIC KEY)-----\s+[A-Za-z0-9+/=\s]+-----END \1-----$/;

/**
 * Validates a customer-supplied public key for classic webhook encryption. Accepts only an RSA
 * public key of at least MIN_RSA_BITS, returned normalized to SPKI PEM. Never throws.
 */
export function checkPublicKey(pem: unknown): CheckPublicKeyResult {
  if (typeof pem !== 'string' || pem.trim() === '') {
    return { ok: false, reason: 'malformed', message: 'The public key must be a non-empty PEM string.' };
  }
  const text = pem.trim();

  if (PRIVATE_KEY_HEADER.test(text) || parsesAsPrivateKey(text)) {
    return {
      ok: false,
      reason: 'private_key',
      message:
        'A private key was given where the public key belongs. The private key must never be uploaded; ' +
        'keep it secret on your side (treat this one as exposed and generate a new keypair), and upload ' +
        'only the public key ("-----BEGIN PUBLIC KEY-----").',
    };
  }

  if (!PUBLIC_KEY_PEM.test(text)) {
    return {
      ok: false,
      reason: 'malformed',
      message: 'Expected a single PEM public key ("-----BEGIN PUBLIC KEY-----" or "-----BEGIN RSA PUBLIC KEY-----").',
    };
  }

  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    return { ok: false, reason: 'malformed', message: 'The PEM public key could not be parsed.' };
  }

  // 'rsa-pss' keys are excluded too: they are restricted to signatures and cannot do OAEP.
  if (key.asymmetricKeyType !== 'rsa') {
    return {
      ok: false,
      reason: 'not_rsa',
      message: `Expected an RSA public key, got a ${key.asymmetricKeyType ?? 'unknown'} key.`,
    };
  }

  // Node always reports modulusLength for RSA keys; 0 is only a fallback that fails the check.
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    return {
      ok: false,
      reason: 'too_short',
      message: `The RSA key is ${bits} bits; at least ${MIN_RSA_BITS} bits are required.`,
    };
  }

  return { ok: true, publicKey: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** True when Node can load the text as a private key (catches formats the header regex misses). */
function parsesAsPrivateKey(text: string): boolean {
  try {
    createPrivateKey({ key: text, format: 'pem' });
    return true;
  } catch {
    return false;
  }
}
