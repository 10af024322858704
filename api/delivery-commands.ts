// What a user (or the API itself) asks of deliveries: retry now, re-send, recover a window of failures,
// and cancel the pending ones of an endpoint or a tenant. Running workflows are signaled; a delivery whose
// workflow has closed is re-sent by a new run of the same workflow id for that target only.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  cancelSignal,
  legacyCancelSignal,
  legacyRetryNowSignal,
  retryNowSignal,
  workflowTypes,
} from '../domain/contract';
import type { EventWorkflowInput } from '../domain/delivery';
import type { LegacyDeliveryWorkflowInput } from '../domain/legacy';
import { recoverSchema } from '../domain/schemas';
import { eventStartOptions } from '../infra/start-options';
import type { Store } from '../infra/store';
import { listAll } from '../infra/visibility';
import { allDeliveries, deliveryQuery, locateDelivery, type LocatedDelivery } from './delivery-log';
import { ApiError, parseWith } from './errors';

export interface CommandDeps {
  temporal: Client;
  store: Store;
  taskQueue: string;
  eagerStart: boolean;
}

/** The recorded input of a run, turned into the input of a re-run for one target. */
async function resendInput(deps: CommandDeps, located: LocatedDelivery): Promise<EventWorkflowInput> {
  const run = located.runs.at(-1)!;
  const history = await deps.temporal.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new ApiError(409, 'not_resendable', `delivery ${located.eventId}:${located.targetId} has no recorded input`);
  const recorded = deps.temporal.options.loadedDataConverter.payloadConverter.fromPayload(payload);
  const resend = { previousAttempts: located.summary.attempts };
  if (run.type === workflowTypes.legacyDelivery) {
    const legacy = recorded as LegacyDeliveryWorkflowInput;
    const payloadOf = legacy.payload;
    return {
      kind: payloadOf.kind,
      eventId: legacy.eventId,
      tenantId: legacy.tenantId,
      eventType: legacy.eventType,
      ...(payloadOf.kind === 'event' ? { envelope: payloadOf.envelope } : { classic: { action: payloadOf.action, data: payloadOf.data } }),
      targets: [legacy.target.type === 'endpoint' ? { id: legacy.target.endpointId } : { id: 'classic', url: legacy.target.url, source: legacy.target.source }],
      policy: legacy.policy,
      resend,
    };
  }
  const input = recorded as EventWorkflowInput;
  const target = input.targets.find((t) => t.id === located.targetId);
  if (!target) throw new ApiError(409, 'not_resendable', `delivery ${located.eventId}:${located.targetId} is not in its recorded input`);
  return { ...input, targets: [target], resend };
}

/**
 * Retry now: a delivery waiting for its next attempt is attempted at once; a finished one is sent again,
 * with the same event id, numbered after its earlier attempts (by its workflow while that still runs,
 * else by a new run of the same workflow id for that target only).
 */
export async function retryDelivery(deps: CommandDeps, tenantId: string, id: string): Promise<'signaled' | 'resent'> {
  let located = await locateDelivery(deps, tenantId, id);
  const run = located.runs.at(-1)!;
  if (run.status.name === 'RUNNING') {
    try {
      const handle = deps.temporal.workflow.getHandle(run.workflowId, run.runId);
      if (run.type === workflowTypes.legacyDelivery) await handle.signal(legacyRetryNowSignal);
      else await handle.signal(retryNowSignal, { target: located.targetId });
      return 'signaled';
    } catch (err) {
      // It finished between the look-up and the signal: re-send it, numbered after its final attempts.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      located = await locateDelivery(deps, tenantId, id);
    }
  }
  const input = await resendInput(deps, located);
  try {
    const handle = await deps.temporal.workflow.start(
      workflowTypes.event,
      eventStartOptions(input, deps.taskQueue, {
        eager: deps.eagerStart,
        resendOf: { status: 'pending', attempts: located.summary.attempts, last_status_code: located.summary.last_status_code, next_attempt_at: null },
      }),
    );
    await deps.store.recordResend(located.eventId, located.targetId, handle.firstExecutionRunId);
  } catch (err) {
    // Two retries at once: the other one started the re-send.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return 'resent';
}

/** Disabling or deleting an endpoint, or deleting a tenant, cancels the deliveries still pending. */
export async function cancelDeliveries(
  deps: Pick<CommandDeps, 'temporal'>,
  tenantId: string,
  scope: { endpointId?: string },
  reason: string,
): Promise<number> {
  let n = 0;
  const running = await listAll(deps.temporal, deliveryQuery({ tenantId, endpointId: scope.endpointId, running: true }));
  for (const info of running) {
    const handle = deps.temporal.workflow.getHandle(info.workflowId, info.runId);
    const signaled =
      info.type === workflowTypes.legacyDelivery
        ? handle.signal(legacyCancelSignal, reason)
        : handle.signal(cancelSignal, { ...(scope.endpointId ? { target: scope.endpointId } : {}), reason });
    await signaled.then(
      () => n++,
      (err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      },
    );
  }
  return n;
}

/** Re-sends every failed delivery of an endpoint created inside [since, until). */
export async function recoverEndpoint(deps: CommandDeps, tenantId: string, endpointId: string, body: unknown): Promise<number> {
  const input = parseWith(recoverSchema, body ?? {});
  const since = new Date(input.since).toISOString();
  const until = input.until ? new Date(input.until).toISOString() : undefined;
  const failed = (await allDeliveries(deps, { tenantId, endpointId, status: 'failed' })).filter(
    (d) => d.created_at >= since && (until === undefined || d.created_at < until),
  );
  for (const d of failed) await retryDelivery(deps, tenantId, d.id);
  return failed.length;
}
