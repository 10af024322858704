// The service processes' PostgreSQL pool (infra/db.ts) keeps the connections it opened when they go idle,
// so a burst after a quiet spell does not start new backends (each one ~15 ms of CPU on this VM); the
// connections beyond `keepOpen` still close, a pool that keeps none empties, and ending the pool ends the
// kept backends too. Observed from PostgreSQL's side: which backend pids exist.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, type Db } from '../../infra/db';
import { requireEnv } from '../support/stack';

let observer: Db;
before(() => {
  observer = createDb(requireEnv('DATABASE_URL'), 1);
});
after(() => observer.end());

/** Checks out `n` connections at once (so the pool opens n), returns their backend pids, releases them. */
async function openAtOnce(db: Db, n: number): Promise<number[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => db.connect()));
  const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
  clients.forEach((c) => c.release());
  return pids;
}

async function liveBackends(pids: number[]): Promise<number[]> {
  const r = await observer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid', [pids]);
  return r.rows.map((row) => row.pid);
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

void test('keepOpen: the kept connections outlive the idle timeout and serve the next burst; the rest close', async () => {
  const db = createDb(requireEnv('DATABASE_URL'), 4, { keepOpen: 2, idleTimeoutMs: 100 });
  try {
    const first = await openAtOnce(db, 4);
    assert.equal(new Set(first).size, 4);
    await waitFor('the pool to shrink to the kept connections', async () => db.totalCount === 2);
    await sleep(300); // three more idle timeouts: the kept two stay
    assert.equal(db.totalCount, 2);
    const kept = await liveBackends(first);
    assert.equal(kept.length, 2, 'PostgreSQL still has exactly two of the four backends');
    // The next burst of two reuses those backends: no new one is started.
    const second = await openAtOnce(db, 2);
    assert.deepEqual([...second].sort((a, b) => a - b), kept);
  } finally {
    await db.end();
  }
});

void test('without keepOpen an idle pool empties; ending a pool ends its kept backends', async () => {
  const plain = createDb(requireEnv('DATABASE_URL'), 3, { idleTimeoutMs: 100 });
  const plainPids = await openAtOnce(plain, 3);
  await waitFor('the pool to empty', async () => plain.totalCount === 0);
  await waitFor('its backends to exit', async () => (await liveBackends(plainPids)).length === 0);
  await plain.end();

  const keeping = createDb(requireEnv('DATABASE_URL'), 3, { keepOpen: 3, idleTimeoutMs: 100 });
  const keptPids = await openAtOnce(keeping, 3);
  await sleep(300);
  assert.equal((await liveBackends(keptPids)).length, 3);
  await keeping.end();
  await waitFor('the kept backends to exit after end()', async () => (await liveBackends(keptPids)).length === 0);
});
