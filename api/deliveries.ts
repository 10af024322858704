// The delivery log, served from Temporal itself: lists are one visibility query over the delivery
// workflows' search attributes; a delivery's attempts are read from its workflow histories (every run:
// a manual re-send of a finished delivery is a new run of the same workflow id).
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { temporal } from '@temporalio/proto';
import {
  searchAttributes as sa,
  type AttemptResult,
  type DeliveryStatus,
  type DeliveryWorkflowInput,
} from '../domain/delivery';
import { deliveryStartOptions } from '../infra/start-options';
import { recoverSchema } from '../domain/schemas';
import type { RouteDeps } from './app';
import { ApiError, notFound, parseWith } from './errors';

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

const DELIVERY_WORKFLOW = 'deliveryWorkflow';
/** How the SDK's core records a local activity's result in the history. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
type ExecutionInfo = Omit<WorkflowExecutionInfo, 'raw'>;
const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface DeliveryFilter {
  tenantId: string;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  status?: DeliveryStatus;
  running?: boolean;
  startedAfter?: string;
  startedBefore?: string;
}

export function deliveryQuery(f: DeliveryFilter): string {
  const parts = [`WorkflowType = ${quote(DELIVERY_WORKFLOW)}`, `${sa.tenantId.name} = ${quote(f.tenantId)}`];
  if (f.endpointId) parts.push(`${sa.endpointId.name} = ${quote(f.endpointId)}`);
  if (f.eventId) parts.push(`${sa.eventId.name} = ${quote(f.eventId)}`);
  if (f.eventType) parts.push(`${sa.eventType.name} = ${quote(f.eventType)}`);
  if (f.status) parts.push(`${sa.status.name} = ${quote(f.status)}`);
  if (f.running) parts.push(`ExecutionStatus = 'Running'`);
  if (f.startedAfter) parts.push(`StartTime >= ${quote(f.startedAfter)}`);
  if (f.startedBefore) parts.push(`StartTime < ${quote(f.startedBefore)}`);
  return parts.join(' AND ');
}

/** The status a user sees: the workflow's own word while it runs, the execution status otherwise. */
function statusOf(info: ExecutionInfo): DeliveryStatus {
  const declared = info.typedSearchAttributes.get(sa.status) as DeliveryStatus | undefined;
  switch (info.status.name) {
    case 'RUNNING':
      return declared === 'retrying' ? 'retrying' : 'pending';
    case 'COMPLETED':
      return declared && declared !== 'pending' && declared !== 'retrying' ? declared : 'failed';
    case 'CANCELLED':
    case 'TERMINATED':
      return 'canceled';
    default:
      return 'failed';
  }
}

export function summaryOf(info: ExecutionInfo): DeliverySummary {
  const t = info.typedSearchAttributes;
  const next = t.get(sa.nextAttemptAt);
  const status = statusOf(info);
  return {
    id: info.workflowId,
    event_id: t.get(sa.eventId) ?? null,
    endpoint_id: t.get(sa.endpointId) ?? null,
    event_type: t.get(sa.eventType) ?? null,
    status,
    attempts: t.get(sa.attempts) ?? 0,
    last_status_code: t.get(sa.lastStatusCode) ?? null,
    next_attempt_at: status === 'retrying' && next ? next.toISOString() : null,
    created_at: info.startTime.toISOString(),
  };
}

/** One page of deliveries, each workflow id once (its latest run), newest first. */
export async function listDeliveries(
  client: Client,
  filter: DeliveryFilter,
  pageSize: number,
  pageToken: Buffer | null,
): Promise<{ data: DeliverySummary[]; nextPageToken: Buffer | null }> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: deliveryQuery(filter),
    pageSize,
    nextPageToken: pageToken ?? undefined,
  });
  const infos = await Promise.all(
    response.executions.map((e) =>
      executionInfoFromRaw(e, client.options.loadedDataConverter, e, client.options.namespace),
    ),
  );
  const latest = await latestRuns(client, [...new Set(infos.map((i) => i.workflowId))]);
  const data = infos.filter((i) => latest.get(i.workflowId) === i.runId).map(summaryOf);
  const token = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken) : null;
  return { data, nextPageToken: token };
}

/** The latest run id of each workflow id: older runs of a re-sent delivery are not listed twice. */
async function latestRuns(client: Client, ids: string[]): Promise<Map<string, string>> {
  const latest = new Map<string, { runId: string; start: number }>();
  if (ids.length === 0) return new Map();
  const query = `WorkflowType = ${quote(DELIVERY_WORKFLOW)} AND WorkflowId IN (${ids.map(quote).join(', ')})`;
  for await (const info of client.workflow.list({ query })) {
    const start = info.startTime.getTime();
    const seen = latest.get(info.workflowId);
    if (!seen || start > seen.start) latest.set(info.workflowId, { runId: info.runId, start });
  }
  return new Map([...latest].map(([id, v]) => [id, v.runId]));
}

