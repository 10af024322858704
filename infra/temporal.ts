// Connections to Temporal for the API (client) and the worker (native connection), with a bounded wait
// for a server that is still starting.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

async function withStartupRetry<T>(what: string, address: string, connect: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect();
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${what}: Temporal at ${address} did not answer within ${timeoutMs / 1000} s (${(err as Error).message})`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function connectClient(address: string, namespace: string, timeoutMs = 60_000): Promise<Client> {
  const connection = await withStartupRetry('client', address, () => Connection.connect({ address }), timeoutMs);
  return new Client({ connection, namespace });
}

export async function connectWorkerConnection(address: string, timeoutMs = 60_000): Promise<NativeConnection> {
  return withStartupRetry('worker', address, () => NativeConnection.connect({ address }), timeoutMs);
}
