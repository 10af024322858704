// Endpoints that keep failing turn themselves off. An attempt's outcome is noted here only when it changes
// something: the first failure of a streak (failing_since), a success after failures (streak over), and a
// failure once the streak is older than the span (the endpoint is turned off; api/endpoint-health.ts then
// cancels its pending deliveries and tells the tenant). A first-try success to a healthy endpoint reads the
// streak from the row the attempt already has and writes nothing. Errors are logged, never thrown: the
// request was sent, and an attempt must not be repeated for bookkeeping.
import type { AttemptOutcome } from './http-client';
import type { EndpointForDelivery, Store } from '../infra/store';
import { log as currentLog } from '../infra/log';

/** "5 days", "36 h", "90 s": the span as the reason states it. */
export function describeSpan(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  }
  return `${ms} ms`;
}

export function disabledReason(spanMs: number, since: Date, outcome: Pick<AttemptOutcome, 'statusCode' | 'error'>): string {
  const last = outcome.error ?? (outcome.statusCode !== null ? `HTTP ${outcome.statusCode}` : 'no answer');
  return `every delivery attempt failed for ${describeSpan(spanMs)} (since ${since.toISOString()}); last error: ${last}`;
}

export function createEndpointHealth(store: Store, failureSpanMs: number, log: (line: string) => void = (l) => currentLog().warn(l)) {
  return async function noteOutcome(endpointId: string, endpoint: EndpointForDelivery, outcome: AttemptOutcome): Promise<void> {
    try {
      if (outcome.ok) {
        if (endpoint.failingSince) await store.endFailureStreak(endpointId);
        return;
      }
      if (failureSpanMs <= 0) return; // turned off (ANVIL_ENDPOINT_FAILURE_SPAN=0)
      if (!endpoint.failingSince) return await store.startFailureStreak(endpointId);
      if (Date.now() - endpoint.failingSince.getTime() < failureSpanMs) return;
      if (await store.disableFailingEndpoint(endpointId, failureSpanMs, disabledReason(failureSpanMs, endpoint.failingSince, outcome))) {
        log(`[endpoint-health] ${endpointId} disabled: failing since ${endpoint.failingSince.toISOString()}`);
      }
    } catch (err) {
      log(`[endpoint-health] noting the outcome for ${endpointId} failed: ${(err as Error).message}`);
    }
  };
}

export type NoteEndpointOutcome = ReturnType<typeof createEndpointHealth>;
