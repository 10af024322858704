// All I/O of a delivery attempt: read where to send (and with which secrets or key), sign with a fresh
// timestamp (Events API) or encrypt once (classic), POST, and return the outcome as data. Also registers
// the legacy engine's activities, which executions started before the upgrade still call.
import { ApplicationFailure } from '@temporalio/common';
import { isClassicTarget, type AttemptRequest, type AttemptResult, type PreparedClassicData } from '../domain/delivery';
import { encryptClassicData } from '../domain/encryption';
import { signedHeaders } from '../domain/signing';
import type { EndpointCache } from '../infra/endpoint-cache';
import type { EventFacts } from '../infra/event-facts';
import type { EndpointForDelivery, Store } from '../infra/store';
import { USER_AGENT } from '../infra/version';
import { createEndpointHealth } from './endpoint-health';
import { EndpointBusyError, type DeliveryClient } from './http-client';
import { createLegacyActivities, type LegacyActivityDeps } from './legacy';
import { attemptOutcome, recordAttempt } from '../infra/metrics';

export interface ActivityDeps extends LegacyActivityDeps {
  store: Store;
  http: DeliveryClient;
  /** Endpoint rows the API of this process read when it resolved the targets (first attempts reuse them). */
  endpoints?: EndpointCache;
  /** Where first-attempt successes are noted for the delivery log. */
  facts?: EventFacts;
  /** An endpoint whose attempts all failed for this long is turned off (0: never). Default 5 days. */
  endpointFailureSpanMs?: number;
}

export const DEFAULT_ENDPOINT_FAILURE_SPAN_MS = 5 * 24 * 60 * 60 * 1000;

export function createActivities(deps: ActivityDeps) {
  const { store, http, endpoints, facts, nowSeconds = () => Math.floor(Date.now() / 1000) } = deps;
  const noteEndpointOutcome = createEndpointHealth(store, deps.endpointFailureSpanMs ?? DEFAULT_ENDPOINT_FAILURE_SPAN_MS);

  /** One attempt to one target. Every HTTP outcome is returned, never thrown. */
  async function attempt(req: AttemptRequest): Promise<AttemptResult> {
    const base = { target: req.target.id, attempt: req.attempt, at: new Date().toISOString(), ...(req.manual ? { manual: true } : {}) };
    const nothingSent = (reason: string, extra: Partial<AttemptResult>): AttemptResult => ({
      ...base,
      ok: false,
      statusCode: null,
      durationMs: 0,
      error: reason,
      responseExcerpt: null,
      ...extra,
    });
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
    let url: string;
    let body: string;
    let endpoint: EndpointForDelivery | null = null;
    /** Classic: encrypted by this attempt, so later ones must send it as it is. */
    let prepared: PreparedClassicData | undefined;
    if (isClassicTarget(req.target)) {
      if (!req.classic) throw ApplicationFailure.nonRetryable('classic attempt without data');
      const settings = await store.getWebhookSettings(req.tenantId);
      if (!settings.enabled || !settings.token) return nothingSent('webhooks disabled for the organization', { canceled: true });
      const data = req.classic.prepared ?? (prepared = settings.public_key ? { encrypted: true, data: encryptClassicData(settings.public_key, req.classic.data) } : { encrypted: false });
      url = req.target.url;
      body = JSON.stringify({ action: req.classic.action, token: settings.token, data: data.encrypted ? data.data : req.classic.data });
    } else {
      if (req.body === undefined) throw ApplicationFailure.nonRetryable('Events API attempt without a body');
      endpoint = (req.attempt === 1 && endpoints?.take(req.eventId, req.target.id)) || (await store.endpointForDelivery(req.target.id));
      if (!endpoint) return nothingSent('endpoint deleted', { canceled: true });
      if (endpoint.status !== 'enabled') return nothingSent('endpoint disabled', { canceled: true });
      url = endpoint.url;
      body = req.body;
      Object.assign(headers, signedHeaders(endpoint.scheme, endpoint.secrets, nowSeconds(), req.eventId, body));
    }
    try {
      const outcome = await http.post(url, body, headers, { eventId: req.eventId, targetId: req.target.id, attempt: req.attempt });
      // One attempt a receiver could see; busy and canceled outcomes above sent nothing.
      recordAttempt(attemptOutcome(outcome), outcome.durationMs);
      if (endpoint) await noteEndpointOutcome(req.target.id, endpoint, outcome);
      if (outcome.ok && req.attempt === 1 && !req.manual && outcome.statusCode !== null) {
        facts?.firstAttemptSucceeded(req.eventId, req.target.id, outcome.statusCode);
      }
      return {
        ...base,
        ok: outcome.ok,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.error,
        responseExcerpt: outcome.responseExcerpt,
        ...(prepared && !outcome.ok ? { prepared } : {}),
      };
    } catch (err) {
      // Nothing was sent. The workflow waits on a durable timer and makes the same attempt again; a
      // local-activity retry would hold the workflow task open (and the workflow in memory) meanwhile.
      if (err instanceof EndpointBusyError) return nothingSent(err.message, { busy: true, ...(prepared ? { prepared } : {}) });
      throw err;
    }
  }

  return { attempt, ...createLegacyActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
