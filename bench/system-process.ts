// One system under test in its own process, so the benchmark can read its CPU and memory:
//   naive  a worker (one workflow + one ordinary POST activity per delivery) and an ordinary client
//   floor  a worker (one workflow per event, local-activity POSTs in its first task) and a client on the
//          worker's NativeConnection that starts eagerly
//   anvil  the API process as `npm run api` runs it (embedded worker, eager start), policies from
//          BENCH_POLICY (standard, or hourly: first retry after 1 h, for the retry-timers load)
// Configured by the environment like the real entry points. Talks to the bench over IPC:
//   parent → {type: 'start', id, urls, body}          (naive, floor) → {type: 'started', id, eager}
//   parent → {type: 'stats'}                           → {type: 'stats', eager, starts}
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../infra/config';
import * as postActivity from './post-activity';
import { startAnvilForBench } from './anvil-under-test';
import { workerTuning } from '../worker/create-worker';
import { applyWorkflowStackTraces } from '../worker/sdk-patch';

type Message = { type: 'start'; id: string; urls: string[]; body: string } | { type: 'stats' };

async function main() {
  Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
  const kind = process.argv[2];
  const config = loadConfig(process.env);
  const address = config.temporalAddress!;
  let starts = 0;
  let eager = 0;
  const send = (m: unknown) => process.send?.(m);

  if (kind === 'anvil') {
    const anvil = await startAnvilForBench(config, process.env.BENCH_POLICY === 'hourly' ? 'hourly' : 'standard');
    process.on('message', (m: Message) => {
      if (m.type === 'stats') send({ type: 'stats', ...anvil.stats() });
    });
    send({ type: 'ready', url: anvil.url });
    process.once('SIGTERM', () => void anvil.close().then(() => process.exit(0)));
    return;
  }

  // As anvil's worker does (worker/create-worker.ts): source maps off (tsx turns them on), and the same
  // stack-trace setting (ANVIL_WORKFLOW_STACK_TRACES), so the references pay for these exactly when anvil does.
  process.setSourceMapsEnabled(false);
  applyWorkflowStackTraces(config.workflowStackTraces);
  const connection = await NativeConnection.connect({ address });
  const taskQueue = config.taskQueue;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: process.env.BENCH_BUNDLE! },
    activities: postActivity,
    // The same slots, pollers, cache and watchdog as anvil's worker.
    ...workerTuning(config),
  });
  const running = worker.run();
  // naive: an ordinary client (its own gRPC connection, no eager start); floor: the worker's connection.
  const client = kind === 'floor' ? new Client({ connection }) : new Client({ connection: await Connection.connect({ address }) });
  process.on('message', (m: Message) => {
    if (m.type === 'stats') {
      send({ type: 'stats', starts, eager });
      return;
    }
    const started =
      kind === 'floor'
        ? Promise.all([client.workflow.start('floorWorkflow', { taskQueue, workflowId: m.id, args: [m.urls, m.id, m.body], requestEagerStart: true })])
        : Promise.all(m.urls.map((url, i) => client.workflow.start('naiveWorkflow', { taskQueue, workflowId: `${m.id}-${i}`, args: [url, m.id, m.body] })));
    started.then(
      (handles) => {
        starts += handles.length;
        eager += handles.filter((h) => h.eagerlyStarted).length;
        send({ type: 'started', id: m.id });
      },
      (err: unknown) => send({ type: 'started', id: m.id, error: String(err) }),
    );
  });
  send({ type: 'ready' });
  process.once('SIGTERM', () => worker.shutdown());
  await running;
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
