// Claims gathered into shared statements (infra/event-claims.ts) on the real PostgreSQL: each publish gets
// exactly its own answer (inserted or the stored row, its tenant's subscribed endpoints for its type), a
// repeated id is inserted once however the repeats are batched, and a burst costs far fewer statements
// than publishes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createDb, type Db } from '../../infra/db';
import { createEventClaims } from '../../infra/event-claims';
import { createStore, type Tenant } from '../../infra/store';
import { requireEnv } from '../support/stack';

let db: Db;
let statements = 0;

before(() => {
  db = createDb(requireEnv('DATABASE_URL'));
  const query = db.query.bind(db) as (...args: unknown[]) => unknown;
  (db as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements += 1;
    return query(...args);
  };
});
after(() => db.end());

const body = (id: string, type: string, data: Record<string, unknown>) => ({ id, type, data, created: new Date().toISOString() });

void test('200 concurrent publishes over two tenants, with repeats: one row per id, the right subscriptions, few statements', async () => {
  const store = createStore(db);
  const tenants: Tenant[] = [];
  for (const name of ['claims-a', 'claims-b']) tenants.push((await store.createTenant(name, 'enterprise')).tenant);
  const [a, b] = tenants as [Tenant, Tenant];
  const ep = async (t: Tenant, events: string[]) =>
    (await store.createEndpoint(t, { url: 'https://example.com/hook', events, description: null, filter: null })).id;
  const aCreated = await ep(a, ['lead.created']);
  const aBoth = await ep(a, ['lead.created', 'lead.deleted']);
  const bCreated = await ep(b, ['lead.created']);
  const disabled = await ep(a, ['lead.created']);
  await db.query(`UPDATE endpoints SET status = 'disabled' WHERE id = $1`, [disabled]);

  const claims = createEventClaims(db);
  const run = `${Date.now()}`;
  const publishes = Array.from({ length: 200 }, (_, i) => {
    const tenant = i % 2 === 0 ? a : b;
    const type = i % 3 === 0 ? 'lead.deleted' : 'lead.created';
    // Every tenth publish repeats the id of the one before it.
    const n = i % 10 === 9 ? i - 1 : i;
    const id = `evt_claims_${run}_${n}`;
    const kind = i % 7 === 0 ? ('classic' as const) : ('event' as const);
    return { id, tenant_id: tenant.id, kind, type, body: body(id, type, { i }) };
  });
  // Repeats go with their original's tenant, type and kind (the same request sent twice).
  for (let i = 9; i < 200; i += 10) publishes[i] = { ...publishes[i - 1]!, body: body(publishes[i - 1]!.id, publishes[i - 1]!.type, { i: i - 1 }) };

  const before = statements;
  const results = await Promise.all(publishes.map((p) => claims.claim(p)));
  const used = statements - before;
  console.log(`[event-claims] 200 concurrent claims (20 repeated ids) took ${used} statements`);
  assert.ok(used <= 40, `${used} statements for 200 claims`);

  const ids = new Set(publishes.map((p) => p.id));
  const rows = await db.query<{ id: string; n: string }>('SELECT id, count(*) AS n FROM events WHERE id = ANY($1::text[]) GROUP BY id', [[...ids]]);
  assert.equal(rows.rows.length, ids.size, 'every id has its row');
  assert.ok(rows.rows.every((r) => r.n === '1'));
  for (const id of ids) {
    const mine = results.filter((_, i) => publishes[i]!.id === id);
    assert.equal(mine.filter((r) => r.inserted).length, 1, `${id}: inserted by exactly one publish`);
    // The repeat gets the stored row: the first publish's body.
    for (const r of mine) assert.deepEqual(r.row.body, publishes.find((p) => p.id === id)!.body);
  }
  results.forEach((r, i) => {
    const p = publishes[i]!;
    const expected =
      p.kind === 'classic' ? [] : p.tenant_id === a.id ? (p.type === 'lead.created' ? [aCreated, aBoth] : [aBoth]) : p.type === 'lead.created' ? [bCreated] : [];
    assert.deepEqual(r.subscribed.map((e) => e.id).sort(), [...expected].sort(), `publish ${i} (${p.kind} ${p.type})`);
    for (const e of r.subscribed) assert.equal(e.url, 'https://example.com/hook');
  });

  // One publish alone: one statement.
  const single = statements;
  const alone = await claims.claim({ id: `evt_claims_${run}_alone`, tenant_id: a.id, kind: 'event', type: 'lead.deleted', body: {} });
  assert.equal(statements - single, 1);
  assert.deepEqual([alone.inserted, alone.subscribed.map((e) => e.id)], [true, [aBoth]]);
});

void test('a failed statement fails every publish in it, and the next ones still go through', async () => {
  const claims = createEventClaims(db);
  const bad = await Promise.allSettled([
    claims.claim({ id: `evt_claims_bad_${Date.now()}`, tenant_id: 'ten_none', kind: 'event', type: 'lead.created', body: {} }),
  ]);
  // events.tenant_id references tenants: an unknown tenant is refused by PostgreSQL.
  assert.equal(bad[0]!.status, 'rejected');
  const store = createStore(db);
  const { tenant } = await store.createTenant('claims-c', 'pro');
  const ok = await claims.claim({ id: `evt_claims_ok_${Date.now()}`, tenant_id: tenant.id, kind: 'event', type: 'lead.created', body: {} });
  assert.equal(ok.inserted, true);
});
