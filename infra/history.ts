// The one reader of delivery attempts in workflow histories, for the delivery log and the tests: each
// attempt is one local activity whose result the SDK's core records in a marker event. Both engines'
// markers are read: `attempt` (eventWorkflow; the result names its target) and the legacy
// `postAttempt` (deliveryWorkflow: one target per workflow).
import type { LoadedDataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { activityTypes, LOCAL_ACTIVITY_MARKER } from '../domain/contract';
import type { AttemptResult } from '../domain/delivery';

type History = temporal.api.history.v1.IHistory;
type Payload = temporal.api.common.v1.IPayload;

export interface RecordedAttempt {
  /** Only attempts that sent a request: canceled and busy results (nothing sent) are left out. */
  result: AttemptResult;
  /** When the marker was recorded, on the server's clock (the time-skipping server's skipped clock). */
  recordedAt: number;
}

function eventTimeMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return ts ? Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : 0;
}

function isAttemptResult(v: unknown): v is Omit<AttemptResult, 'target'> & { target?: string } {
  const o = v as Partial<AttemptResult> | null;
  return typeof o === 'object' && o !== null && typeof o.attempt === 'number' && typeof o.at === 'string' && typeof o.ok === 'boolean';
}

/**
 * Every attempt recorded in a history, in order. `legacyTarget` names the target of a legacy
 * deliveryWorkflow's attempts (their results carry none).
 */
export function attemptsInHistory(history: History, converter: LoadedDataConverter, legacyTarget?: string): RecordedAttempt[] {
  const decode = (p: Payload | null | undefined): unknown => (p ? converter.payloadConverter.fromPayload(p) : undefined);
  const out: RecordedAttempt[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) continue;
    const meta = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    if (meta?.activity_type !== activityTypes.attempt && meta?.activity_type !== activityTypes.legacyAttempt) continue;
    const value = decode(marker.details?.result?.payloads?.[0]);
    if (!isAttemptResult(value) || value.canceled || value.busy) continue;
    const target = value.target ?? legacyTarget;
    if (target === undefined) continue;
    out.push({ result: { ...value, target }, recordedAt: eventTimeMs(event.eventTime) });
  }
  return out;
}
