// Proves today's workflow code is still deterministic for every stored history (test/histories/*.json,
// recorded from real runs by scripts/record-histories.ts): each path a delivery takes replays without a
// DeterminismViolationError. And proves this check can fail: the same histories replayed against a
// deliberately changed deliveryWorkflow (test/support/changed-workflows.ts: one extra timer before the
// first attempt) are reported non-deterministic, by the SDK and by `npm run replay`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type ReplayResult,
  type ReplayWorkerOptions,
} from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';

const ROOT = path.resolve(__dirname, '..', '..');
const HISTORIES = path.join(ROOT, 'test', 'histories');
/** Every path the stored histories must cover (scripts/record-histories.ts writes these). */
const PATHS = [
  'delivery-success-first-try',
  'delivery-retried-then-success',
  'delivery-exhausted',
  'delivery-retry-now',
  'delivery-resent',
  'delivery-canceled',
  'delivery-classic-encrypted',
  'event-fan-out',
  'event-classic',
];

const { EventType } = temporal.api.enums.v1;

interface Stored extends HistoryAndWorkflowId {
  history: History;
  name: string;
  type: string;
}

function stored(): Stored[] {
  return readdirSync(HISTORIES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')));
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      const name = file.replace(/\.json$/, '');
      return { name, type, workflowId: name, history };
    });
}

async function replayAll(options: ReplayWorkerOptions, histories: Stored[]): Promise<Map<string, ReplayResult>> {
  const results = new Map<string, ReplayResult>();
  for await (const result of Worker.runReplayHistories(options, histories)) results.set(result.workflowId, result);
  assert.equal(results.size, histories.length, 'one result per history');
  return results;
}

/** Today's workflow code: the bundle `npm test` built from workflows/, else the source itself. */
const todaysCode = (): ReplayWorkerOptions =>
  process.env.ANVIL_TEST_WORKFLOW_BUNDLE
    ? { workflowBundle: { codePath: process.env.ANVIL_TEST_WORKFLOW_BUNDLE } }
    : { workflowsPath: require.resolve('../../workflows') };

let changedCode: string;
let scratch: string;
before(async () => {
  // The failing replays below would each log a core warning; their verdicts are asserted instead.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  ({ code: changedCode } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../support/changed-workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  }));
  scratch = mkdtempSync(path.join(tmpdir(), 'anvil-replay-'));
});
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});

void test('a stored history exists for every delivery path and the fan-out', () => {
  const histories = stored();
  assert.deepEqual(histories.map((h) => h.name).sort(), [...PATHS].sort());
  for (const h of histories) {
    assert.equal(h.type, h.name.startsWith('event-') ? 'eventWorkflow' : 'deliveryWorkflow', h.name);
    assert.equal(h.history.events?.at(-1)?.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, `${h.name} is a completed run`);
  }
});

void test('every stored history replays deterministically against today\'s workflow code', async () => {
  const results = await replayAll(todaysCode(), stored());
  for (const [name, result] of results) assert.equal(result.error, undefined, `${name}: ${result.error?.message}`);
});

void test('a changed deliveryWorkflow (one extra timer) is caught as non-deterministic', async () => {
  const histories = stored();
  const one = histories.find((h) => h.name === 'delivery-success-first-try')!;
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: { code: changedCode } }, one.history, one.workflowId), (err: unknown) => {
    assert.ok(err instanceof DeterminismViolationError, `got ${String(err)}`);
    assert.match(err.message, /Nondeterminism error/);
    return true;
  });
  // Every deliveryWorkflow history fails against the change; the untouched eventWorkflow still passes.
  const results = await replayAll({ workflowBundle: { code: changedCode } }, histories);
  for (const h of histories) {
    const error = results.get(h.name)?.error;
    if (h.type === 'deliveryWorkflow') assert.ok(error instanceof DeterminismViolationError, `${h.name} must fail against the change`);
    else assert.equal(error, undefined, `${h.name}: ${error?.message}`);
  }
});

void test('npm run replay prints a verdict per history and exits 1 when one is non-deterministic', () => {
  const changedBundle = path.join(scratch, 'changed-bundle.js');
  writeFileSync(changedBundle, changedCode);
  const run = (bundle: string | undefined) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'replay.ts'), HISTORIES], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ANVIL_WORKFLOW_BUNDLE: bundle ?? '' },
      timeout: 120_000,
    });
  const today = run(process.env.ANVIL_TEST_WORKFLOW_BUNDLE);
  assert.equal(today.status, 0, today.stdout + today.stderr);
  for (const name of PATHS) assert.match(today.stdout, new RegExp(`${name}\\.json: deterministic\\n`));

  const changed = run(changedBundle);
  assert.equal(changed.status, 1, changed.stdout + changed.stderr);
  assert.match(changed.stdout, /delivery-retry-now\.json: NON-DETERMINISTIC: .*Nondeterminism error/);
  assert.match(changed.stdout, /event-fan-out\.json: deterministic\n/);
  const deliveries = PATHS.filter((p) => p.startsWith('delivery-')).length;
  assert.match(changed.stdout, new RegExp(`${PATHS.length} histories replayed, ${deliveries} failed`));
});
