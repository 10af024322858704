// Namespace setup shared by the launcher, the test harness and `npm run migrate`: retention raised to the
// configured days (the delivery log lives in the histories) and the search attributes registered.
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { searchAttributes } from '../domain/contract';

export type Log = (line: string) => void;

/** Every search attribute the delivery log needs, by name, with its indexed type (for AddSearchAttributes). */
export function searchAttributeDefinitions(): Record<string, temporal.api.enums.v1.IndexedValueType> {
  const { IndexedValueType } = temporal.api.enums.v1;
  const types = {
    KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
    DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  } as const;
  return Object.fromEntries(Object.values(searchAttributes).map((key) => [key.name, types[key.type as keyof typeof types]]));
}

/**
 * The dev server creates its namespace with 24 h retention and registers search attributes only at
 * creation: raise the retention (the delivery log lives in the histories) and add missing attributes.
 * The same calls as `temporal operator namespace update --retention` and
 * `temporal operator search-attribute create`, made through the SDK's connection.
 */
export async function ensureNamespaceSetup(address: string, namespace: string, retentionDays: number, log: Log): Promise<void> {
  const connection = await connectWithRetry(address, 60_000);
  try {
    const described = await connection.workflowService.describeNamespace({ namespace });
    const currentSeconds = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    const wantedSeconds = retentionDays * 24 * 3600;
    if (currentSeconds < wantedSeconds) {
      await connection.workflowService.updateNamespace({
        namespace,
        config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(wantedSeconds) } },
      });
      log(`namespace ${namespace}: retention raised to ${retentionDays} days`);
    }
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
    const missing = Object.fromEntries(Object.entries(searchAttributeDefinitions()).filter(([name]) => !known.has(name)));
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      log(`namespace ${namespace}: registered search attributes ${Object.keys(missing).join(', ')}`);
    }
  } finally {
    await connection.close();
  }
}

async function connectWithRetry(address: string, timeoutMs: number): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await Connection.connect({ address, connectTimeout: 2000 });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not answer: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