/** Every delivery of a filter (all pages), latest run each. */
export async function allDeliveries(client: Client, filter: DeliveryFilter): Promise<DeliverySummary[]> {
  const out: DeliverySummary[] = [];
  let token: Buffer | null = null;
  do {
    const page = await listDeliveries(client, filter, 200, token);
    out.push(...page.data);
    token = page.nextPageToken;
  } while (token);
  return out;
}

function isAttemptResult(v: unknown): v is AttemptResult {
  const o = v as Partial<AttemptResult> | null;
  return typeof o === 'object' && o !== null && typeof o.attempt === 'number' && typeof o.at === 'string' && 'ok' in o;
}

/** Attempts recorded in one run's history: the results of its postAttempt local-activity markers. */
async function attemptsOfRun(client: Client, workflowId: string, runId: string): Promise<AttemptResult[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter.payloadConverter;
  const decode = (p: temporal.api.common.v1.IPayload | undefined): unknown => (p ? converter.fromPayload(p) : undefined);
  const out: AttemptResult[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== LOCAL_ACTIVITY_MARKER) continue;
    const meta = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
    if (meta?.activity_type !== 'postAttempt') continue;
    const value = decode(marker.details?.result?.payloads?.[0]);
    if (isAttemptResult(value) && !value.canceled && !value.busy) out.push(value);
  }
  return out;
}

export function attemptView(a: AttemptResult): DeliveryAttemptView {
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

/** The delivery's latest run, checked to belong to the tenant (404 otherwise, never 403). */
export async function findDelivery(client: Client, tenantId: string, id: string) {
  try {
    const description = await client.workflow.getHandle(id).describe();
    if (description.type !== DELIVERY_WORKFLOW || description.typedSearchAttributes.get(sa.tenantId) !== tenantId) {
      throw notFound(`delivery ${id}`);
    }
    return description;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound(`delivery ${id}`);
    throw err;
  }
}

export async function deliveryDetail(client: Client, tenantId: string, id: string) {
  const latest = await findDelivery(client, tenantId, id);
  const runs: ExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query: `WorkflowId = ${quote(id)}` })) runs.push(info);
  if (!runs.some((r) => r.runId === latest.runId)) runs.push(latest);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const attempts = (await Promise.all(runs.map((r) => attemptsOfRun(client, id, r.runId)))).flat();
  attempts.sort((a, b) => a.attempt - b.attempt || a.at.localeCompare(b.at));
  const summary = summaryOf(latest);
  return {
    ...summary,
    created_at: (runs[0] ?? latest).startTime.toISOString(),
    attempts: attempts.map(attemptView),
  };
}

/**
 * Retry now: a delivery waiting for its next attempt is signaled; a finished one is sent again, with the
 * same event id, as a new run of the same workflow id that makes one manual attempt.
 */
export async function retryDelivery(
  { temporal: client, taskQueue }: Pick<RouteDeps, 'temporal' | 'taskQueue'>,
  tenantId: string,
  id: string,
): Promise<'signaled' | 'resent'> {
  let latest = await findDelivery(client, tenantId, id);
  if (latest.status.name === 'RUNNING') {
    try {
      await client.workflow.getHandle(id, latest.runId).signal('retryNow');
      return 'signaled';
    } catch (err) {
      // It finished between the describe and the signal: re-send it, numbered after its final attempts.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      latest = await findDelivery(client, tenantId, id);
    }
  }
  const history = await client.workflow.getHandle(id, latest.runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) throw new ApiError(409, 'not_resendable', `delivery ${id} has no recorded input`);
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload(payload) as DeliveryWorkflowInput;
  const previousAttempts = latest.typedSearchAttributes.get(sa.attempts) ?? 0;
  try {
    await client.workflow.start('deliveryWorkflow', {
      ...deliveryStartOptions({ ...input, manual: { previousAttempts } }, taskQueue, { manual: true }),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    // Two retries at once: the other one started the re-send.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return 'resent';
}

/** Disabling or deleting an endpoint cancels its pending retries. */
export async function cancelDeliveriesOfEndpoint(
  { temporal: client }: Pick<RouteDeps, 'temporal'>,
  tenantId: string,
  endpointId: string,
  reason: string,
): Promise<number> {
  let n = 0;
  for await (const info of client.workflow.list({ query: deliveryQuery({ tenantId, endpointId, running: true }) })) {
    await client.workflow
      .getHandle(info.workflowId, info.runId)
      .signal('cancel', reason)
      .then(() => n++)
      .catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
  }
  return n;
}

/** Re-sends every failed delivery of an endpoint created inside [since, until). */
export async function recoverEndpoint(deps: RouteDeps, tenantId: string, endpointId: string, body: unknown): Promise<number> {
  const input = parseWith(recoverSchema, body ?? {});
  const since = new Date(input.since).toISOString();
  const until = input.until ? new Date(input.until).toISOString() : undefined;
  const failed = (await allDeliveries(deps.temporal, { tenantId, endpointId, status: 'failed' })).filter(
    (d) => d.created_at >= since && (until === undefined || d.created_at < until),
  );
  for (const d of failed) await retryDelivery(deps, tenantId, d.id);
  return failed.length;
}
