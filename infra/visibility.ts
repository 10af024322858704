// Temporal's visibility, page by page: the delivery log lists one page per request and keeps Temporal's
// page token in its cursor. The SDK's list() iterates every page and hides the token, so this calls the
// service and decodes rows with the SDK's own decoder (a deep import, pinned by the SDK version in
// package.json and exercised by every delivery-log test).
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';

export type ExecutionInfo = Omit<WorkflowExecutionInfo, 'raw'>;

/** A string literal in a visibility query. */
export const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function listPage(
  client: Client,
  query: string,
  pageSize: number,
  pageToken: Buffer | null,
): Promise<{ rows: ExecutionInfo[]; nextPageToken: Buffer | null }> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query,
    pageSize,
    nextPageToken: pageToken ?? undefined,
  });
  const rows = await Promise.all(
    response.executions.map((e) => executionInfoFromRaw(e, client.options.loadedDataConverter, e, client.options.namespace)),
  );
  const next = response.nextPageToken && response.nextPageToken.length > 0 ? Buffer.from(response.nextPageToken) : null;
  return { rows, nextPageToken: next };
}

/** Every row of a query (bounded use: one event's runs, one endpoint's running workflows). */
export async function listAll(client: Client, query: string): Promise<ExecutionInfo[]> {
  const out: ExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) out.push(info);
  return out;
}
