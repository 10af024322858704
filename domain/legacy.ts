// The model of the engine before one-workflow-per-event: an eventWorkflow whose `fanOut` local activity
// started one deliveryWorkflow per target. Kept, unchanged, so deliveries running at the upgrade finish on
// the new workers and their histories still replay; remove once none is running (the README says how to
// check). Workflow-safe.
import type { ClassicAction } from './catalog';
import type { ClassicActionEvent, DeliveryStatus, EventEnvelope } from './delivery';
import type { RetryPolicy } from './policies';

/** The old event workflow's input: no `targets` (they were resolved by its fanOut activity). */
export type LegacyEventWorkflowInput =
  | { kind: 'event'; envelope: EventEnvelope; policy: RetryPolicy; onlyEndpointId?: string }
  | { kind: 'classic'; action: ClassicActionEvent; policy: RetryPolicy };

export type LegacyDeliveryTarget =
  | { type: 'endpoint'; endpointId: string }
  | { type: 'classic'; url: string; source: 'object' | 'static' };

export interface LegacyResolvedTarget {
  deliveryId: string;
  target: LegacyDeliveryTarget;
}

export type LegacyDeliveryPayload =
  | { kind: 'event'; envelope: EventEnvelope }
  | { kind: 'classic'; action: ClassicAction; data: Record<string, unknown> };

export interface LegacyDeliveryWorkflowInput {
  deliveryId: string;
  eventId: string;
  tenantId: string;
  eventType: string;
  target: LegacyDeliveryTarget;
  payload: LegacyDeliveryPayload;
  policy: RetryPolicy;
  manual?: { previousAttempts: number };
}

export type LegacyPreparedClassicData = { encrypted: true; data: string } | { encrypted: false };

export interface LegacyAttemptRequest {
  deliveryId: string;
  tenantId: string;
  eventId: string;
  attempt: number;
  target: LegacyDeliveryTarget;
  body?: string;
  classic?: { action: ClassicAction; data: Record<string, unknown> | string };
  manual?: boolean;
}

export interface LegacyAttemptResult {
  attempt: number;
  at: string;
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  manual?: boolean;
  canceled?: boolean;
  busy?: boolean;
}

export interface LegacyDeliveryResult {
  status: Extract<DeliveryStatus, 'succeeded' | 'failed' | 'canceled'>;
  attempts: LegacyAttemptResult[];
}

export function legacyDeliveryInputs(event: LegacyEventWorkflowInput, targets: LegacyResolvedTarget[]): LegacyDeliveryWorkflowInput[] {
  const eventId = event.kind === 'event' ? event.envelope.id : event.action.id;
  const tenantId = event.kind === 'event' ? event.envelope.tenant_id : event.action.tenant_id;
  const eventType = event.kind === 'event' ? event.envelope.type : event.action.action;
  return targets.map(({ deliveryId, target }) => ({
    deliveryId,
    eventId,
    tenantId,
    eventType,
    target,
    policy: event.policy,
    payload:
      event.kind === 'event'
        ? { kind: 'event', envelope: event.envelope }
        : { kind: 'classic', action: event.action.action, data: event.action.data },
  }));
}
