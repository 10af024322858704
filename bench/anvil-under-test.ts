// anvil-webhooks as the benchmark runs it: TODAY'S engine (before the one-workflow-per-event rewrite),
// the API app and a worker in one process, events started through matching by an ordinary client.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createApp } from '../api/app';
import type { Config } from '../infra/config';
import { createDb } from '../infra/db';
import { classicPolicy, standardPolicy } from '../domain/policies';
import { createStore } from '../infra/store';
import { createWorker } from '../worker/create-worker';

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

export async function startAnvilForBench(config: Config, policy: 'standard' | 'hourly') {
  const standard = policy === 'hourly' ? { ...standardPolicy, name: 'standard-first-wait-1h', initial: 3_600_000, maxSpan: 1000 * 3_600_000 } : standardPolicy;
  const db = createDb(config.databaseUrl!, 10);
  const store = createStore(db);
  const native = await NativeConnection.connect({ address: config.temporalAddress! });
  const { worker, http } = await createWorker({ config, connection: native, store, workflowBundlePath: config.workflowBundle });
  const running = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: config.temporalAddress! }) });
  const app = createApp({ config, store, temporal: client, adminKey: BENCH_ADMIN_KEY, policies: { standard, classic: classicPolicy } });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ starts: 0, eager: 0 }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      worker.shutdown();
      await running;
      await http.close();
      await db.end();
    },
  };
}

/** The workflows one event of this engine runs (for history lengths and state transitions). */
export function workflowIdsOf(eventId: string, endpointIds: string[]): string[] {
  return [eventId, ...endpointIds.map((ep) => `${eventId}:${ep}`)];
}

/** Counts deliveries waiting on a retry timer. */
export const WAITING_QUERY = `WorkflowType = 'deliveryWorkflow' AND AnvilDeliveryStatus = 'retrying'`;
