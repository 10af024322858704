// Accepting an event or action: its targets are resolved here (subscribed, enabled endpoints whose filter
// matches; or the classic object URL, else the static URL), then its workflow is started, eagerly when this
// process hosts a worker, and the answer is 202 only once Temporal acknowledged the start: an event a client
// holds a 202 for cannot be lost. A row in `events` makes a client-supplied id idempotent beyond Temporal's
// retention; a row without started_at is a publish that did not finish, and the same id starts it again.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { API_VERSION, type ClassicAction, type EventType } from '../domain/catalog';
import { workflowTypes } from '../domain/contract';
import { CLASSIC_TARGET_ID, type ClassicActionEvent, type EventEnvelope, type EventWorkflowInput, type Target } from '../domain/delivery';
import { matchesFilter } from '../domain/filters';
import { newEventId } from '../domain/ids';
import type { RetryPolicy } from '../domain/policies';
import type { EndpointCache } from '../infra/endpoint-cache';
import type { EventClaims } from '../infra/event-claims';
import type { EventFacts } from '../infra/event-facts';
import { eventStartOptions, partitionTargets } from '../infra/start-options';
import type { EventRow, Store, SubscribedEndpoint, Tenant } from '../infra/store';
import { ApiError, DEPENDENCY_RETRY_AFTER_SECONDS } from './errors';
import { assertSamePayload } from './idempotency';
import { log } from '../infra/log';

export interface PublishDeps {
  store: Store;
  /** Claims event ids in batches (group commit), with the tenant's subscribed endpoints. */
  claims: EventClaims;
  temporal: Client;
  taskQueue: string;
  policies: { standard: RetryPolicy; classic: RetryPolicy };
  endpoints: EndpointCache;
  facts: EventFacts;
  /** This process hosts a worker on the client's NativeConnection: ask for eager start. */
  eagerStart: boolean;
  /** Told of every workflow start and whether it was eager (metrics, the benchmark). */
  onWorkflowStarted?: (eager: boolean) => void;
}

interface PublishRequest {
  tenant: Tenant;
  id: string;
  kind: EventRow['kind'];
  type: string;
  body: Record<string, unknown>;
  /** The workflow input without its targets, from the stored body (the first request's body wins). */
  input: (storedBody: Record<string, unknown>) => Omit<EventWorkflowInput, 'targets' | 'partition'>;
  /** From the stored body and the subscribed endpoints read with the claim (infra/event-claims.ts). */
  targets: (storedBody: Record<string, unknown>, subscribed: SubscribedEndpoint[]) => Promise<Target[]>;
}

async function publish(deps: PublishDeps, req: PublishRequest): Promise<{ status: 200 | 202; body: Record<string, unknown> }> {
  const { temporal, taskQueue, facts } = deps;
  const claim = await deps.claims.claim({ id: req.id, tenant_id: req.tenant.id, kind: req.kind, type: req.type, body: req.body });
  if (!claim.inserted) {
    if (claim.row.tenant_id !== req.tenant.id || claim.row.kind !== req.kind) {
      throw new ApiError(409, 'id_conflict', `id ${req.id} is already used`, [{ path: 'id', message: 'already used' }]);
    }
    assertSamePayload(req.id, claim.row.body, req.body);
    if (claim.row.started_at) return { status: 200, body: claim.row.body };
  }
  const stored = claim.row.body;
  const targets = await req.targets(stored, claim.subscribed);
  // An event without a target starts no workflow, so a repeat cannot learn from Temporal that it was
  // accepted; its row says so (started_at is written behind the answer and may not be there yet).
  let duplicate = !claim.inserted && targets.length === 0;
  if (targets.length > 0) {
    const inputs = partitionTargets(req.input(stored), targets);
    await Promise.all(
      inputs.map(async (input) => {
        try {
          const handle = await temporal.workflow.start(workflowTypes.event, eventStartOptions(input, taskQueue, { eager: deps.eagerStart }));
          deps.onWorkflowStarted?.(handle.eagerlyStarted);
        } catch (err) {
          // A concurrent request with the same id started it first: that one answers 202, this one 200.
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            duplicate = true;
            return;
          }
          log().warn(`starting ${input.eventId} failed: ${(err as Error).message}`);
          throw new ApiError(
            503,
            'temporal_unavailable',
            'the event could not be accepted now; retry with the same id',
            [{ path: 'id', message: `retry with "id": "${req.id}" to stay idempotent` }],
            DEPENDENCY_RETRY_AFTER_SECONDS,
          );
        }
      }),
    );
  }
  // Recorded behind the answer: the start itself is the durable fact (a retried id whose row lacks
  // started_at finds the workflow already started and answers 200).
  facts.started(req.id);
  return { status: duplicate ? 200 : 202, body: stored };
}

