// The activities of the engine before one workflow per event (workflows/legacy.ts), registered under their
// old names until no execution that calls them is running. Unchanged in behaviour.
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowIdReusePolicy } from '@temporalio/common';
import { legacyDeliveryStartOptions } from '../infra/start-options';
import { CLASSIC_TARGET_ID, deliveryIdFor } from '../domain/delivery';
import {
  legacyDeliveryInputs as deliveryInputs,
  type LegacyAttemptRequest as AttemptRequest,
  type LegacyAttemptResult as AttemptResult,
  type LegacyDeliveryWorkflowInput as DeliveryWorkflowInput,
  type LegacyEventWorkflowInput as EventWorkflowInput,
  type LegacyPreparedClassicData as PreparedClassicData,
  type LegacyResolvedTarget as ResolvedTarget,
} from '../domain/legacy';
import { encryptClassicData } from '../domain/encryption';
import { matchesFilter } from '../domain/filters';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from '../domain/signing';
import type { EndpointForDelivery, Store } from '../infra/store';
import { USER_AGENT } from '../infra/version';
import { EndpointBusyError, type DeliveryClient } from './http-client';
import { attemptOutcome, recordAttempt } from '../infra/metrics';

export interface LegacyActivityDeps {
  store: Store;
  http: DeliveryClient;
  /** Starts delivery workflows; on the worker's own NativeConnection, so starts can be eager. */
  temporal?: Client;
  /** Request eager start: the delivery's first workflow task comes back with the start, to this worker. */
  eagerStart?: boolean;
  /** Unix seconds for the signature timestamp (a test may pin it). */
  nowSeconds?: () => number;
}

/**
 * Target resolution reads each endpoint's URL and secrets anyway; the first attempt, which follows within
 * milliseconds in this same worker, reuses them instead of querying again. Short-lived, so a change to
 * an endpoint (URL, secret, deletion) reaches later attempts.
 */
const RESOLVED_ENDPOINT_TTL_MS = 2000;
const RESOLVED_ENDPOINT_CACHE_MAX = 10_000;

/** Deliveries started at once by one startDeliveries execution. */
const START_CONCURRENCY = 20;

