// Retry policies are data, named in the workflow input, so a test can run a policy with tiny delays and
// the time-skipping test server can run the real 72 h one in seconds. Workflow-safe: no Node imports, and
// randomness is passed in (inside a workflow, Math.random is Temporal's deterministic one).

/** Fixed waits between attempts, in ms: attempts = delays.length + 1. */
export interface FixedDelaysPolicy {
  name: string;
  delays: number[];
}

/** initial × coefficient^(n-1) after attempt n, minus up to `jitter` of it, never past maxSpan. */
export interface ExponentialPolicy {
  name: string;
  initial: number;
  coefficient: number;
  attempts: number;
  maxSpan: number;
  jitter: number;
}

export type RetryPolicy = FixedDelaysPolicy | ExponentialPolicy;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Events API: 13 attempts; waits 1, 2, 4 … 2048 min (up to 10 % shorter); last ≈ 68 h after the first. */
export const standardPolicy: ExponentialPolicy = {
  name: 'standard',
  initial: MINUTE,
  coefficient: 2,
  attempts: 13,
  maxSpan: 72 * HOUR,
  jitter: 0.1,
};

/** Classic actions: 5 attempts at 0 s, +5 s, +1 min, +3 min, +7 min (last ≈ 11 min after the first). */
export const classicPolicy: FixedDelaysPolicy = {
  name: 'classic',
  delays: [5 * SECOND, MINUTE, 3 * MINUTE, 7 * MINUTE],
};

export function isFixedDelays(policy: RetryPolicy): policy is FixedDelaysPolicy {
  return 'delays' in policy;
}

export function policyAttempts(policy: RetryPolicy): number {
  return isFixedDelays(policy) ? policy.delays.length + 1 : policy.attempts;
}

function baseDelay(policy: ExponentialPolicy, afterAttempt: number): number {
  return policy.initial * policy.coefficient ** (afterAttempt - 1);
}

/**
 * The wait after attempt `afterAttempt` (1-based) failed, or null when it was the last one.
 * `elapsedMs` is the time since the first attempt started; `random` a number in [0, 1).
 * Jitter only shortens a wait, so the schedule's bound holds whatever the draw; the maxSpan clamp keeps
 * the last attempt inside the window even when attempts themselves took long.
 */
export function nextDelay(policy: RetryPolicy, afterAttempt: number, elapsedMs: number, random: number): number | null {
  if (afterAttempt >= policyAttempts(policy)) return null;
  if (isFixedDelays(policy)) return policy.delays[afterAttempt - 1] ?? null;
  const jittered = baseDelay(policy, afterAttempt) * (1 - policy.jitter * random);
  let laterMinimum = 0;
  for (let n = afterAttempt + 1; n < policy.attempts; n++) laterMinimum += baseDelay(policy, n) * (1 - policy.jitter);
  const latest = policy.maxSpan - elapsedMs - laterMinimum;
  return Math.max(0, Math.round(Math.min(jittered, latest)));
}

/** The nominal schedule (no jitter): offsets from the first attempt, for docs and the API. */
export function nominalSchedule(policy: RetryPolicy): number[] {
  const offsets = [0];
  for (let n = 1; n < policyAttempts(policy); n++) {
    const wait = isFixedDelays(policy) ? policy.delays[n - 1]! : baseDelay(policy, n);
    offsets.push(offsets[n - 1]! + wait);
  }
  return offsets;
}

/**
 * The same schedule with every wait multiplied by `scale` (ANVIL_RETRY_TIME_SCALE): end-to-end and chaos
 * runs of the compiled processes see 13 attempts in minutes instead of 68 h. 1 returns the policy itself.
 */
export function scaledPolicy<P extends RetryPolicy>(policy: P, scale: number): P {
  if (scale === 1) return policy;
  const name = `${policy.name}-scaled-${scale}`;
  if (isFixedDelays(policy)) return { ...policy, name, delays: policy.delays.map((d) => Math.round(d * scale)) };
  return { ...policy, name, initial: policy.initial * scale, maxSpan: policy.maxSpan * scale };
}
