// `node dist/scripts/worker-health.js [pid]`: exit 0 when Temporal sees a worker of THIS host (a container's
// hostname is its own) polling TEMPORAL_TASK_QUEUE for workflow tasks, else 1. The SDK names a worker
// `<pid>@<hostname>`; with a pid, only that process counts. docker-compose.yml's worker healthcheck.
import os from 'node:os';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../infra/config';
import { DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const wanted = process.argv[2] ? `${process.argv[2]}@${os.hostname()}` : null;
  const connection = await Connection.connect({ address: config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS, connectTimeout: 3000 });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: config.temporalNamespace,
      taskQueue: { name: config.taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const ours = pollers.filter((p) => (wanted ? p.identity === wanted : (p.identity ?? '').endsWith(`@${os.hostname()}`)));
    console.log(`${ours.length} poller(s) of ${wanted ?? `host ${os.hostname()}`} on ${config.taskQueue}`);
    return ours.length > 0 ? 0 : 1;
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[worker-health] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
