// The delivery model shared by the API, the activities and the workflows (workflow-safe: no Node imports).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ClassicAction, EventType, ObjectType } from './catalog';
import type { RetryPolicy } from './policies';

export interface EventEnvelope {
  id: string;
  type: EventType;
  /** ISO-8601 UTC with milliseconds. */
  created: string;
  tenant_id: string;
  data: Record<string, unknown>;
  api_version: string;
}

export interface ClassicActionEvent {
  id: string;
  action: ClassicAction;
  tenant_id: string;
  created: string;
  object: { type: ObjectType; eid: string } | null;
  data: Record<string, unknown>;
}

export type EventWorkflowInput =
  | { kind: 'event'; envelope: EventEnvelope; policy: RetryPolicy; onlyEndpointId?: string }
  | { kind: 'classic'; action: ClassicActionEvent; policy: RetryPolicy };

export type DeliveryTarget =
  | { type: 'endpoint'; endpointId: string }
  /** Classic: the URL resolved when the action was published (object URL, else the static URL). */
  | { type: 'classic'; url: string; source: 'object' | 'static' };

/** What an event resolves to: one delivery per target. */
export interface ResolvedTarget {
  deliveryId: string;
  target: DeliveryTarget;
}

export type DeliveryPayload =
  | { kind: 'event'; envelope: EventEnvelope }
  | { kind: 'classic'; action: ClassicAction; data: Record<string, unknown> };

export interface DeliveryWorkflowInput {
  deliveryId: string;
  eventId: string;
  tenantId: string;
  eventType: string;
  target: DeliveryTarget;
  payload: DeliveryPayload;
  policy: RetryPolicy;
  /** A manual re-send of a finished delivery: one attempt, numbered after the earlier ones. */
  manual?: { previousAttempts: number };
}

/** Classic `data` as it goes on the wire for every attempt: encrypted once, or the plain object. */
export type PreparedClassicData = { encrypted: true; data: string } | { encrypted: false };

export interface AttemptRequest {
  deliveryId: string;
  tenantId: string;
  eventId: string;
  attempt: number;
  target: DeliveryTarget;
  /** Events API: the exact body bytes, the same on every attempt. */
  body?: string;
  /** Classic: action and data (already encrypted when the organization has a key). */
  classic?: { action: ClassicAction; data: Record<string, unknown> | string };
  /** A user asked for this attempt (retry now, re-send, recover); echoed in the result the log reads. */
  manual?: boolean;
}

export interface AttemptResult {
  attempt: number;
  /** ISO-8601 time the request was sent. */
  at: string;
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  manual?: boolean;
  /** The target no longer exists or is disabled: nothing was sent and the delivery is canceled. */
  canceled?: boolean;
  /** The destination already had this worker's cap of requests in flight: nothing was sent, try again. */
  busy?: boolean;
}

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed', 'canceled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryResult {
  status: Extract<DeliveryStatus, 'succeeded' | 'failed' | 'canceled'>;
  attempts: AttemptResult[];
}

/** The delivery log is one visibility query over these. Registered by infra/namespace.ts ensureNamespaceSetup (npm start, npm test, npm run migrate). */
export const searchAttributes = {
  tenantId: defineSearchAttributeKey('AnvilTenantId', SearchAttributeType.KEYWORD),
  endpointId: defineSearchAttributeKey('AnvilEndpointId', SearchAttributeType.KEYWORD),
  eventId: defineSearchAttributeKey('AnvilEventId', SearchAttributeType.KEYWORD),
  eventType: defineSearchAttributeKey('AnvilEventType', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('AnvilDeliveryStatus', SearchAttributeType.KEYWORD),
  attempts: defineSearchAttributeKey('AnvilAttempts', SearchAttributeType.INT),
  lastStatusCode: defineSearchAttributeKey('AnvilLastStatusCode', SearchAttributeType.INT),
  nextAttemptAt: defineSearchAttributeKey('AnvilNextAttemptAt', SearchAttributeType.DATETIME),
} as const;

/** The input of each target's delivery workflow. */
export function deliveryInputs(event: EventWorkflowInput, targets: ResolvedTarget[]): DeliveryWorkflowInput[] {
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

/** The endpoint id a classic delivery is listed under. */
export const CLASSIC_TARGET_ID = 'classic';

export const deliveryIdFor = (eventId: string, targetId: string) => `${eventId}:${targetId}`;
