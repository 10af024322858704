// The delivery log's read side, served from Temporal itself. A delivery is the pair (event, target). A list
// page is one visibility query over the event workflows' search attributes (tenant, event, type, targets,
// per-target status tokens) plus one SQL query for the same page's event rows; each workflow row expands
// to one summary per target, from its memo once it tracks per-target state, else from the execution
// status (all pending while it runs, all succeeded once completed, with the first attempt's status code
// from the event row). A delivery's attempts are read from the histories of the runs that hold it.
// Deliveries of the engine before the upgrade (one deliveryWorkflow each) are listed and read alongside.
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { searchAttributes as sa, workflowTypes } from '../domain/contract';
import {
  deliveryIdFor,
  parseDeliveryId,
  type DeliveryStatus,
  type TrackedTarget,
} from '../domain/delivery';
import { attemptsInHistory } from '../infra/history';
import type { EventDeliveryFacts, Store } from '../infra/store';
import { listAll, listPage, quote, type ExecutionInfo } from '../infra/visibility';
import { notFound } from './errors';

export interface DeliverySummary {
  id: string;
  event_id: string | null;
  endpoint_id: string | null;
  event_type: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface DeliveryAttemptView {
  attempt: number;
  at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  manual: boolean;
}

/** GET /v1/deliveries/:id: the summary with every attempt. */
export type DeliveryDetail = Omit<DeliverySummary, 'attempts'> & { attempts: DeliveryAttemptView[] };

export interface DeliveryFilter {
  tenantId: string;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  status?: DeliveryStatus;
  /** Only workflows still running (commands: what can still be signaled). */
  running?: boolean;
}

export interface LogDeps {
  temporal: Client;
  store: Store;
}

/** A row of Temporal's visibility, or a describe: what a summary is computed from. */
type Execution = Pick<ExecutionInfo, 'workflowId' | 'runId' | 'type' | 'status' | 'startTime' | 'memo' | 'typedSearchAttributes'>;

// ---------------------------------------------------------------------------------------------------------
// Queries

const untrackedStatus: Record<DeliveryStatus, string | null> = {
  pending: `ExecutionStatus = 'Running'`,
  retrying: null,
  succeeded: `ExecutionStatus = 'Completed'`,
  failed: `ExecutionStatus IN ('Failed', 'TimedOut')`,
  canceled: `ExecutionStatus IN ('Terminated', 'Canceled')`,
};

/** Event workflows holding at least one delivery that may match (the rows are filtered exactly after). */
function eventWorkflowsQuery(f: DeliveryFilter): string {
  const parts = [`WorkflowType = ${quote(workflowTypes.event)}`, `${sa.tenantId.name} = ${quote(f.tenantId)}`, `${sa.endpointIds.name} IS NOT NULL`];
  if (f.endpointId) parts.push(`${sa.endpointIds.name} = ${quote(f.endpointId)}`);
  if (f.eventId) parts.push(`${sa.eventId.name} = ${quote(f.eventId)}`);
  if (f.eventType) parts.push(`${sa.eventType.name} = ${quote(f.eventType)}`);
  if (f.running) parts.push(`ExecutionStatus = 'Running'`);
  if (f.status) {
    const token = f.endpointId ? `${f.endpointId}:${f.status}` : f.status;
    const tracked = `${sa.targetStates.name} = ${quote(token)}`;
    const alternatives = [
      // pending and retrying hold only while the workflow runs; a terminated one is canceled.
      f.status === 'pending' || f.status === 'retrying' ? `(${tracked} AND ExecutionStatus = 'Running')` : tracked,
    ];
    const untracked = untrackedStatus[f.status];
    if (untracked) alternatives.push(`(${sa.targetStates.name} IS NULL AND ${untracked})`);
    // A workflow that ended without finishing its targets (terminated, failed) speaks for all of them.
    if (f.status === 'canceled' || f.status === 'failed') alternatives.push(`(${untracked})`);
    parts.push(`(${alternatives.join(' OR ')})`);
  }
  return parts.join(' AND ');
}

/** Deliveries of the engine before the upgrade: one deliveryWorkflow each, status in its own attribute. */
function legacyQuery(f: DeliveryFilter): string {
  const parts = [`WorkflowType = ${quote(workflowTypes.legacyDelivery)}`, `${sa.tenantId.name} = ${quote(f.tenantId)}`];
  if (f.endpointId) parts.push(`${sa.endpointId.name} = ${quote(f.endpointId)}`);
  if (f.eventId) parts.push(`${sa.eventId.name} = ${quote(f.eventId)}`);
  if (f.eventType) parts.push(`${sa.eventType.name} = ${quote(f.eventType)}`);
  if (f.running) parts.push(`ExecutionStatus = 'Running'`);
  if (f.status) {
    const declared = `${sa.status.name} = ${quote(f.status)}`;
    const closed = untrackedStatus[f.status];
    parts.push(f.status === 'canceled' || f.status === 'failed' ? `(${declared} OR ${closed})` : declared);
  }
  return parts.join(' AND ');
}

export function deliveryQuery(f: DeliveryFilter): string {
  return `(${eventWorkflowsQuery(f)}) OR (${legacyQuery(f)})`;
}

// ---------------------------------------------------------------------------------------------------------
// Summaries

const isRunning = (e: Execution) => e.status.name === 'RUNNING';

function closedOutcome(e: Execution): DeliveryStatus {
  return e.status.name === 'TERMINATED' || e.status.name === 'CANCELLED' ? 'canceled' : 'failed';
}

/** The legacy deliveryWorkflow's summary: its own status attribute while it runs, the close otherwise. */
function legacySummary(e: Execution, facts: EventDeliveryFacts | undefined): DeliverySummary {
  const t = e.typedSearchAttributes;
  const declared = t.get(sa.status) as DeliveryStatus | undefined;
  let status: DeliveryStatus;
  if (isRunning(e)) status = declared === 'retrying' ? 'retrying' : 'pending';
  else if (e.status.name === 'COMPLETED') status = declared && declared !== 'pending' && declared !== 'retrying' ? declared : 'failed';
  else status = closedOutcome(e);
  const next = t.get(sa.nextAttemptAt);
  return {
    id: e.workflowId,
    event_id: t.get(sa.eventId) ?? null,
    endpoint_id: t.get(sa.endpointId) ?? null,
    event_type: t.get(sa.eventType) ?? null,
    status,
    attempts: t.get(sa.attempts) ?? 0,
    last_status_code: t.get(sa.lastStatusCode) ?? null,
    next_attempt_at: status === 'retrying' && next ? next.toISOString() : null,
    created_at: (facts?.created_at ?? e.startTime).toISOString(),
  };
}

function targetSummary(e: Execution, eventId: string, target: string, facts: EventDeliveryFacts | undefined): DeliverySummary {
  const tracked = (e.memo as Record<string, unknown> | undefined)?.[target] as TrackedTarget | undefined;
  let state: Pick<DeliverySummary, 'status' | 'attempts' | 'last_status_code' | 'next_attempt_at'>;
  if (tracked && typeof tracked === 'object' && 'status' in tracked) {
    let status = tracked.status;
    if (!isRunning(e) && (status === 'pending' || status === 'retrying')) status = closedOutcome(e);
    state = {
      status,
      attempts: tracked.attempts,
      last_status_code: tracked.last_status_code,
      next_attempt_at: status === 'retrying' ? tracked.next_attempt_at : null,
    };
  } else if (isRunning(e)) {
    state = { status: 'pending', attempts: 0, last_status_code: null, next_attempt_at: null };
  } else if (e.status.name === 'COMPLETED') {
    // Completed without tracking: every first attempt succeeded (the happy path writes nothing else).
    state = { status: 'succeeded', attempts: 1, last_status_code: facts?.first_attempts?.[target] ?? null, next_attempt_at: null };
  } else {
    state = { status: closedOutcome(e), attempts: 0, last_status_code: null, next_attempt_at: null };
  }
  return {
    id: deliveryIdFor(eventId, target),
    event_id: eventId,
    endpoint_id: target,
    event_type: e.typedSearchAttributes.get(sa.eventType) ?? null,
    ...state,
    created_at: (facts?.created_at ?? e.startTime).toISOString(),
  };
}

const targetsOf = (e: Execution): string[] => (e.typedSearchAttributes.get(sa.endpointIds) as string[] | undefined) ?? [];
const eventIdOf = (e: Execution): string | undefined => e.typedSearchAttributes.get(sa.eventId) ?? undefined;

/** The deliveries a workflow run speaks for (a target re-sent by a later run is that run's). */
function summariesOf(e: Execution, facts: EventDeliveryFacts | undefined): DeliverySummary[] {
  if (e.type === workflowTypes.legacyDelivery) {
    const summary = legacySummary(e, facts);
    const target = summary.endpoint_id;
    return target && facts?.resent?.[target] ? [] : [summary];
  }
  const eventId = eventIdOf(e);
  if (!eventId) return [];
  return targetsOf(e)
    .filter((target) => !facts?.resent?.[target] || facts.resent[target] === e.runId)
    .map((target) => targetSummary(e, eventId, target, facts));
}

const matches = (f: DeliveryFilter) => (d: DeliverySummary) =>
  (!f.endpointId || d.endpoint_id === f.endpointId) &&
  (!f.eventId || d.event_id === f.eventId) &&
  (!f.eventType || d.event_type === f.eventType) &&
  (!f.status || d.status === f.status);

// ---------------------------------------------------------------------------------------------------------
// Lists

/** Where a list continues: Temporal's page token (null: the first page) and how many of its deliveries were listed. */
export interface LogPosition {
  page: string | null;
  skip: number;
}

export const isLogPosition = (v: unknown): v is LogPosition => {
  const p = v as Partial<LogPosition> | null;
  return typeof p === 'object' && p !== null && (p.page === null || typeof p.page === 'string') && Number.isSafeInteger(p.skip) && p.skip! >= 0;
};

/** One page of deliveries: one visibility query and one SQL query. */
export async function listDeliveries(
  { temporal, store }: LogDeps,
  filter: DeliveryFilter,
  limit: number,
  position: LogPosition | null,
): Promise<{ data: DeliverySummary[]; next: LogPosition | null }> {
  const token = position?.page ? Buffer.from(position.page, 'base64url') : null;
  const skip = position?.skip ?? 0;
  const page = await listPage(temporal, deliveryQuery(filter), limit, token);
  const facts = await store.eventDeliveryFacts(filter.tenantId, [...new Set(page.rows.map((r) => eventIdOf(r)).filter((id): id is string => !!id))]);
  const all = newestRunWins(page.rows.flatMap((row) => summariesOf(row, facts.get(eventIdOf(row) ?? ''))).filter(matches(filter)));
  const data = all.slice(skip, skip + limit);
  const next =
    skip + limit < all.length
      ? { page: position?.page ?? null, skip: skip + limit }
      : page.nextPageToken
        ? { page: page.nextPageToken.toString('base64url'), skip: 0 }
        : null;
  return { data, next };
}

/** A legacy delivery re-sent before the upgrade has several runs; within a page the newest speaks. */
function newestRunWins(list: DeliverySummary[]): DeliverySummary[] {
  const seen = new Set<string>();
  return list.filter((d) => (seen.has(d.id) ? false : (seen.add(d.id), true)));
}

/** Every delivery of a filter (all pages). */
export async function allDeliveries(deps: LogDeps, filter: DeliveryFilter): Promise<DeliverySummary[]> {
  const out: DeliverySummary[] = [];
  let position: LogPosition | null = null;
  do {
    const page: Awaited<ReturnType<typeof listDeliveries>> = await listDeliveries(deps, filter, 100, position);
    out.push(...page.data);
    position = page.next;
  } while (position);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// One delivery

export interface LocatedDelivery {
  eventId: string;
  targetId: string;
  /** Every run that holds the delivery, oldest first; the last one speaks for it. */
  runs: Execution[];
  summary: DeliverySummary;
}

function fromDescription(d: WorkflowExecutionDescription): Execution {
  return d;
}

/**
 * The runs holding a delivery: the event's workflow (every run: a closed workflow re-run for one target is
 * a new run of the same id), its partition when the fan-out was large, and a legacy deliveryWorkflow.
 * Runs of another tenant are never returned (404, not 403).
 */
export async function locateDelivery(deps: LogDeps, tenantId: string, id: string): Promise<LocatedDelivery> {
  const parsed = parseDeliveryId(id);
  if (!parsed) throw notFound(`delivery ${id}`);
  const { eventId, targetId } = parsed;
  const { temporal } = deps;
  // The latest run by describe as well: visibility may lag a start by a moment.
  const [listed, latest] = await Promise.all([
    listAll(temporal, `WorkflowId IN (${quote(eventId)}, ${quote(id)})`),
    temporal.workflow
      .getHandle(eventId)
      .describe()
      .then(fromDescription)
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }),
  ]);
  const candidates = new Map<string, Execution>(listed.map((e) => [e.runId, e]));
  if (latest) candidates.set(latest.runId, latest);
  const holds = (e: Execution) =>
    e.typedSearchAttributes.get(sa.tenantId) === tenantId &&
    (e.type === workflowTypes.legacyDelivery ? e.workflowId === id : e.type === workflowTypes.event && targetsOf(e).includes(targetId));
  let runs = [...candidates.values()].filter(holds);
  if (runs.length === 0 && [...candidates.values()].some((e) => (e.memo as Record<string, unknown> | undefined)?.partition)) {
    const query = `WorkflowType = ${quote(workflowTypes.event)} AND ${sa.eventId.name} = ${quote(eventId)} AND ${sa.endpointIds.name} = ${quote(targetId)}`;
    runs = (await listAll(temporal, query)).filter(holds);
  }
  if (runs.length === 0) throw notFound(`delivery ${id}`);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const facts = (await deps.store.eventDeliveryFacts(tenantId, [eventId])).get(eventId);
  const speaking = facts?.resent?.[targetId] ? (runs.find((r) => r.runId === facts.resent![targetId]) ?? runs.at(-1)!) : runs.at(-1)!;
  const summary = speaking.type === workflowTypes.legacyDelivery ? legacySummary(speaking, facts) : targetSummary(speaking, eventId, targetId, facts);
  return { eventId, targetId, runs, summary };
}

