// anvil-webhooks as the benchmark runs it: the API process as `npm run api` runs it (embedded worker,
// eager start), with the standard policies or, for the retry-timers load, a first retry after 1 h.
import { classicPolicy, nextDelay, standardPolicy } from '../domain/policies';
import { searchAttributes as sa, workflowTypes } from '../domain/contract';
import type { Config } from '../infra/config';
import { startApiProcess } from '../api/process';

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

export async function startAnvilForBench(config: Config, policy: 'standard' | 'hourly') {
  // First retry after 1 h; the span is wide enough that the policy's clamp (the last attempt within
  // maxSpan) never shortens a wait: 1 h × (1 + 2 + … + 2048) ≈ 4 095 h of nominal waits.
  const standard = policy === 'hourly' ? { ...standardPolicy, name: 'standard-first-wait-1h', initial: 3_600_000, maxSpan: 10_000 * 3_600_000 } : standardPolicy;
  if (policy === 'hourly' && nextDelay(standard, 1, 0, 0.999)! < 3_000_000) throw new Error('the hourly policy must wait about 1 h after the first attempt');
  const counts = { starts: 0, eager: 0 };
  const api = await startApiProcess({
    config,
    adminKey: BENCH_ADMIN_KEY,
    databaseUrl: config.databaseUrl!,
    port: 0,
    host: '127.0.0.1',
    policies: { standard, classic: classicPolicy },
    onWorkflowStarted: (eager) => {
      counts.starts++;
      if (eager) counts.eager++;
    },
  });
  const mib = (n: number) => Math.round(n / 2 ** 20);
  // The main thread's heap; the workflow threads' heaps and the Temporal core's memory are the rest of RSS.
  const memory = () => {
    const m = process.memoryUsage();
    return { heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external) };
  };
  return { url: api.url, stats: () => ({ ...counts, memory: memory() }), close: () => api.close() };
}

/** The workflows one event of this engine runs (for history lengths and state transitions). */
export function workflowIdsOf(eventId: string, _endpointIds: string[]): string[] {
  return [eventId];
}

/** Counts deliveries waiting on a retry timer. */
export const WAITING_QUERY = `WorkflowType = '${workflowTypes.event}' AND ${sa.targetStates.name} = 'retrying' AND ExecutionStatus = 'Running'`;
