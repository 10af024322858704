// Namespace setup shared by the launcher, the test harness and `npm run migrate`: the namespace registered
// when missing (a real Temporal server starts with none), retention raised to the configured days (the
// delivery log lives in the histories) and the search attributes registered.
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

const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNAVAILABLE = 14;
const grpcCode = (err: unknown) => (err as { code?: number }).code;

/**
 * The dev server creates its namespace with 24 h retention and registers search attributes only at
 * creation; a real server (`npm run cluster`, docker-compose) has no namespace at all. Register the
 * namespace if missing, raise the retention, add missing attributes, and wait until the server answers
 * queries over them. The same calls as `temporal operator namespace create|update --retention` and
 * `temporal operator search-attribute create`, made through the SDK's connection.
 */
export async function ensureNamespaceSetup(address: string, namespace: string, retentionDays: number, log: Log): Promise<void> {
  const deadline = Date.now() + 120_000;
  const connection = await connectWithRetry(address, 60_000);
  const service = connection.workflowService;
  try {
    const wantedSeconds = retentionDays * 24 * 3600;
    // A server that just started answers UNAVAILABLE until its services have joined: retry those.
    let described = await whileUnavailable(deadline, () => describeOrNull(connection, namespace));
    if (!described) {
      await whileUnavailable(deadline, () =>
        service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(wantedSeconds) } }),
      ).catch((err: unknown) => {
        if (grpcCode(err) !== GRPC_ALREADY_EXISTS) throw err; // another migrate registered it meanwhile
      });
      log(`namespace ${namespace}: registered with ${retentionDays} days retention`);
      // The services learn of a new namespace by refreshing their namespace caches: NOT_FOUND meanwhile.
      described = await whileUnavailable(deadline, () => service.describeNamespace({ namespace }), [GRPC_NOT_FOUND]);
    }
    const currentSeconds = Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    if (currentSeconds < wantedSeconds) {
      await service.updateNamespace({
        namespace,
        config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(wantedSeconds) } },
      });
      log(`namespace ${namespace}: retention raised to ${retentionDays} days`);
    }
    const existing = await whileUnavailable(deadline, () => connection.operatorService.listSearchAttributes({ namespace }), [GRPC_NOT_FOUND]);
    const known = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
    const missing = Object.fromEntries(Object.entries(searchAttributeDefinitions()).filter(([name]) => !known.has(name)));
    if (Object.keys(missing).length > 0) {
      await whileUnavailable(deadline, () => connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing }), [GRPC_NOT_FOUND]);
      log(`namespace ${namespace}: registered search attributes ${Object.keys(missing).join(', ')}`);
    }
    // A new namespace or new attributes reach the services' caches within seconds (a real server
    // refreshes them periodically): wait until a query over every attribute is accepted, so the API and
    // workers started next can use them at once.
    await whileRejected(deadline, () =>
      service.listWorkflowExecutions({ namespace, pageSize: 1, query: Object.values(searchAttributes).map(probeCondition).join(' AND ') }),
    );
  } finally {
    await connection.close();
  }
}

/** A condition that any value of the attribute's type can be compared with. */
function probeCondition(key: { name: string; type: string }): string {
  if (key.type === 'INT') return `${key.name} >= 0`;
  if (key.type === 'DATETIME') return `${key.name} >= '1970-01-01T00:00:00Z'`;
  if (key.type === 'KEYWORD_LIST') return `${key.name} = 'probe'`;
  return `${key.name} != ''`;
}

async function describeOrNull(connection: Connection, namespace: string) {
  try {
    return await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if (grpcCode(err) === GRPC_NOT_FOUND) return null;
    throw err;
  }
}

/** Retries UNAVAILABLE (and the other codes given) until the deadline. */
async function whileUnavailable<T>(deadline: number, call: () => Promise<T>, alsoRetry: number[] = []): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const code = grpcCode(err);
      if ((code !== GRPC_UNAVAILABLE && !alsoRetry.includes(code ?? -1)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Retries any failure until the deadline: for what a server's caches will accept shortly. */
async function whileRejected<T>(deadline: number, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the Temporal server kept refusing a query over the search attributes: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
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
