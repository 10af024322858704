import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createDecipheriv, createPublicKey, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  MIN_RSA_BITS,
  checkPublicKey,
  encryptClassicData,
  generateClassicKeypair,
} from '../../domain/encryption';

// @anvilco/encryption ships no type declarations; load the real published decryptor untyped and
// give it the one signature we use.
const requireCjs = createRequire(__filename);
const { decryptRSA } = requireCjs('@anvilco/encryption') as {
  decryptRSA: (privateKeyPem: string, encrypted: string) => string;
};

const FORMAT = /^[A-Za-z0-9+/]+=*:[0-9a-f]{32}:[0-9a-f]+$/;

// One keypair for the whole file: RSA generation is the slow part.
const keys = generateClassicKeypair();

function roundTrip(data: unknown): unknown {
  const encrypted = encryptClassicData(keys.publicKey, data);
  assert.match(encrypted, FORMAT);
  return JSON.parse(decryptRSA(keys.privateKey, encrypted));
}

void test('round trips a small object through the real decryptRSA', () => {
  const data = { eid: 'abc123', status: 'completed', count: 3, ok: true, none: null };
  assert.deepEqual(roundTrip(data), data);
});

void test('round trips non-ASCII text', () => {
  const data = { name: 'Zoë — 東京 🚀', note: 'ünïcödé\u0000\n"quoted"' };
  assert.deepEqual(roundTrip(data), data);
});

void test('round trips a ~100 KB object', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => ({ i, text: `row-${i}-`.padEnd(100, 'x') }));
  const data = { rows };
  const size = Buffer.byteLength(JSON.stringify(data));
  assert.ok(size > 100_000 && size < 130_000, `payload is ${size} bytes`);
  assert.deepEqual(roundTrip(data), data);
});

void test('round trips nested arrays and top-level non-objects', () => {
  const nested = [[1, [2, [3, []]]], [{ a: [{ b: ['c'] }] }], []];
  assert.deepEqual(roundTrip(nested), nested);
  assert.equal(roundTrip('just a string'), 'just a string');
  assert.equal(roundTrip(null), null);
});

void test('output format is <base64 wrapped key>:<32 hex iv>:<hex ciphertext>', () => {
  const encrypted = encryptClassicData(keys.publicKey, { hello: 'world' });
  assert.match(encrypted, FORMAT);
  const [wrapped, iv, ciphertext] = encrypted.split(':') as [string, string, string];
  // RSA-2048 output is 256 bytes -> 344 base64 characters with one '=' of padding.
  assert.equal(Buffer.from(wrapped, 'base64').length, 256);
  assert.equal(wrapped.length, 344);
  assert.equal(Buffer.from(iv, 'hex').length, 16);
  // AES-CBC ciphertext is whole 16-byte blocks; '{"hello":"world"}' is 17 bytes -> 2 blocks.
  assert.equal(Buffer.from(ciphertext, 'hex').length, 32);
});

void test('format matches the spec when decrypted by hand (hex-text key, OAEP SHA-1, AES-256-CBC)', () => {
  const data = { a: 'Zoë' };
  const [wrapped, iv, ciphertext] = encryptClassicData(keys.publicKey, data).split(':') as [
    string,
    string,
    string,
  ];
  const unwrapped = privateDecrypt(
    { key: keys.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    Buffer.from(wrapped, 'base64'),
  );
  // The RSA plaintext is the 64 ASCII bytes of the lowercase hex key, not the raw 32 bytes.
  assert.equal(unwrapped.length, 64);
  const keyHex = unwrapped.toString('ascii');
  assert.match(keyHex, /^[0-9a-f]{64}$/);
  const decipher = createDecipheriv('aes-256-cbc', Buffer.from(keyHex, 'hex'), Buffer.from(iv, 'hex'));
  const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'hex')), decipher.final()]);
  assert.equal(plain.toString('utf8'), JSON.stringify(data));
});

void test('two encryptions of the same data differ (fresh key and iv)', () => {
  const data = { same: 'data' };
  const a = encryptClassicData(keys.publicKey, data);
  const b = encryptClassicData(keys.publicKey, data);
  assert.notEqual(a, b);
  const [wrappedA, ivA, ctA] = a.split(':');
  const [wrappedB, ivB, ctB] = b.split(':');
  assert.notEqual(wrappedA, wrappedB);
  assert.notEqual(ivA, ivB);
  assert.notEqual(ctA, ctB);
  assert.deepEqual(JSON.parse(decryptRSA(keys.privateKey, a)), data);
  assert.deepEqual(JSON.parse(decryptRSA(keys.privateKey, b)), data);
});

void test('encrypting data with no JSON representation throws', () => {
  assert.throws(() => encryptClassicData(keys.publicKey, undefined), TypeError);
});

