// Orchestration only: no I/O, clock or randomness outside Temporal's APIs (activities do all I/O).
//
// eventWorkflow: one per accepted event (or per partition of a large fan-out). It delivers to every target
// itself: the first attempt to all targets inside its first workflow task (local activities, concurrent,
// bounded), then each failing target on its own policy with its own durable timers, until every target has
// succeeded, failed (policy exhausted) or been canceled.
//
// The happy path is the cheapest thing Temporal does: started eagerly by the API's own worker, the first
// task runs the attempts and completes the workflow: 2 state transitions and, for one target, 6 history
// events (started, task scheduled/started/completed, the attempt's marker, completed). Nothing else is
// written until a target leaves that path: from then on every change of a target's state is upserted
// (search attribute tokens for the delivery log's filters, the target's memo entry for its summary).
import {
  condition,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  cancelSignal,
  deliveryStateQuery,
  resendSignal,
  retryNowSignal,
  searchAttributes as sa,
  type TargetSelector,
  type TargetView,
} from '../domain/contract';
import type {
  AttemptRequest,
  AttemptResult,
  DeliveryStatus,
  EventWorkflowInput,
  EventWorkflowResult,
  PreparedClassicData,
  Target,
  TrackedTarget,
} from '../domain/delivery';
import type { LegacyEventWorkflowInput } from '../domain/legacy';
import { nextDelay, policyAttempts } from '../domain/policies';
import { legacyFanOut } from './legacy';

// An attempt returns every HTTP outcome as data and throws only when nothing was sent (the database was
// unreachable), so the local-activity retry below never repeats a request a receiver saw.
const { attempt: attemptActivity } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** First attempts (and any attempts at once) per workflow; the worker's slots bound them further. */
export const MAX_CONCURRENT_ATTEMPTS = 20;
/** Pauses before repeating an attempt that found its destination busy (nothing was sent). */
const BUSY_FIRST_PAUSE_MS = 1000;
const BUSY_MAX_PAUSE_MS = 30_000;

interface TargetState {
  target: Target;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  /** Classic: the data as every attempt after the first sends it. */
  prepared?: PreparedClassicData;
  retryRequested: boolean;
  cancelReason: string | null;
  /** A delivery loop is running for this target. */
  active: boolean;
}

const FINAL: readonly DeliveryStatus[] = ['succeeded', 'failed', 'canceled'];

