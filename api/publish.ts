// Accepting an event or action: the answer is 202 only after Temporal acknowledged the eventWorkflow
// start, so an event a client holds a 202 for cannot be lost. A row in `events` makes a client-supplied
// id idempotent beyond Temporal's retention; a row without started_at is a publish that did not finish,
// and the same id starts it again.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { API_VERSION, type ClassicAction, type EventType } from '../domain/catalog';
import { searchAttributes as sa, type ClassicActionEvent, type EventEnvelope, type EventWorkflowInput } from '../domain/delivery';
import { newEventId } from '../domain/ids';
import type { EventRow, Store, Tenant } from '../infra/store';
import type { RouteDeps } from './app';
import { ApiError } from './errors';

export interface PublishRequest {
  tenant: Tenant;
  id: string;
  kind: EventRow['kind'];
  type: string;
  body: Record<string, unknown>;
  /** Builds the workflow input from the stored body (the first request's body wins on a retried id). */
  input: (storedBody: Record<string, unknown>) => EventWorkflowInput;
}

export async function publish(
  { store, temporal, taskQueue }: Pick<RouteDeps, 'temporal' | 'taskQueue'> & { store: Store },
  req: PublishRequest,
): Promise<{ status: 200 | 202; body: Record<string, unknown> }> {
  const claim = await store.claimEvent({ id: req.id, tenant_id: req.tenant.id, kind: req.kind, type: req.type, body: req.body });
  if (!claim.inserted) {
    if (claim.row.tenant_id !== req.tenant.id || claim.row.kind !== req.kind) {
      throw new ApiError(409, 'id_conflict', `id ${req.id} is already used`, [{ path: 'id', message: 'already used' }]);
    }
    if (claim.row.started_at) return { status: 200, body: claim.row.body };
  }
  const stored = claim.row.body;
  try {
    await temporal.workflow.start('eventWorkflow', {
      taskQueue,
      workflowId: req.id,
      args: [req.input(stored)],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: sa.tenantId, value: req.tenant.id },
        { key: sa.eventId, value: req.id },
        { key: sa.eventType, value: req.type },
      ],
      memo: { tenant_id: req.tenant.id, kind: req.kind, type: req.type },
      staticSummary: `${req.type} for ${req.tenant.id}`,
    });
  } catch (err) {
    // A concurrent request with the same id started it first: that one answered 202, this one 200.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      console.error(`[api] starting ${req.id} failed: ${(err as Error).message}`);
      throw new ApiError(503, 'temporal_unavailable', 'the event could not be accepted now; retry with the same id', [
        { path: 'id', message: `retry with "id": "${req.id}" to stay idempotent` },
      ]);
    }
    await store.markEventStarted(req.id);
    return { status: 200, body: stored };
  }
  // Recorded after the answer is on its way: the start itself is the durable fact (a retried id whose row
  // lacks started_at finds the workflow already started and answers 200).
  store.markEventStarted(req.id).catch((err: unknown) => console.error(`[api] marking ${req.id} started: ${(err as Error).message}`));
  return { status: 202, body: stored };
}

type PublishDeps = Pick<RouteDeps, 'temporal' | 'taskQueue' | 'policies'> & { store: Store };

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
      envelope: body as unknown as EventEnvelope,
      policy: deps.policies.standard,
      ...(onlyEndpointId ? { onlyEndpointId } : {}),
    }),
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
    input: (body) => ({ kind: 'classic', action: body as unknown as ClassicActionEvent, policy: deps.policies.classic }),
  });
}
