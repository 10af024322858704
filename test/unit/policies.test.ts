// Proves the declared retry schedules: the Events API's standardPolicy makes 13 attempts with nominal
// waits of 1, 2, 4 … 2048 min, and whatever the jitter draws (and attempts lasting up to the 10 s
// time-out) its last attempt lands between 61 h and 72 h after the first; the classic policy's attempts
// are at exactly 0 s, 5 s, 65 s, 245 s and 665 s; nextDelay says "no more" after the last attempt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classicPolicy,
  nextDelay,
  nominalSchedule,
  policyAttempts,
  scaledPolicy,
  standardPolicy,
  type RetryPolicy,
} from '../../domain/policies';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Start offsets (ms after the first attempt) of every attempt, as deliveryWorkflow computes them. */
function simulate(policy: RetryPolicy, random: () => number, attemptDuration: () => number): number[] {
  const offsets = [0];
  let elapsed = 0;
  for (let attempt = 1; ; attempt++) {
    elapsed += attemptDuration();
    const wait = nextDelay(policy, attempt, elapsed, random());
    if (wait === null) return offsets;
    assert.ok(wait >= 0, `wait after attempt ${attempt} is negative: ${wait}`);
    elapsed += wait;
    offsets.push(elapsed);
  }
}

void test('standardPolicy: 13 attempts, nominal waits 1, 2, 4 … 2048 min', () => {
  assert.equal(policyAttempts(standardPolicy), 13);
  const offsets = nominalSchedule(standardPolicy);
  assert.equal(offsets.length, 13);
  const waits = offsets.slice(1).map((o, i) => o - offsets[i]!);
  assert.deepEqual(
    waits.map((w) => w / MINUTE),
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
  );
  // 4095 min ≈ 68.25 h nominal.
  assert.equal(offsets[12], 4095 * MINUTE);
  // With no jitter drawn and instant attempts, nextDelay gives exactly the nominal waits.
  assert.deepEqual(simulate(standardPolicy, () => 0, () => 0), offsets);
});

void test('standardPolicy: for 1000 random draws the last attempt is ≥ 61 h and ≤ 72 h after the first', () => {
  for (let run = 0; run < 1000; run++) {
    // Every other run also lets each attempt take up to the 10 s HTTP time-out.
    const duration = run % 2 === 0 ? () => 0 : () => Math.random() * 10 * SECOND;
    const offsets = simulate(standardPolicy, Math.random, duration);
    assert.equal(offsets.length, 13, `run ${run}: ${offsets.length} attempts`);
    const last = offsets[12]!;
    assert.ok(last <= 72 * HOUR, `run ${run}: last attempt at ${(last / HOUR).toFixed(3)} h`);
    assert.ok(last >= 61 * HOUR, `run ${run}: last attempt at ${(last / HOUR).toFixed(3)} h`);
    for (let i = 1; i < offsets.length; i++) {
      const wait = offsets[i]! - offsets[i - 1]!;
      const nominal = 2 ** (i - 1) * MINUTE;
      // Jitter only shortens a wait, by at most 10 % (plus the time the attempt itself took).
      assert.ok(wait <= nominal + 10 * SECOND + 1, `run ${run}: wait ${i} is ${wait} ms`);
    }
  }
  // The extreme draws: every wait 10 % short, and none.
  const shortest = simulate(standardPolicy, () => 0.999_999, () => 0);
  assert.ok(shortest[12]! >= 61 * HOUR && shortest[12]! <= 72 * HOUR);
  const slowAttempts = simulate(standardPolicy, () => 0, () => 10 * SECOND);
  assert.ok(slowAttempts[12]! <= 72 * HOUR);
});

void test('standardPolicy: the 72 h bound holds even when attempts ran late', () => {
  // Suppose the worker was down for 10 h before attempt 12's wait was computed: the last wait shrinks.
  const elapsed = 4095 * MINUTE - 2048 * MINUTE + 10 * HOUR;
  const wait = nextDelay(standardPolicy, 12, elapsed, 0);
  assert.notEqual(wait, null);
  assert.ok(elapsed + wait! <= 72 * HOUR);
  // Past the window entirely: no negative wait.
  assert.equal(nextDelay(standardPolicy, 12, 80 * HOUR, 0), 0);
});

void test('classicPolicy: attempts at exactly 0 s, 5 s, 65 s, 245 s, 665 s', () => {
  assert.equal(policyAttempts(classicPolicy), 5);
  const expected = [0, 5 * SECOND, 65 * SECOND, 245 * SECOND, 665 * SECOND];
  assert.deepEqual(nominalSchedule(classicPolicy), expected);
  // No jitter: whatever the random draw, the same schedule.
  assert.deepEqual(simulate(classicPolicy, Math.random, () => 0), expected);
  assert.deepEqual(simulate(classicPolicy, () => 0.999, () => 0), expected);
});

void test('nextDelay returns null after the last attempt', () => {
  assert.equal(nextDelay(standardPolicy, 13, 68 * HOUR, 0.5), null);
  assert.equal(nextDelay(standardPolicy, 14, 68 * HOUR, 0.5), null);
  assert.notEqual(nextDelay(standardPolicy, 12, 34 * HOUR, 0.5), null);
  assert.equal(nextDelay(classicPolicy, 5, 665 * SECOND, 0.5), null);
  assert.equal(nextDelay(classicPolicy, 4, 245 * SECOND, 0.5), 7 * MINUTE);
  assert.equal(nextDelay(classicPolicy, 1, 0, 0.5), 5 * SECOND);
});

void test('scaledPolicy multiplies every wait and keeps the attempts (ANVIL_RETRY_TIME_SCALE)', () => {
  assert.equal(scaledPolicy(standardPolicy, 1), standardPolicy);
  const fast = scaledPolicy(standardPolicy, 0.01);
  assert.equal(policyAttempts(fast), 13);
  assert.deepEqual(nominalSchedule(fast), nominalSchedule(standardPolicy).map((ms) => ms * 0.01));
  assert.ok(fast.maxSpan === 72 * HOUR * 0.01);
  const classic = scaledPolicy(classicPolicy, 0.01);
  assert.deepEqual(nominalSchedule(classic), [0, 50, 650, 2450, 6650]);
  assert.notEqual(classic.name, classicPolicy.name);
});