function describeWait(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function describeOutcome(r: AttemptResult): string {
  return r.statusCode !== null ? String(r.statusCode) : (r.error ?? 'error');
}

export async function eventWorkflow(input: EventWorkflowInput | LegacyEventWorkflowInput): Promise<EventWorkflowResult | { deliveries: string[] }> {
  // An event accepted before the upgrade: its history holds the old fan-out, which must replay as it ran.
  if (!('targets' in input)) return legacyFanOut(input);

  const body = input.envelope ? JSON.stringify(input.envelope) : undefined;
  const states = new Map<string, TargetState>(
    input.targets.map((target) => [
      target.id,
      {
        target,
        status: 'pending',
        attempts: input.resend?.previousAttempts ?? 0,
        lastStatusCode: null,
        lastError: null,
        nextAttemptAt: null,
        retryRequested: false,
        cancelReason: null,
        active: false,
      },
    ]),
  );
  // A re-run starts tracked: its start memo already holds the target's state.
  let tracked = input.resend !== undefined;
  let running = 0;
  let inFlight = 0;
  let failure: unknown = null;
  // One jitter draw per attempt number for the whole workflow: targets that failed the same attempt in
  // the same workflow task wait exactly as long, so their timers fire together and wake the workflow once
  // (jitter spreads different events' retries to one endpoint; one event's endpoints differ anyway).
  const draws: number[] = [];
  const jitterDraw = (attemptNumber: number) => (draws[attemptNumber] ??= Math.random());

  const selected = (sel: TargetSelector | undefined) =>
    sel?.target !== undefined ? [states.get(sel.target)].filter((t): t is TargetState => t !== undefined) : [...states.values()];

  const entry = (t: TargetState): TrackedTarget => ({
    status: t.status,
    attempts: t.attempts,
    last_status_code: t.lastStatusCode,
    next_attempt_at: t.nextAttemptAt,
  });

  /**
   * A target's new state. Nothing is written while every target is on the happy path; from the first
   * target that leaves it on, every change is written at once: the status tokens of all targets (the list
   * filters) and the changed target's memo entry (its summary; all of them the first time). Written at
   * the change itself, never batched per activation: how local-activity results split into activations
   * differs between a live run and its replay, so a batched write would not replay.
   */
  const changed = (t: TargetState, status: DeliveryStatus, offHappyPath: boolean) => {
    t.status = status;
    if (!tracked && !offHappyPath) return;
    const first = !tracked;
    tracked = true;
    const tokens = new Set<string>();
    const counts = new Map<DeliveryStatus, number>();
    for (const [id, other] of states) {
      tokens.add(other.status);
      tokens.add(`${id}:${other.status}`);
      counts.set(other.status, (counts.get(other.status) ?? 0) + 1);
    }
    upsertSearchAttributes([{ key: sa.targetStates, value: [...tokens].sort() }]);
    upsertMemo(first ? Object.fromEntries([...states].map(([id, other]) => [id, entry(other)])) : { [t.target.id]: entry(t) });
    setCurrentDetails([...counts].map(([s, n]) => `${n} ${s}`).join(', '));
  };

  const send = async (t: TargetState, number: number, manual: boolean): Promise<AttemptResult> => {
    while (inFlight >= MAX_CONCURRENT_ATTEMPTS) await condition(() => inFlight < MAX_CONCURRENT_ATTEMPTS);
    inFlight++;
    try {
      const request: AttemptRequest = {
        eventId: input.eventId,
        tenantId: input.tenantId,
        target: t.target,
        attempt: number,
        ...(manual ? { manual } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(input.classic ? { classic: { ...input.classic, ...(t.prepared ? { prepared: t.prepared } : {}) } } : {}),
      };
      return await attemptActivity.executeWithOptions(
        { startToCloseTimeout: '30s', summary: `attempt ${number}${manual ? ' (manual)' : ''} → ${t.target.id}` },
        [request],
      );
    } finally {
      inFlight--;
    }
  };

  /** One target's delivery: `attempts` attempts of the policy (or one manual attempt), timers between. */
  const deliver = async (t: TargetState, manualOnce: boolean) => {
    const firstAttemptAt = Date.now();
    const planned = manualOnce ? 1 : policyAttempts(input.policy);
    let manualNext = manualOnce;
    for (let i = 0; i < planned; i++) {
      if (t.cancelReason !== null) return changed(t, 'canceled', true);
      const number = t.attempts + 1;
      const manual = manualNext;
      manualNext = false;
      t.retryRequested = false;
      let result = await send(t, number, manual);
      // Nothing was sent: this worker already has its cap of requests in flight to that destination. Wait
      // on a short durable timer (the workflow may leave the cache meanwhile) and make the same attempt.
      for (let round = 0; result.busy && t.cancelReason === null; round++) {
        if (result.prepared) t.prepared = result.prepared;
        const pause = Math.round(Math.min(BUSY_MAX_PAUSE_MS, BUSY_FIRST_PAUSE_MS * 2 ** round) * (0.5 + Math.random() / 2));
        changed(t, 'pending', true);
        await sleep(pause, { summary: `attempt ${number} → ${t.target.id}: destination busy, waiting ${describeWait(pause)}` });
        if (t.cancelReason === null) result = await send(t, number, manual);
      }
      if (result.prepared) t.prepared = result.prepared;
      if (result.canceled) {
        t.cancelReason = result.error ?? 'target removed';
        return changed(t, 'canceled', true);
      }
      if (result.busy) return changed(t, 'canceled', true); // canceled while it waited for a free slot
      t.attempts = number;
      t.lastStatusCode = result.statusCode;
      t.lastError = result.error;
      t.nextAttemptAt = null;
      if (result.ok) return changed(t, 'succeeded', false);
      if (t.cancelReason !== null) return changed(t, 'canceled', true);
      const wait = manualOnce ? null : nextDelay(input.policy, i + 1, Date.now() - firstAttemptAt, jitterDraw(i + 1));
      if (wait === null) return changed(t, 'failed', true);
      t.nextAttemptAt = new Date(Date.now() + wait).toISOString();
      changed(t, 'retrying', true);
      const line = `attempt ${number} → ${t.target.id}: ${describeOutcome(result)} in ${result.durationMs} ms; next attempt in ${describeWait(wait)}`;
      // The timer is durable: a worker restart resumes the wait. retryNow or cancel end it early.
      const interrupted = await condition(() => t.retryRequested || t.cancelReason !== null, wait, { summary: line });
      t.nextAttemptAt = null;
      if (interrupted && t.retryRequested && t.cancelReason === null) manualNext = true;
    }
  };

  const spawn = (t: TargetState, manualOnce: boolean) => {
    t.active = true;
    running++;
    deliver(t, manualOnce)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        t.active = false;
        running--;
      });
  };

  /** A finished target sent once more (retry now / re-send of a delivery that already ended). */
  const resend = (t: TargetState) => {
    if (t.active) return;
    t.cancelReason = null;
    changed(t, 'pending', true);
    spawn(t, true);
  };

  setHandler(retryNowSignal, (sel) => {
    for (const t of selected(sel)) {
      if (t.status === 'retrying') t.retryRequested = true;
      else if (sel?.target !== undefined && FINAL.includes(t.status)) resend(t);
    }
  });
  setHandler(resendSignal, (sel) => {
    for (const t of selected(sel)) {
      if (t.status === 'retrying') t.retryRequested = true;
      else if (FINAL.includes(t.status)) resend(t);
    }
  });
  setHandler(cancelSignal, (sel) => {
    for (const t of selected(sel)) {
      if (FINAL.includes(t.status)) continue;
      t.cancelReason = sel.reason;
      // A target waiting on its timer ends now; one in the middle of an attempt ends after it.
      if (!t.active) changed(t, 'canceled', true);
    }
  });
  setHandler(deliveryStateQuery, () =>
    Object.fromEntries(
      [...states].map(([id, t]): [string, TargetView] => [
        id,
        { status: t.status, attempts: t.attempts, lastStatusCode: t.lastStatusCode, nextAttemptAt: t.nextAttemptAt, lastError: t.lastError },
      ]),
    ),
  );

  for (const t of states.values()) spawn(t, input.resend !== undefined);
  await condition(() => running === 0 || failure !== null);
  if (failure !== null) throw failure; // a bug, not a delivery outcome: fail the task, retry it fixed
  return { targets: [...states].map(([id, t]) => ({ id, status: t.status, attempts: t.attempts })) };
}
