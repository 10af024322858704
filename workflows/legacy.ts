// The engine before one workflow per event, unchanged in what it commands, so that executions running at
// the upgrade finish on new workers and their histories replay: the old eventWorkflow (input without
// `targets`) fanned out with its `fanOut` local activity to one deliveryWorkflow per target, which ran the
// retry policy. Remove once none is running:
//   temporal workflow count --query "WorkflowType = 'deliveryWorkflow' AND ExecutionStatus = 'Running'"
import {
  condition,
  defineQuery,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { legacyCancelSignal as cancelSignal, legacyRetryNowSignal as retryNowSignal, searchAttributes as sa } from '../domain/contract';
import type { DeliveryStatus } from '../domain/delivery';
import type {
  LegacyAttemptRequest as AttemptRequest,
  LegacyAttemptResult as AttemptResult,
  LegacyDeliveryResult as DeliveryResult,
  LegacyDeliveryWorkflowInput as DeliveryWorkflowInput,
  LegacyEventWorkflowInput as EventWorkflowInput,
  LegacyPreparedClassicData as PreparedClassicData,
} from '../domain/legacy';
import { nextDelay, policyAttempts } from '../domain/policies';

// Local activities: they run inside the workflow task, so an attempt costs one marker event instead of
// three activity events and no extra task-queue round trip. Each attempt is still its own execution:
// postAttempt returns every HTTP outcome as data and throws only when nothing was sent (endpoint busy,
// database unreachable), so the retries below never repeat a request the receiver saw.
const { fanOut, prepareClassicData } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
const { postAttempt } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** Pauses before retrying an attempt that found its destination busy (nothing was sent). */
const BUSY_FIRST_PAUSE_MS = 1000;
const BUSY_MAX_PAUSE_MS = 30_000;

export interface DeliveryState {
  status: DeliveryStatus;
  attempts: AttemptResult[];
  nextAttemptAt: string | null;
}
export const deliveryStateQuery = defineQuery<DeliveryState>('deliveryState');

/** The old eventWorkflow's body: one local activity that resolved the targets and started deliveries. */
export async function legacyFanOut(input: EventWorkflowInput): Promise<{ deliveries: string[] }> {
  return fanOut(input);
}

function describeAttempt(r: AttemptResult): string {
  const outcome = r.statusCode !== null ? String(r.statusCode) : (r.error ?? 'error');
  return `attempt ${r.attempt}${r.manual ? ' (manual)' : ''} → ${outcome} in ${r.durationMs} ms`;
}

function describeWait(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryResult> {
  let retryRequested = false;
  let cancelReason: string | null = null;
  const attempts: AttemptResult[] = [];
  let status: DeliveryStatus = 'pending';
  let nextAttemptAt: string | null = null;

  setHandler(retryNowSignal, () => {
    retryRequested = true;
  });
  setHandler(cancelSignal, (reason) => {
    cancelReason = reason ?? 'canceled';
  });
  setHandler(deliveryStateQuery, () => ({ status, attempts, nextAttemptAt }));

  const finish = (final: DeliveryResult['status'], lastStatusCode: number | null): DeliveryResult => {
    status = final;
    nextAttemptAt = null;
    upsertSearchAttributes([
      { key: sa.status, value: final },
      { key: sa.attempts, value: (input.manual?.previousAttempts ?? 0) + attempts.length },
      { key: sa.nextAttemptAt, value: null },
      ...(lastStatusCode !== null ? [{ key: sa.lastStatusCode, value: lastStatusCode }] : []),
    ]);
    setCurrentDetails(`${final} after ${attempts.length} attempt(s)`);
    return { status: final, attempts };
  };

  // Prepared once, so every attempt carries identical bytes: the Events API body is serialized here
  // (deterministically); classic data is encrypted once, in an activity, because encryption is random.
  const body = input.payload.kind === 'event' ? JSON.stringify(input.payload.envelope) : undefined;
  let classic: AttemptRequest['classic'];
  if (input.payload.kind === 'classic') {
    const prepared: PreparedClassicData = await prepareClassicData({
      tenantId: input.tenantId,
      data: input.payload.data,
    });
    classic = { action: input.payload.action, data: prepared.encrypted ? prepared.data : input.payload.data };
  }

  const firstNumber = (input.manual?.previousAttempts ?? 0) + 1;
  const plannedAttempts = input.manual ? 1 : policyAttempts(input.policy);
  const firstAttemptAt = Date.now();
  let lastStatusCode: number | null = null;
  let manualNext = input.manual !== undefined;

  for (let i = 0; i < plannedAttempts; i++) {
    if (cancelReason !== null) return finish('canceled', lastStatusCode);
    const number = firstNumber + i;
    const manual = manualNext;
    manualNext = false;
    retryRequested = false;
    const attempt = () =>
      postAttempt.executeWithOptions(
        { startToCloseTimeout: '30s', summary: `attempt ${number}${manual ? ' (manual)' : ''}` },
        [{ deliveryId: input.deliveryId, tenantId: input.tenantId, eventId: input.eventId, attempt: number, target: input.target, body, classic, ...(manual ? { manual } : {}) }],
      );
    let result = await attempt();
    // Nothing was sent: this worker already has its cap of requests in flight to that destination. Wait
    // on a short durable timer (the workflow can leave the cache meanwhile) and make the same attempt.
    for (let busyRound = 0; result.busy && cancelReason === null; busyRound++) {
      const pause = Math.round(Math.min(BUSY_MAX_PAUSE_MS, BUSY_FIRST_PAUSE_MS * 2 ** busyRound) * (0.5 + Math.random() / 2));
      await sleep(pause, { summary: `attempt ${number}: destination busy, waiting ${describeWait(pause)}` });
      if (cancelReason === null) result = await attempt();
    }
    if (cancelReason !== null) return finish('canceled', lastStatusCode);
    if (result.canceled) {
      cancelReason = result.error ?? 'target removed';
      return finish('canceled', lastStatusCode);
    }
    // postAttempt echoes `manual` into its result: the delivery log reads the recorded results.
    attempts.push(result);
    lastStatusCode = result.statusCode;
    if (result.ok) return finish('succeeded', lastStatusCode);

    const wait = nextDelay(input.policy, i + 1, Date.now() - firstAttemptAt, Math.random());
    if (wait === null || input.manual) break;
    status = 'retrying';
    nextAttemptAt = new Date(Date.now() + wait).toISOString();
    upsertSearchAttributes([
      { key: sa.status, value: 'retrying' },
      { key: sa.attempts, value: number },
      { key: sa.nextAttemptAt, value: new Date(nextAttemptAt) },
      ...(lastStatusCode !== null ? [{ key: sa.lastStatusCode, value: lastStatusCode }] : []),
    ]);
    const line = `${describeAttempt(result)}; next attempt in ${describeWait(wait)}`;
    setCurrentDetails(line);
    // The timer is durable: a worker restart resumes the wait. retryNow or cancel end it early.
    const interrupted = await condition(() => retryRequested || cancelReason !== null, wait, { summary: line });
    if (interrupted && retryRequested && cancelReason === null) manualNext = true;
  }
  return finish(cancelReason !== null ? 'canceled' : 'failed', lastStatusCode);
}

