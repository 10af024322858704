// How workflows are started: id, search attributes, memo and summary in one place, for publishing and
// re-sends (api) and for the legacy fan-out (activities). Not workflow code.
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { WorkflowStartOptions } from '@temporalio/client';
import { partitionWorkflowId, searchAttributes as sa, TARGETS_PER_WORKFLOW } from '../domain/contract';
import { CLASSIC_TARGET_ID, isClassicTarget, type EventWorkflowInput, type Target, type TrackedTarget } from '../domain/delivery';
import type { LegacyDeliveryWorkflowInput } from '../domain/legacy';

/** The event's workflow inputs: one per TARGETS_PER_WORKFLOW targets. */
export function partitionTargets(input: Omit<EventWorkflowInput, 'targets' | 'partition'>, targets: Target[]): EventWorkflowInput[] {
  const count = Math.max(1, Math.ceil(targets.length / TARGETS_PER_WORKFLOW));
  return Array.from({ length: count }, (_, index) => ({
    ...input,
    targets: targets.slice(index * TARGETS_PER_WORKFLOW, (index + 1) * TARGETS_PER_WORKFLOW),
    ...(count > 1 ? { partition: { index, count } } : {}),
  }));
}

const memoOf = (memo: Record<string, unknown>) => (Object.keys(memo).length > 0 ? { memo } : {});

/**
 * An event workflow's start: everything the delivery log lists it by is named here, in the start itself
 * (no upsert on the happy path). A re-run for one target (`resend`) starts with that target's state.
 */
export function eventStartOptions(
  input: EventWorkflowInput,
  taskQueue: string,
  { eager, resendOf }: { eager: boolean; resendOf?: TrackedTarget },
): WorkflowStartOptions<(input: EventWorkflowInput) => Promise<unknown>> & { workflowId: string } {
  const single = input.targets.length === 1 ? input.targets[0]! : null;
  const classic = single && isClassicTarget(single) ? single : null;
  return {
    taskQueue,
    workflowId: partitionWorkflowId(input.eventId, input.partition?.index ?? 0),
    args: [input],
    workflowIdReusePolicy: resendOf ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
    requestEagerStart: eager,
    typedSearchAttributes: [
      { key: sa.tenantId, value: input.tenantId },
      { key: sa.eventId, value: input.eventId },
      { key: sa.eventType, value: input.eventType },
      { key: sa.endpointIds, value: input.targets.map((t) => t.id) },
      ...(resendOf && single ? [{ key: sa.targetStates, value: [resendOf.status, `${single.id}:${resendOf.status}`] }] : []),
    ],
    // Only what the search attributes and the input do not already show: the tenant, the type and the
    // policy are there, and a memo written at the start costs the server on every event (measured: the
    // start's search attributes and memo together were ~1 ms of Temporal's CPU per delivery in a burst).
    ...memoOf({
      ...(input.partition ? { partition: `${input.partition.index + 1} of ${input.partition.count}` } : {}),
      ...(classic ? { url: classic.url, url_source: classic.source } : {}),
      ...(resendOf && single ? { [single.id]: resendOf, manual: true } : {}),
    }),
    staticSummary: resendOf
      ? `re-send of ${input.eventId}:${single?.id}`
      : `${input.eventType} → ${single ? (classic ? classic.url : single.id) : `${input.targets.length} endpoints`}`,
  };
}

/** The legacy deliveryWorkflow's start (the legacy fan-out activity). */
export function legacyDeliveryStartOptions(
  input: LegacyDeliveryWorkflowInput,
  taskQueue: string,
): WorkflowStartOptions<(input: LegacyDeliveryWorkflowInput) => Promise<unknown>> {
  const endpointId = input.target.type === 'endpoint' ? input.target.endpointId : CLASSIC_TARGET_ID;
  return {
    taskQueue,
    workflowId: input.deliveryId,
    args: [input],
    typedSearchAttributes: [
      { key: sa.tenantId, value: input.tenantId },
      { key: sa.endpointId, value: endpointId },
      { key: sa.eventId, value: input.eventId },
      { key: sa.eventType, value: input.eventType },
      { key: sa.status, value: 'pending' },
      { key: sa.attempts, value: input.manual?.previousAttempts ?? 0 },
    ],
    memo: {
      tenant_id: input.tenantId,
      event_id: input.eventId,
      endpoint_id: endpointId,
      event_type: input.eventType,
      policy: input.policy.name,
      ...(input.target.type === 'classic' ? { url: input.target.url, url_source: input.target.source } : {}),
    },
    staticSummary: input.manual
      ? `manual re-send of ${input.deliveryId}`
      : `${input.eventType} → ${input.target.type === 'endpoint' ? input.target.endpointId : input.target.url}`,
  };
}

