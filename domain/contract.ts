// The contract between the API and the workflows, defined once: workflow types, signals, queries,
// search attributes and activity names. Workflow-safe (imported by workflows/).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DeliveryStatus } from './delivery';

export const workflowTypes = {
  /** One per accepted event (per partition of its targets): delivers to every target itself. */
  event: 'eventWorkflow',
  /** Before the one-workflow-per-event engine: one per delivery. Registered until drained. */
  legacyDelivery: 'deliveryWorkflow',
} as const;

export const activityTypes = {
  /** One attempt to one target: sign (or encrypt once) and POST. */
  attempt: 'attempt',
  /** The legacy deliveryWorkflow's attempt (its histories record this name). */
  legacyAttempt: 'postAttempt',
} as const;

/** Which targets a signal is for: one target (an endpoint id, or "classic"), or all of them. */
export interface TargetSelector {
  target?: string;
}

/** Waiting targets attempt now; a finished target named by `target` is re-sent (one manual attempt). */
export const retryNowSignal = defineSignal<[TargetSelector?]>('retryNow');
/** A finished target is sent once more while the workflow runs; a waiting one attempts now. */
export const resendSignal = defineSignal<[Required<TargetSelector>]>('resend');
/** Targets not finished yet end `canceled` (endpoint disabled or deleted, tenant deleted). */
export const cancelSignal = defineSignal<[TargetSelector & { reason: string }]>('cancel');

export interface TargetView {
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}
/** Every target's state, as the workflow knows it now. */
export const deliveryStateQuery = defineQuery<Record<string, TargetView>>('deliveryState');

/**
 * The delivery log is one visibility query over these (registered by infra/namespace.ts). An event
 * workflow names its tenant, event, type and targets at start; per-target status is upserted only once a
 * target leaves the happy path (a first attempt that fails, waits, or is canceled), as tokens
 * `<status>` and `<target>:<status>` for every target. The legacy deliveryWorkflow used the others.
 */
export const searchAttributes = {
  tenantId: defineSearchAttributeKey('AnvilTenantId', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('AnvilEventId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('AnvilEventType', SearchAttributeType.KEYWORD),
  endpointIds: defineSearchAttributeKey('AnvilEndpointIds', SearchAttributeType.KEYWORD_LIST),
  targetStates: defineSearchAttributeKey('AnvilTargetStates', SearchAttributeType.KEYWORD_LIST),
  // legacy deliveryWorkflow
  endpointId: defineSearchAttributeKey('AnvilEndpointId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('AnvilDeliveryStatus', SearchAttributeType.KEYWORD),
  attempts: defineSearchAttributeKey('AnvilAttempts', SearchAttributeType.INT),
  lastStatusCode: defineSearchAttributeKey('AnvilLastStatusCode', SearchAttributeType.INT),
  nextAttemptAt: defineSearchAttributeKey('AnvilNextAttemptAt', SearchAttributeType.DATETIME),
} as const;

/** The SDK core's marker for a local activity's result: the attempts of the delivery log. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/**
 * Targets per event workflow. A search attribute value holds at most 2 KB (the server's default
 * limit): 40 endpoint ids, or 40 `<endpoint>:<status>` tokens plus the status words, fit in it, and 40
 * targets failing all 13 attempts stay near 4 000 history events. Larger fan-outs are partitioned into
 * workflows `<event id>#<n>` (n = 2, 3, …).
 */
export const TARGETS_PER_WORKFLOW = 40;

export const partitionWorkflowId = (eventId: string, index: number) => (index === 0 ? eventId : `${eventId}#${index + 1}`);

// The legacy deliveryWorkflow's signals and query (same names; no target: it has one).
export const legacyRetryNowSignal = defineSignal('retryNow');
export const legacyCancelSignal = defineSignal<[reason?: string]>('cancel');
