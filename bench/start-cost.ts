// `npx tsx bench/start-cost.ts`: what a workflow start's search attributes and summary cost the Temporal
// dev server. Workflows that complete in their first task (the floor's, with no targets) are started
// eagerly from one process in batches of START_COST_BATCH (400) from 32 lanes, four variants alternating
// (nothing; the static summary; anvil's four search attributes; both), START_COST_ROUNDS (5) batches
// each; printed: the server's CPU ms per workflow, median and each batch.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { searchAttributes as sa } from '../domain/contract';
import { newEventId } from '../domain/ids';
import { ensureNamespaceSetup } from '../infra/namespace';
import { freePort, startTemporalDevServer } from '../scripts/local-services';
import { cpuOf } from './proc';

const BATCH = Number(process.env.START_COST_BATCH ?? 400);
const ROUNDS = Number(process.env.START_COST_ROUNDS ?? 5);
const quiet = () => {};

const summary = 'lead.created → ep_01JABCDEFGHJKMNPQRSTVWXYZ';
const attributes = (id: string) => [
  { key: sa.tenantId, value: 'tnt_01JABCDEFGHJKMNPQRSTVWXYZ' },
  { key: sa.eventId, value: id },
  { key: sa.eventType, value: 'lead.created' },
  { key: sa.endpointIds, value: ['ep_01JABCDEFGHJKMNPQRSTVWXYZ'] },
];
const variants: Record<string, (id: string) => object> = {
  'nothing': () => ({}),
  'summary': () => ({ staticSummary: summary }),
  'search attributes': (id) => ({ typedSearchAttributes: attributes(id) }),
  'both': (id) => ({ typedSearchAttributes: attributes(id), staticSummary: summary }),
};

async function main() {
  Runtime.install({ logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error } });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'anvil-start-cost-'));
  const server = await startTemporalDevServer({
    cli: process.env.TEMPORAL_CLI ?? path.resolve(__dirname, '../.venv/bin/temporal'),
    dbFile: path.join(scratch, 'temporal.db'),
    port: await freePort(),
    uiPort: null,
    log: quiet,
  });
  try {
    await ensureNamespaceSetup(server.address, 'default', 1, quiet);
    const connection = await NativeConnection.connect({ address: server.address });
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./floor'), logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error } });
    const worker = await Worker.create({ connection, taskQueue: 'start-cost', workflowBundle, activities: { post: () => Promise.resolve(200) }, maxConcurrentWorkflowTaskExecutions: 40, maxConcurrentWorkflowTaskPolls: 10 });
    const running = worker.run();
    const client = new Client({ connection });
    const pid = server.process.pid!;
    const batch = async (variant: string, n: number) => {
      let next = 0;
      const before = cpuOf([pid]);
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < n) {
            next++;
            const id = newEventId();
            const handle = await client.workflow.start('floorWorkflow', { taskQueue: 'start-cost', workflowId: id, args: [[], id, ''], requestEagerStart: true, ...variants[variant]!(id) });
            await handle.result();
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 1500)); // the server finishes its writes
      return ((cpuOf([pid]) - before) * 1000) / n;
    };
    const names = Object.keys(variants);
    for (const name of [...names, ...names]) await batch(name, 100); // warm-up
    const results = new Map<string, number[]>(names.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) results.get(name)!.push(await batch(name, BATCH));
    }
    console.log(`Temporal dev server CPU ms per workflow (eager start, completed in its first task; ${ROUNDS} batches of ${BATCH}):`);
    for (const [name, xs] of results) {
      const median = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(`  ${name.padEnd(18)} ${median.toFixed(2)}   [${xs.map((x) => x.toFixed(2)).join(' ')}]`);
    }
    worker.shutdown();
    await running;
    await connection.close();
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