/** Events API: subscribed, enabled endpoints whose filter matches (or the one endpoint of a test event). */
async function endpointTargets(
  deps: PublishDeps,
  envelope: EventEnvelope,
  onlyEndpointId: string | undefined,
  subscribed: SubscribedEndpoint[],
): Promise<Target[]> {
  const candidates = onlyEndpointId
    ? await deps.store.endpointForDelivery(onlyEndpointId).then((e) => (e ? [{ ...e, id: onlyEndpointId, filter: null }] : []))
    : subscribed.filter((e) => matchesFilter(e.filter, envelope));
  for (const e of candidates) deps.endpoints.put(envelope.id, e.id, e);
  return candidates.map((e) => ({ id: e.id }));
}

/** Classic: the object's URL when it has one (never for webhookTest), else the organization's static URL. */
async function classicTarget(deps: PublishDeps, action: ClassicActionEvent): Promise<Target[]> {
  const settings = await deps.store.getWebhookSettings(action.tenant_id);
  if (!settings.enabled) return [];
  const objectUrl =
    action.action !== 'webhookTest' && action.object ? await deps.store.getObjectUrl(action.tenant_id, action.object.type, action.object.eid) : null;
  if (objectUrl) return [{ id: CLASSIC_TARGET_ID, url: objectUrl, source: 'object' }];
  if (settings.url) return [{ id: CLASSIC_TARGET_ID, url: settings.url, source: 'static' }];
  return [];
}

/** An Events API envelope (id generated unless the client gave one), delivered per subscription. */
export function publishEvent(
  deps: PublishDeps,
  tenant: Tenant,
  event: { id?: string; type: EventType; data: Record<string, unknown> },
  onlyEndpointId?: string,
) {
  const envelope: EventEnvelope = {
    id: event.id ?? newEventId(),
    type: event.type,
    created: new Date().toISOString(),
    tenant_id: tenant.id,
    data: event.data,
    api_version: API_VERSION,
  };
  return publish(deps, {
    tenant,
    id: envelope.id,
    kind: 'event',
    type: envelope.type,
    body: envelope as unknown as Record<string, unknown>,
    input: (body) => ({
      kind: 'event',
      eventId: envelope.id,
      tenantId: tenant.id,
      eventType: envelope.type,
      envelope: body as unknown as EventEnvelope,
      policy: deps.policies.standard,
    }),
    targets: (body, subscribed) => endpointTargets(deps, body as unknown as EventEnvelope, onlyEndpointId, subscribed),
  });
}

/** A classic action, delivered to the object's URL or the organization's static URL. */
export function publishAction(
  deps: PublishDeps,
  tenant: Tenant,
  a: { id?: string; action: ClassicAction; object?: ClassicActionEvent['object']; data: Record<string, unknown> },
) {
  const action: ClassicActionEvent = {
    id: a.id ?? newEventId(),
    action: a.action,
    tenant_id: tenant.id,
    created: new Date().toISOString(),
    object: a.object ?? null,
    data: a.data,
  };
  return publish(deps, {
    tenant,
    id: action.id,
    kind: 'classic',
    type: action.action,
    body: action as unknown as Record<string, unknown>,
    input: (body) => {
      const stored = body as unknown as ClassicActionEvent;
      return {
        kind: 'classic',
        eventId: stored.id,
        tenantId: tenant.id,
        eventType: stored.action,
        classic: { action: stored.action, data: stored.data },
        policy: deps.policies.classic,
      };
    },
    targets: (body) => classicTarget(deps, body as unknown as ClassicActionEvent),
  });
}
