// `npm run replay -- <history.json | directory | workflow id> [...]`: replays histories against today's
// workflow code and says, per history, whether that code still makes the same decisions (deterministic)
// or not. Run it before deploying a workflow change: a NON-DETERMINISTIC history is a running workflow the
// new code would break. Exit status 1 when any history fails.
//   - a .json file: a history as `temporal workflow show -o json` exports it (test/histories/ holds some);
//   - a directory: every .json file in it;
//   - anything else is a workflow id, fetched (every run of it) from TEMPORAL_ADDRESS (default
//     localhost:7233), namespace TEMPORAL_NAMESPACE (default `default`).
// The code replayed is ANVIL_WORKFLOW_BUNDLE when set (the bundle the workers load), else workflows/.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { connectClient, DEFAULT_TEMPORAL_ADDRESS } from '../infra/temporal';

/** Today's workflow code: the deployed bundle when named, else the source. */
export function replayWorkerOptions(): ReplayWorkerOptions {
  const bundle = process.env.ANVIL_WORKFLOW_BUNDLE;
  return bundle ? { workflowBundle: { codePath: path.resolve(bundle) } } : { workflowsPath: require.resolve('../workflows') };
}

/** A history file as `temporal workflow show -o json` writes it (older `WorkflowExecutionStarted` spellings too). */
export function readHistoryFile(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
}

function historyFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => path.join(dir, name));
}

async function* histories(args: string[]): AsyncGenerator<HistoryAndWorkflowId> {
  const ids: string[] = [];
  for (const arg of args) {
    if (existsSync(arg) && statSync(arg).isDirectory()) {
      for (const file of historyFiles(arg)) yield { workflowId: path.relative(process.cwd(), file), history: readHistoryFile(file) };
    } else if (existsSync(arg)) {
      yield { workflowId: path.relative(process.cwd(), arg), history: readHistoryFile(arg) };
    } else if (arg.endsWith('.json')) {
      throw new Error(`${arg}: no such file`);
    } else {
      ids.push(arg);
    }
  }
  if (ids.length === 0) return;
  const address = process.env.TEMPORAL_ADDRESS || DEFAULT_TEMPORAL_ADDRESS;
  const client = await connectClient(address, process.env.TEMPORAL_NAMESPACE || 'default', 10_000);
  try {
    for (const id of ids) {
      const runs: string[] = [];
      const quoted = `'${id.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
      for await (const info of client.workflow.list({ query: `WorkflowId = ${quoted}` })) runs.push(info.runId);
      if (runs.length === 0) runs.push(''); // not (yet) visible in the list: the latest run, if any
      for (const runId of runs.reverse()) {
        const history = await client.workflow.getHandle(id, runId || undefined).fetchHistory();
        yield { workflowId: runs.length > 1 ? `${id} (run ${runId})` : id, history };
      }
    }
  } finally {
    await client.connection.close();
  }
}

async function main(args: string[]): Promise<number> {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    console.error('usage: npm run replay -- <history.json | directory | workflow id> [...]');
    return 2;
  }
  // Quiet: the verdict lines below say what failed and why (the core would also warn for each one).
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  let failed = 0;
  let total = 0;
  for await (const result of Worker.runReplayHistories(replayWorkerOptions(), histories(args))) {
    total++;
    if (!result.error) {
      console.log(`${result.workflowId}: deterministic`);
      continue;
    }
    failed++;
    const kind = result.error instanceof DeterminismViolationError ? 'NON-DETERMINISTIC' : 'REPLAY FAILED';
    console.log(`${result.workflowId}: ${kind}: ${result.error.message}`);
  }
  console.log(`${total} histories replayed, ${failed} failed`);
  return failed > 0 || total === 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`[replay] ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
