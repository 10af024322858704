// The tenant-key cache of api/auth.ts, on a real Express app and socket, with the channel listener and the
// key lookup played by the test: a key is looked up once while cached; a notification naming its hash
// (a revocation on any instance), a `tenant:<id>` notification (a deletion) or a reconnect of the LISTEN
// connection (notifications may have been lost) makes the next request look it up again; requests that
// miss together share one lookup, and a lookup a notice overtook is not cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAuthenticator } from '../../api/auth';
import { errorHandler } from '../../api/errors';
import type { RateLimits } from '../../api/rate-limits';
import type { ChannelListener } from '../../infra/pg-channels';
import { AUTH_CHANGES_CHANNEL, type Store, type Tenant } from '../../infra/store';

const limits = { auth: { blockedFor: () => 0, fail: () => Promise.resolve({ allowed: true, limit: 10, remaining: 9, resetMs: 1000 }), limit: 10, windowSeconds: 60 } } as unknown as RateLimits;
const tenant: Tenant = { id: 'tnt_01JABCDEFGHJKMNPQRSTVWXYZ', name: 'Acme', plan: 'free' as Tenant['plan'], created_at: new Date() };

/** The authenticator on a real Express app and socket; `status()` is one request with `key`. */
async function serve(store: Store, channels: ChannelListener, key: string) {
  const auth = createAuthenticator(store, 'admin-key-for-the-cache-test', limits, channels);
  const app = express();
  app.get('/v1/whoami', auth.middleware, (req, res) => void res.json({ ok: true }));
  app.use(errorHandler);
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  await new Promise((r) => setImmediate(r)); // the listen() promise settles
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/whoami`;
  return {
    status: async () => (await fetch(url, { headers: { authorization: `Bearer ${key}` } })).status,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

void test('a cached key is looked up again after a revocation notice, a tenant deletion notice, or a LISTEN reconnect', async () => {
  const key = 'anv_sk_test_cache_0123456789abcdef';
  const hash = createHash('sha256').update(key).digest('hex');
  let valid = true;
  let lookups = 0;
  const store = { tenantForApiKey: (k: string) => (lookups++, Promise.resolve(k === key && valid ? tenant : null)) } as unknown as Store;
  const handlers = new Map<string, (payload: string) => void>();
  const reconnectHooks: (() => void)[] = [];
  const channels: ChannelListener = {
    listen: (channel, handler) => (handlers.set(channel, handler), Promise.resolve()),
    onReconnect: (hook) => void reconnectHooks.push(hook),
    close: () => Promise.resolve(),
  };
  const { status, close } = await serve(store, channels, key);
  try {
    const notify = handlers.get(AUTH_CHANGES_CHANNEL);
    assert.ok(notify, `the authenticator listens on ${AUTH_CHANGES_CHANNEL}`);

    assert.deepEqual([await status(), await status(), lookups], [200, 200, 1], 'cached after the first lookup');
    notify(hash);
    assert.deepEqual([await status(), lookups], [200, 2], 'a notice naming its hash: looked up again');
    notify(`tenant:${tenant.id}`);
    assert.deepEqual([await status(), lookups], [200, 3], 'a notice naming its tenant: looked up again');
    notify('some-other-hash');
    notify('tenant:tnt_01JZZZZZZZZZZZZZZZZZZZZZZZ');
    assert.deepEqual([await status(), lookups], [200, 3], 'notices about other keys and tenants leave it cached');

    valid = false; // revoked while the LISTEN connection was down: no notice came
    assert.deepEqual([await status(), lookups], [200, 3], 'still cached: nothing said otherwise');
    for (const hook of reconnectHooks) hook();
    assert.deepEqual([await status(), lookups], [401, 4], 'after the reconnect the cache is gone: refused');
  } finally {
    close();
  }
});

void test('requests that miss together share one lookup; a lookup overtaken by a revocation notice is not cached', async () => {
  const key = 'anv_sk_test_flight_0123456789abcdef';
  const hash = createHash('sha256').update(key).digest('hex');
  let valid = true;
  let lookups = 0;
  // Each lookup waits until the test lets it answer (with the key's validity at that moment).
  const waiting: (() => void)[] = [];
  const answerAll = () => waiting.splice(0).forEach((answer) => answer());
  const store = {
    tenantForApiKey: (k: string) => {
      lookups += 1;
      return new Promise<Tenant | null>((resolve) => waiting.push(() => resolve(k === key && valid ? tenant : null)));
    },
  } as unknown as Store;
  let notify: ((payload: string) => void) | undefined;
  const channels: ChannelListener = {
    listen: (_channel, handler) => ((notify = handler), Promise.resolve()),
    onReconnect: () => {},
    close: () => Promise.resolve(),
  };
  const { status, close } = await serve(store, channels, key);
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; !check(); i++) {
      if (i > 500) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    // 32 requests with a key not cached yet: one lookup, and all 32 get its answer.
    const burst = Array.from({ length: 32 }, status);
    await until('the first lookup', () => waiting.length > 0);
    await new Promise((r) => setTimeout(r, 100)); // every request has reached the authenticator
    answerAll();
    assert.deepEqual(await Promise.all(burst), Array(32).fill(200));
    assert.equal(lookups, 1, 'one lookup for the whole burst');

    // A revocation notice arrives while a lookup (after an earlier notice) is under way: its answer,
    // read before the revocation, serves the requests that waited for it but is not cached.
    notify!(hash);
    const during = status();
    await until('the second lookup', () => waiting.length > 0);
    notify!(hash); // the revocation's notice; the lookup under way answers from before it
    answerAll();
    valid = false;
    assert.equal(await during, 200, 'the lookup read the key as valid');
    const after = status();
    await until('a third lookup', () => waiting.length > 0);
    answerAll();
    assert.deepEqual([await after, lookups], [401, 3], 'not cached: the next request looked up again and was refused');
  } finally {
    close();
  }
});