export function attemptView(a: { attempt: number; at: string; statusCode: number | null; durationMs: number; error: string | null; responseExcerpt: string | null; manual?: boolean }): DeliveryAttemptView {
  return {
    attempt: a.attempt,
    at: a.at,
    status_code: a.statusCode,
    duration_ms: a.durationMs,
    error: a.error,
    response_excerpt: a.responseExcerpt,
    manual: a.manual ?? false,
  };
}

/** A delivery's summary and every attempt of every run that held it. */
export async function deliveryDetail(deps: LogDeps, tenantId: string, id: string): Promise<DeliveryDetail> {
  const located = await locateDelivery(deps, tenantId, id);
  const converter = deps.temporal.options.loadedDataConverter;
  const histories = await Promise.all(located.runs.map((r) => deps.temporal.workflow.getHandle(r.workflowId, r.runId).fetchHistory()));
  const attempts = histories
    .flatMap((h, i) => attemptsInHistory(h, converter, located.runs[i]!.type === workflowTypes.legacyDelivery ? located.targetId : undefined))
    .map((r) => r.result)
    .filter((r) => r.target === located.targetId)
    .sort((a, b) => a.attempt - b.attempt || a.at.localeCompare(b.at));
  return { ...located.summary, attempts: attempts.map(attemptView) };
}
