// The receiver package on its own: what `verify` answers for good, rotated, stale and malformed
// deliveries (false, never a throw), the Standard Webhooks form, classic decryption's errors, the
// idempotency helper, and a build whose ESM and CJS entry points both load. Real deliveries from the
// running service are verified in test/integration/receiver-package.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, publicEncrypt, constants, randomBytes, createCipheriv } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { ClassicDecryptionError, createIdempotency, decryptClassicData, eventIdOf, verify } from '../src/index.js';

const secret = 'whsec_' + 'A'.repeat(44);
const other = 'whsec_' + 'B'.repeat(44);
const body = '{"id":"evt_01HXAB","type":"lead.created","data":{"name":"Zoë ✓"}}';
const now = 1_713_420_013;
const hex = (key: string | Buffer, t: number, b = body) => createHmac('sha256', key).update(`${t}.${b}`).digest('hex');
const anvilHeaders = (sig: string) => ({ 'Anvil-Signature': sig, 'Anvil-Event-Id': 'evt_01HXAB' });

void test('a signed body verifies; any v1 of a rotation does; a changed byte, another secret or a stale time does not', () => {
  const good = `t=${now},v1=${hex(secret, now)}`;
  assert.equal(verify(body, anvilHeaders(good), secret, { now }), true);
  assert.equal(verify(Buffer.from(body), { 'anvil-signature': good }, secret, { now }), true, 'bytes and lower-case headers');
  assert.equal(verify(new TextEncoder().encode(body), new Headers({ 'Anvil-Signature': good }), secret, { now }), true, 'a Fetch Headers');
  const rotating = `t=${now},v1=${hex(other, now)},v1=${hex(secret, now)}`;
  assert.equal(verify(body, anvilHeaders(rotating), secret, { now }), true, 'the old secret matches the second v1');
  assert.equal(verify(body, anvilHeaders(rotating), other, { now }), true, 'the new secret matches the first v1');
  assert.equal(verify(body, anvilHeaders(good), [other, secret], { now }), true, 'a receiver holding both secrets');
  assert.equal(verify(body + ' ', anvilHeaders(good), secret, { now }), false);
  assert.equal(verify(body, anvilHeaders(good), other, { now }), false);
  assert.equal(verify(body, anvilHeaders(good), secret, { now: now + 301 }), false, 'older than the 300 s tolerance');
  assert.equal(verify(body, anvilHeaders(good), secret, { now: now + 301, toleranceSeconds: 600 }), true);
  assert.equal(verify(body, anvilHeaders(good), secret, { now: now - 301 }), false, 'from the future');
  assert.equal(eventIdOf(anvilHeaders(good)), 'evt_01HXAB');
});

void test('20 malformed signature headers: false every time, and no throw', () => {
  const sig = hex(secret, now);
  const malformed: unknown[] = [
    '',
    'garbage',
    `v1=${sig}`, // no timestamp
    `t=${now}`, // no signature
    `t=${now},v1=`,
    `t=,v1=${sig}`,
    `t=abc,v1=${sig}`,
    `t=${now}.5,v1=${sig}`,
    `t=-${now},v1=${sig}`,
    `t=${now},t=${now},v1=${sig}`, // two timestamps
    `t=${now},v1=${sig.slice(0, 63)}`, // one hex digit short: a length mismatch
    `t=${now},v1=${sig}00`,
    `t=${now},v1=${sig.toUpperCase()}`,
    `t=${now},v1=${'z'.repeat(64)}`,
    `t=${now},v0=${sig}`,
    `t=${now};v1=${sig}`,
    `t=${now},v1=${sig},`.repeat(500), // far too long
    `t=99999999999999999999,v1=${sig}`,
    ['t=1', 'v1=2'].join('\u0000'),
    `t=${now},v1=${Buffer.from(sig, 'hex').toString('base64')}`,
  ];
  assert.equal(malformed.length, 20);
  for (const header of malformed) {
    assert.doesNotThrow(() => verify(body, { 'anvil-signature': header as string }, secret, { now }));
    assert.equal(verify(body, { 'anvil-signature': header as string }, secret, { now }), false, `header ${JSON.stringify(header).slice(0, 80)}`);
  }
  // and whatever else a caller might pass by mistake
  const good = { 'anvil-signature': `t=${now},v1=${sig}` };
  for (const [b, h, s] of [
    [JSON.parse(body), good, secret], // a parsed body: its bytes are gone
    [body, null, secret],
    [body, undefined, secret],
    [body, {}, secret],
    [body, { 'anvil-signature': 42 }, secret],
    [body, good, ''],
    [body, good, undefined],
    [body, good, [42]],
    [null, good, secret],
  ] as const) {
    assert.equal(verify(b as string, h as Record<string, string>, s as string, { now }), false);
  }
});

