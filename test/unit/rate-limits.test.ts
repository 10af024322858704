// The publish limiter leases points from the shared counter: what it lets through must never exceed the
// limit of a window, whichever instance asks, and it must ask the shared counter about once per lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { leaseSize, leasedLimiter } from '../../api/rate-limits';

/** A shared counter (as RateLimiterPostgres would be) that counts the queries made to it. */
function sharedCounter(points: number): { store: RateLimiterAbstract; queries: () => number } {
  const store = new RateLimiterMemory({ points, duration: 1 });
  let queries = 0;
  const consume = store.consume.bind(store);
  store.consume = (key: string | number, n?: number) => {
    queries += 1;
    return consume(key, n);
  };
  return { store, queries: () => queries };
}

void test('lease sizes: a tenth of the limit, at least 1 and at most 100', () => {
  assert.deepEqual([1, 5, 19, 20, 200, 1000, 1_000_000].map(leaseSize), [1, 1, 1, 2, 20, 100, 100]);
});

void test('200/s over three instances: exactly 200 allowed in the window, in about one query per 20 publishes', async () => {
  const shared = sharedCounter(200);
  const instances = [0, 1, 2].map(() => leasedLimiter(shared.store, 200));
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => instances[i % 3]!.consume('ten_a')));
  const allowed = results.filter((r) => r.allowed);
  assert.equal(allowed.length, 200, 'every point of the window is spent, none twice');
  assert.ok(results.filter((r) => !r.allowed).every((r) => r.remaining === 0 && r.resetMs > 0 && r.resetMs <= 1000));
  assert.ok(allowed.every((r) => r.limit === 200 && r.remaining >= 0 && r.remaining < 200));
  assert.ok(shared.queries() <= 200 / 20 + 3 * 2, `${shared.queries()} queries to the shared counter`);
  // Another key has its own budget.
  assert.equal((await instances[0]!.consume('ten_b')).allowed, true);
});

void test('a lease that crosses the limit keeps what was left of the window', async () => {
  const shared = sharedCounter(25); // leases of 2 points: the 13th lease finds 1 point left
  const limiter = leasedLimiter(shared.store, 25);
  const results = [];
  for (let i = 0; i < 30; i++) results.push(await limiter.consume('ten_a'));
  assert.equal(results.filter((r) => r.allowed).length, 25);
  assert.deepEqual(
    results.slice(23).map((r) => r.allowed),
    [true, true, false, false, false, false, false],
  );
});

void test('small limits are counted one by one in the shared counter, and a new window starts afresh', async () => {
  const shared = sharedCounter(5);
  let clock = 1_000_000;
  const limiter = leasedLimiter(shared.store, 5, () => clock);
  const first = [];
  for (let i = 0; i < 7; i++) first.push(await limiter.consume('ten_a'));
  assert.deepEqual(
    first.map((r) => [r.allowed, r.remaining]),
    [[true, 4], [true, 3], [true, 2], [true, 1], [true, 0], [false, 0], [false, 0]],
  );
  assert.equal(shared.queries(), 7);
  // The shared window (RateLimiterMemory's own clock) ends after a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  clock += 1100;
  assert.equal((await limiter.consume('ten_a')).allowed, true);
});