void test('generateClassicKeypair returns SPKI / PKCS#8 PEM for a 2048-bit RSA key', () => {
  assert.match(keys.publicKey, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  assert.match(keys.privateKey, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  const pub = createPublicKey(keys.publicKey);
  assert.equal(pub.asymmetricKeyType, 'rsa');
  assert.equal(pub.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(MIN_RSA_BITS, 2048);
  const other = generateClassicKeypair();
  assert.notEqual(other.publicKey, keys.publicKey);
});

void test('checkPublicKey accepts an SPKI RSA public key and returns it as SPKI PEM', () => {
  const result = checkPublicKey(keys.publicKey);
  assert.deepEqual(result, { ok: true, publicKey: keys.publicKey });
  // Surrounding whitespace and CRLF line endings from a paste are tolerated.
  const pasted = `\n  ${keys.publicKey.replace(/\n/g, '\r\n')}  \n`;
  assert.deepEqual(checkPublicKey(pasted), { ok: true, publicKey: keys.publicKey });
});

void test('checkPublicKey accepts a PKCS#1 RSA public key and normalizes it to SPKI', () => {
  const pkcs1 = createPublicKey(keys.publicKey).export({ type: 'pkcs1', format: 'pem' }).toString();
  assert.match(pkcs1, /^-----BEGIN RSA PUBLIC KEY-----/);
  const result = checkPublicKey(pkcs1);
  assert.deepEqual(result, { ok: true, publicKey: keys.publicKey });
  if (!result.ok) return;
  const encrypted = encryptClassicData(result.publicKey, { via: 'pkcs1' });
  assert.deepEqual(JSON.parse(decryptRSA(keys.privateKey, encrypted)), { via: 'pkcs1' });
});

void test('checkPublicKey rejects non-strings, empty input and garbage as malformed', () => {
  const bodyLines = keys.publicKey.split('\n').slice(1, -2);
  const inputs: unknown[] = [
    undefined,
    null,
    42,
    {},
    ['-----BEGIN PUBLIC KEY-----'],
    '',
    '   \n ',
    'not a key',
    '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----',
    '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----',
    // Truncated body.
    `-----BEGIN PUBLIC KEY-----\n${bodyLines.slice(0, 2).join('\n')}\n-----END PUBLIC KEY-----`,
    // Mismatched footer.
    `-----BEGIN PUBLIC KEY-----\n${bodyLines.join('\n')}\n-----END RSA PUBLIC KEY-----`,
    // Two keys pasted together.
    `${keys.publicKey}${keys.publicKey}`,
  ];
  for (const input of inputs) {
    const result = checkPublicKey(input);
    assert.equal(result.ok, false, `accepted ${JSON.stringify(input)}`);
    if (result.ok) continue;
    assert.equal(result.reason, 'malformed', `wrong reason for ${JSON.stringify(input)}`);
    assert.ok(result.message.length > 0);
  }
});

void test('checkPublicKey rejects a private key in any PEM format and says never to upload it', () => {
  const rsaPkcs1 = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  }).privateKey;
  const encryptedPkcs8 = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
  }).privateKey;
  const ecSec1 = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
  }).privateKey;
  const cases: Array<[string, string]> = [
    ['PKCS#8', keys.privateKey],
    ['PKCS#1', rsaPkcs1],
    ['encrypted PKCS#8', encryptedPkcs8],
    ['SEC1 EC', ecSec1],
    ['private key pasted after the public key', `${keys.publicKey}${keys.privateKey}`],
  ];
  assert.match(rsaPkcs1, /BEGIN RSA PRIVATE KEY/);
  assert.match(encryptedPkcs8, /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.match(ecSec1, /BEGIN EC PRIVATE KEY/);
  for (const [label, pem] of cases) {
    const result = checkPublicKey(pem);
    assert.equal(result.ok, false, label);
    if (result.ok) continue;
    assert.equal(result.reason, 'private_key', label);
    assert.match(result.message, /private key was given where the public key belongs/i, label);
    assert.match(result.message, /must never be uploaded/i, label);
  }
});

void test('checkPublicKey rejects a 1024-bit RSA key as too short, naming the size', () => {
  const { publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const result = checkPublicKey(publicKey);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.reason, 'too_short');
  assert.match(result.message, /\b1024\b/);
  assert.match(result.message, /\b2048\b/);
});

void test('checkPublicKey rejects EC and ed25519 public keys as not RSA', () => {
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }).publicKey;
  const ed = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }).publicKey;
  for (const [label, pem, type] of [
    ['EC', ec, 'ec'],
    ['ed25519', ed, 'ed25519'],
  ] as const) {
    const result = checkPublicKey(pem);
    assert.equal(result.ok, false, label);
    if (result.ok) continue;
    assert.equal(result.reason, 'not_rsa', label);
    assert.ok(result.message.includes(type), label);
  }
});