export function createLegacyActivities({ store, http, temporal, eagerStart = false, nowSeconds = () => Math.floor(Date.now() / 1000) }: LegacyActivityDeps) {
  const resolved = new Map<string, { endpoint: EndpointForDelivery; until: number }>();
  const remember = (id: string, endpoint: EndpointForDelivery) => {
    if (resolved.size >= RESOLVED_ENDPOINT_CACHE_MAX) resolved.clear();
    resolved.set(id, { endpoint, until: Date.now() + RESOLVED_ENDPOINT_TTL_MS });
  };
  const endpointFor = async (id: string): Promise<EndpointForDelivery | null> => {
    const hit = resolved.get(id);
    if (hit) {
      resolved.delete(id); // one use: retries read the database
      if (hit.until > Date.now()) return hit.endpoint;
    }
    return store.endpointForDelivery(id);
  };
  const activities = {
    /** The event workflow's one step: resolve the targets, then start one delivery per target. */
    async fanOut(input: EventWorkflowInput): Promise<{ deliveries: string[] }> {
      const targets = await activities.resolveTargets(input);
      if (targets.length > 0) await activities.startDeliveries({ deliveries: deliveryInputs(input, targets) });
      return { deliveries: targets.map((t) => t.deliveryId) };
    },

    /** Events API: subscribed, enabled endpoints whose filter matches; classic: object URL, else static URL. */
    async resolveTargets(input: EventWorkflowInput): Promise<ResolvedTarget[]> {
      if (input.kind === 'event') {
        const { envelope } = input;
        const candidates = input.onlyEndpointId
          ? await store
              .endpointForDelivery(input.onlyEndpointId)
              .then((e) => (e ? [{ id: input.onlyEndpointId!, filter: null }] : []))
          : await store.subscribedEndpoints(envelope.tenant_id, envelope.type);
        const matching = candidates.filter((e) => input.onlyEndpointId !== undefined || matchesFilter(e.filter, envelope));
        for (const e of matching) if ('url' in e) remember(e.id, e);
        return matching.map((e) => ({ deliveryId: deliveryIdFor(envelope.id, e.id), target: { type: 'endpoint', endpointId: e.id } }));
      }
      const { action } = input;
      const settings = await store.getWebhookSettings(action.tenant_id);
      if (!settings.enabled) return [];
      // webhookTest checks the organization's own URL, so an object URL never takes it.
      const objectUrl =
        action.action !== 'webhookTest' && action.object
          ? await store.getObjectUrl(action.tenant_id, action.object.type, action.object.eid)
          : null;
      const deliveryId = deliveryIdFor(action.id, CLASSIC_TARGET_ID);
      if (objectUrl) return [{ deliveryId, target: { type: 'classic', url: objectUrl, source: 'object' } }];
      if (settings.url) return [{ deliveryId, target: { type: 'classic', url: settings.url, source: 'static' } }];
      return [];
    },

    /**
     * Starts one deliveryWorkflow per target. Idempotent: a delivery that already exists (this execution
     * retried, or the event workflow's task replayed) is left as it is, never started twice.
     */
    async startDeliveries(input: { deliveries: DeliveryWorkflowInput[] }): Promise<{ started: number }> {
      if (!temporal) throw ApplicationFailure.nonRetryable('startDeliveries needs a Temporal client');
      const { taskQueue } = Context.current().info;
      let started = 0;
      for (let i = 0; i < input.deliveries.length; i += START_CONCURRENCY) {
        await Promise.all(
          input.deliveries.slice(i, i + START_CONCURRENCY).map(async (delivery) => {
            try {
              await temporal.workflow.start('deliveryWorkflow', {
                ...legacyDeliveryStartOptions(delivery, taskQueue),
                workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
                requestEagerStart: eagerStart,
              });
              started++;
            } catch (err) {
              if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            }
          }),
        );
      }
      return { started };
    },

    /** Encrypts classic data once per delivery when the organization has a public key. */
    async prepareClassicData(input: { tenantId: string; data: Record<string, unknown> }): Promise<PreparedClassicData> {
      const settings = await store.getWebhookSettings(input.tenantId);
      if (!settings.public_key) return { encrypted: false };
      return { encrypted: true, data: encryptClassicData(settings.public_key, input.data) };
    },

    /** One attempt: sign with a fresh timestamp and POST. Every HTTP outcome is returned, never thrown. */
    async postAttempt(req: AttemptRequest): Promise<AttemptResult> {
      const at = new Date().toISOString();
      const canceled = (reason: string): AttemptResult => ({
        attempt: req.attempt,
        at,
        ok: false,
        statusCode: null,
        durationMs: 0,
        error: reason,
        responseExcerpt: null,
        canceled: true,
      });
      let url: string;
      let body: string;
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
      if (req.target.type === 'endpoint') {
        const endpoint = req.attempt === 1 ? await endpointFor(req.target.endpointId) : await store.endpointForDelivery(req.target.endpointId);
        if (!endpoint) return canceled('endpoint deleted');
        if (endpoint.status !== 'enabled') return canceled('endpoint disabled');
        if (req.body === undefined) throw ApplicationFailure.nonRetryable('Events API attempt without a body');
        url = endpoint.url;
        body = req.body;
        headers[SIGNATURE_HEADER] = signatureHeader(endpoint.secrets, nowSeconds(), body);
        headers[EVENT_ID_HEADER] = req.eventId;
      } else {
        if (!req.classic) throw ApplicationFailure.nonRetryable('classic attempt without data');
        const settings = await store.getWebhookSettings(req.tenantId);
        if (!settings.enabled || !settings.token) return canceled('webhooks disabled for the organization');
        url = req.target.url;
        body = JSON.stringify({ action: req.classic.action, token: settings.token, data: req.classic.data });
      }
      try {
        const outcome = await http.post(url, body, headers);
        recordAttempt(attemptOutcome(outcome), outcome.durationMs);
        return {
          attempt: req.attempt,
          at,
          ok: outcome.ok,
          statusCode: outcome.statusCode,
          durationMs: outcome.durationMs,
          error: outcome.error,
          responseExcerpt: outcome.responseExcerpt,
          // The delivery log reads attempts from the recorded results, so the result carries the flag.
          ...(req.manual ? { manual: true } : {}),
        };
      } catch (err) {
        // Nothing was sent. The workflow waits on a durable timer and makes the same attempt again; a
        // local-activity retry would hold the workflow task open (and the workflow in memory) meanwhile.
        if (err instanceof EndpointBusyError) {
          return { attempt: req.attempt, at, ok: false, statusCode: null, durationMs: 0, error: err.message, responseExcerpt: null, busy: true };
        }
        throw err;
      }
    },
  };
  return activities;
}

