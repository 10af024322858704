// `anvil-webhooks deliveries tail` (packages/anvil-webhooks/src/cli/tail.ts) over a delivery log held in
// memory, newest first as GET /v1/deliveries lists it: what each poll prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTail, tailLine, type TailDelivery } from '../../packages/anvil-webhooks/src/cli/tail.js';

function log() {
  const rows: TailDelivery[] = []; // oldest first
  const reads: string[] = [];
  let n = 0;
  return {
    reads,
    add(status = 'succeeded', attempts = 1): TailDelivery {
      const d = { id: `evt_${String(++n).padStart(8, '0')}:ep_1`, event_type: 'lead.created', status, attempts, last_status_code: status === 'succeeded' ? 200 : 500, next_attempt_at: null };
      rows.push(d);
      return d;
    },
    set(id: string, change: Partial<TailDelivery>) {
      Object.assign(rows.find((d) => d.id === id)!, change);
    },
    remove(id: string) {
      rows.splice(rows.findIndex((d) => d.id === id), 1);
    },
    source: {
      newest: (limit: number) => Promise.resolve(rows.slice(-limit).reverse().map((d) => ({ ...d }))),
      one: (id: string) => {
        reads.push(id);
        const d = rows.find((r) => r.id === id);
        return Promise.resolve(d ? { ...d } : null);
      },
    },
  };
}

const ids = (ds: TailDelivery[]) => ds.map((d) => `${d.id} ${d.status}/${d.attempts}`);

void test('the first poll prints nothing; then each change once, oldest first; unchanged deliveries are not repeated', async () => {
  const l = log();
  const a = l.add('retrying', 1);
  const tail = createTail(l.source, { pageSize: 5 });
  assert.deepEqual(await tail.poll(), []);
  const b = l.add();
  const c = l.add('pending', 0);
  assert.deepEqual(ids(await tail.poll()), [`${b.id} succeeded/1`, `${c.id} pending/0`]);
  assert.deepEqual(await tail.poll(), []);
  l.set(a.id, { status: 'succeeded', attempts: 2, last_status_code: 200 });
  assert.deepEqual(ids(await tail.poll()), [`${a.id} succeeded/2`]);
});

void test('a retrying delivery pushed off the newest page by newer ones is still shown when it finishes', async () => {
  const l = log();
  const old = l.add('retrying', 1);
  const tail = createTail(l.source, { pageSize: 5 });
  await tail.poll();
  const burst = Array.from({ length: 12 }, () => l.add());
  const printed = ids(await tail.poll());
  // The page shows the newest five; the older seven of the burst finished off the page and are not read one by one.
  assert.deepEqual(printed, burst.slice(-5).map((d) => `${d.id} succeeded/1`));
  l.set(old.id, { status: 'retrying', attempts: 2, next_attempt_at: '2026-12-03T12:00:00.000Z' });
  assert.deepEqual(ids(await tail.poll()), [`${old.id} retrying/2`]);
  l.set(old.id, { status: 'failed', attempts: 3, next_attempt_at: null });
  const [failed] = await tail.poll();
  assert.match(tailLine(failed!), new RegExp(`^\\d\\d:\\d\\d:\\d\\d  ${old.id}  lead\\.created  failed \\[500\\] after 3 attempt\\(s\\)$`));
  // Finished: no longer read.
  const readsBefore = l.reads.length;
  await tail.poll();
  await tail.poll();
  assert.equal(l.reads.length, readsBefore);
  assert.equal(l.reads.filter((id) => burst.some((d) => d.id === id)).length, 0);
});

void test('watched deliveries are read a few per poll, in turn; one that no longer exists is dropped', async () => {
  const l = log();
  const waiting = Array.from({ length: 6 }, () => l.add('retrying', 1));
  const tail = createTail(l.source, { pageSize: 2, checksPerPoll: 2 });
  await tail.poll(); // the newest two are on the page; the other four are not known yet
  l.add();
  l.add();
  await tail.poll(); // the two retrying ones that were on the page left it: watched
  assert.deepEqual(l.reads, []);
  l.remove(waiting[4]!.id);
  l.set(waiting[5]!.id, { status: 'succeeded', attempts: 2 });
  assert.deepEqual(ids(await tail.poll()), [`${waiting[5]!.id} succeeded/2`]);
  assert.deepEqual(l.reads, [waiting[4]!.id, waiting[5]!.id]);
  await tail.poll();
  assert.deepEqual(l.reads, [waiting[4]!.id, waiting[5]!.id], 'both left the watch: one is gone, one finished');
});
