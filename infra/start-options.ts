// How a delivery workflow is started: id, search attributes, memo and summary in one place, for the
// fan-out (activities) and for manual re-sends (api). Not workflow code.
import type { WorkflowStartOptions } from '@temporalio/client';
import { CLASSIC_TARGET_ID, searchAttributes as sa, type DeliveryWorkflowInput } from '../domain/delivery';

export function deliveryStartOptions(
  input: DeliveryWorkflowInput,
  taskQueue: string,
  extraMemo: Record<string, unknown> = {},
): WorkflowStartOptions<(input: DeliveryWorkflowInput) => Promise<unknown>> {
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
      ...extraMemo,
    },
    staticSummary: input.manual
      ? `manual re-send of ${input.deliveryId}`
      : `${input.eventType} → ${input.target.type === 'endpoint' ? input.target.endpointId : input.target.url}`,
  };
}