void test('the Standard Webhooks form: webhook-id, webhook-timestamp, webhook-signature v1,<base64>', () => {
  const key = Buffer.from('A'.repeat(44), 'base64');
  const sig = createHmac('sha256', key).update(`evt_1.${now}.${body}`).digest('base64');
  const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': `v1,${sig}` };
  assert.equal(verify(body, headers, secret, { now }), true);
  assert.equal(verify(body, { ...headers, 'webhook-signature': `v1,${'x'.repeat(43)}= v1,${sig}` }, secret, { now }), true, 'any of several');
  assert.equal(verify(body, { ...headers, 'webhook-id': 'evt_2' }, secret, { now }), false);
  assert.equal(verify(body, { ...headers, 'webhook-signature': `v2,${sig}` }, secret, { now }), false);
  assert.equal(verify(body, { ...headers, 'webhook-timestamp': String(now - 1000) }, secret, { now }), false);
  assert.equal(eventIdOf(headers), 'evt_1');
});

void test('decryptClassicData reads <wrapped key>:<iv>:<ciphertext>; the wrong key or a broken string is a ClassicDecryptionError', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const aesKey = randomBytes(32).toString('hex');
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', Buffer.from(aesKey, 'hex'), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify({ eid: 'x', name: 'Zoë' })), cipher.final()]);
  const wrapped = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(aesKey));
  const data = `${wrapped.toString('base64')}:${iv.toString('hex')}:${ciphertext.toString('hex')}`;
  assert.deepEqual(decryptClassicData(data, privateKey), { eid: 'x', name: 'Zoë' });
  assert.deepEqual(decryptClassicData({ plain: true }, privateKey), { plain: true }, 'unencrypted data is returned as it is');
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  assert.throws(() => decryptClassicData(data, otherKey), ClassicDecryptionError);
  assert.throws(() => decryptClassicData('not:encrypted', privateKey), ClassicDecryptionError);
  assert.throws(() => decryptClassicData(data.replace(/.$/, ''), privateKey), ClassicDecryptionError);
});

void test('once(eventId, work) runs the work once per id, again after it threw, and waits for a concurrent run', async () => {
  const once = createIdempotency();
  let runs = 0;
  const work = async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
    return runs;
  };
  const [a, b] = await Promise.all([once('evt_1', work), once('evt_1', work)]);
  assert.deepEqual(a, { duplicate: false, result: 1 });
  assert.deepEqual(b, { duplicate: true });
  assert.deepEqual(await once('evt_1', work), { duplicate: true });
  await assert.rejects(once('evt_2', () => Promise.reject(new Error('db down'))));
  assert.deepEqual(await once('evt_2', work), { duplicate: false, result: 2 }, 'a failed run is not remembered');
});

void test('the build: dist/esm for import and dist/cjs for require, both verifying; the compiled CLI runs', async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'anvil-webhooks-build-'));
  try {
    const built = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.mjs'), out], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stdout + built.stderr);
    const header = { 'anvil-signature': `t=${now},v1=${hex(secret, now)}` };
    const cjs = createRequire(__filename)(path.join(out, 'cjs', 'index.js')) as typeof import('../src/index.js');
    assert.equal(cjs.verify(body, header, secret, { now }), true);
    const esm = (await import(pathToFileURL(path.join(out, 'esm', 'index.js')).href)) as typeof import('../src/index.js');
    assert.equal(esm.verify(body, header, secret, { now }), true);
    assert.equal(esm.verify(body, header, other, { now }), false);
    const help = spawnSync(process.execPath, [path.join(out, 'cjs', 'cli', 'main.js'), 'help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /anvil-webhooks listen|listen --forward-to <url>/);
    const notLoggedIn = spawnSync(process.execPath, [path.join(out, 'cjs', 'cli', 'main.js'), 'trigger', 'lead.created'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ANVIL_WEBHOOKS_CONFIG: path.join(out, 'none.json') },
    });
    assert.equal(notLoggedIn.status, 1);
    assert.match(notLoggedIn.stderr, /^anvil-webhooks: not logged in: run `anvil-webhooks login/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
