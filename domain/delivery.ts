// The delivery model shared by the API, the activities and the workflows (workflow-safe: no Node imports).
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

/** The endpoint id a classic delivery is listed under. */
export const CLASSIC_TARGET_ID = 'classic';

/**
 * Where one delivery of an event goes, resolved before the workflow starts: an Events API endpoint (its
 * URL and secrets are read at each attempt, so edits and rotations reach retries), or the classic URL
 * resolved at publish (the object's URL, else the organization's static URL).
 */
export type Target = EndpointTarget | ClassicTarget;
export interface EndpointTarget {
  id: string;
}
export interface ClassicTarget {
  id: typeof CLASSIC_TARGET_ID;
  url: string;
  source: 'object' | 'static';
}
export const isClassicTarget = (t: Target): t is ClassicTarget => typeof (t as Partial<ClassicTarget>).url === 'string';

export interface EventWorkflowInput {
  kind: 'event' | 'classic';
  eventId: string;
  tenantId: string;
  /** The Events API type, or the classic action. */
  eventType: string;
  /** Events API: the envelope, serialized once per workflow (the same body bytes for every attempt). */
  envelope?: EventEnvelope;
  /** Classic: the action's data, encrypted once by the first attempt when the organization has a key. */
  classic?: { action: ClassicAction; data: Record<string, unknown> };
  targets: Target[];
  policy: RetryPolicy;
  /** A re-run of a closed workflow for one target: one manual attempt numbered after the earlier ones. */
  resend?: { previousAttempts: number };
  /** Large fan-outs: which of the event's workflows this is (see TARGETS_PER_WORKFLOW). */
  partition?: { index: number; count: number };
}

/** Classic `data` as it goes on the wire for every attempt: encrypted once, or the plain object. */
export type PreparedClassicData = { encrypted: true; data: string } | { encrypted: false };

export interface AttemptRequest {
  eventId: string;
  tenantId: string;
  target: Target;
  attempt: number;
  /** A user asked for this attempt (retry now, re-send, recover); echoed in the result the log reads. */
  manual?: boolean;
  /** Events API: the exact body bytes, the same on every attempt. */
  body?: string;
  /** Classic: the action and data; `prepared` once the first attempt encrypted (or did not need to). */
  classic?: { action: ClassicAction; data: Record<string, unknown>; prepared?: PreparedClassicData };
}

export interface AttemptResult {
  target: string;
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
  /** Classic, when more attempts may follow: the data exactly as later attempts must send it. */
  prepared?: PreparedClassicData;
}

export const DELIVERY_STATUSES = ['pending', 'retrying', 'succeeded', 'failed', 'canceled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_STATUSES: readonly DeliveryStatus[] = ['succeeded', 'failed', 'canceled'];

export interface EventWorkflowResult {
  targets: { id: string; status: DeliveryStatus; attempts: number }[];
}

/** A delivery is the pair (event, target): `<event id>:<endpoint id>`, classic `<event id>:classic`. */
export const deliveryIdFor = (eventId: string, targetId: string) => `${eventId}:${targetId}`;

export function parseDeliveryId(id: string): { eventId: string; targetId: string } | null {
  const colon = id.lastIndexOf(':');
  if (colon <= 0 || colon === id.length - 1) return null;
  return { eventId: id.slice(0, colon), targetId: id.slice(colon + 1) };
}

/** A target's state in the workflow's memo, once the workflow tracks per-target state (names as the API's). */
export interface TrackedTarget {
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
}
