// Proves today's workflow code is still deterministic for every stored history: test/histories/*.json
// (recorded from real runs of today's eventWorkflow by scripts/record-histories.ts: every path it takes)
// and test/histories/legacy/*.json (recorded by the engine before one workflow per event: executions still
// running at the upgrade must replay on the new workers). And proves this check can fail: the same
// histories replayed against a deliberately changed eventWorkflow (test/support/changed-workflows.ts: one
// extra timer before the first attempt) are reported non-deterministic, by the SDK and by `npm run replay`.
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
const LEGACY = path.join(HISTORIES, 'legacy');
/** Every path the stored histories of today's eventWorkflow must cover (scripts/record-histories.ts writes these). */
const PATHS = [
  'event-success-first-try',
  'event-fan-out-mixed',
  'event-busy-destination',
  'event-classic-encrypted',
  'event-retry-now-resend-canceled',
  'event-resent-after-close',
];
/** The legacy engine's paths (never re-recorded). */
const LEGACY_PATHS = [
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
  legacy: boolean;
}

function storedIn(dir: string, legacy: boolean): Stored[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      const name = `${legacy ? 'legacy/' : ''}${file.replace(/\.json$/, '')}`;
      return { name, type, workflowId: name, history, legacy };
    });
}

const stored = (): Stored[] => [...storedIn(HISTORIES, false), ...storedIn(LEGACY, true)];

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

void test('a stored history exists for every path of eventWorkflow, and for the legacy engine', () => {
  const histories = stored();
  assert.deepEqual(histories.map((h) => h.name).sort(), [...PATHS, ...LEGACY_PATHS.map((p) => `legacy/${p}`)].sort());
  for (const h of histories) {
    assert.equal(h.type, h.name.includes('event-') ? 'eventWorkflow' : 'deliveryWorkflow', h.name);
    assert.equal(h.history.events?.at(-1)?.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, `${h.name} is a completed run`);
  }
  // The happy path is the cheapest thing Temporal does: six events.
  assert.equal(histories.find((h) => h.name === 'event-success-first-try')!.history.events?.length, 6);
});

void test('every stored history replays deterministically against today\'s workflow code', async () => {
  const results = await replayAll(todaysCode(), stored());
  for (const [name, result] of results) assert.equal(result.error, undefined, `${name}: ${result.error?.message}`);
});

void test('a changed eventWorkflow (one extra timer) is caught as non-deterministic', async () => {
  const histories = stored();
  const one = histories.find((h) => h.name === 'event-success-first-try')!;
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: { code: changedCode } }, one.history, one.workflowId), (err: unknown) => {
    assert.ok(err instanceof DeterminismViolationError, `got ${String(err)}`);
    assert.match(err.message, /Nondeterminism error/);
    return true;
  });
  // Every history of today's engine fails against the change; the untouched legacy paths still pass.
  const results = await replayAll({ workflowBundle: { code: changedCode } }, histories);
  for (const h of histories) {
    const error = results.get(h.name)?.error;
    if (!h.legacy) assert.ok(error instanceof DeterminismViolationError, `${h.name} must fail against the change`);
    else assert.equal(error, undefined, `${h.name}: ${error?.message}`);
  }
});

void test('npm run replay prints a verdict per history and exits 1 when one is non-deterministic', () => {
  const changedBundle = path.join(scratch, 'changed-bundle.js');
  writeFileSync(changedBundle, changedCode);
  const run = (bundle: string | undefined) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'replay.ts'), HISTORIES, LEGACY], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ANVIL_WORKFLOW_BUNDLE: bundle ?? '' },
      timeout: 120_000,
    });
  const today = run(process.env.ANVIL_TEST_WORKFLOW_BUNDLE);
  assert.equal(today.status, 0, today.stdout + today.stderr);
  for (const name of [...PATHS, ...LEGACY_PATHS]) assert.match(today.stdout, new RegExp(`${name}\\.json: deterministic\\n`));

  const changed = run(changedBundle);
  assert.equal(changed.status, 1, changed.stdout + changed.stderr);
  assert.match(changed.stdout, /histories\/event-retry-now-resend-canceled\.json: NON-DETERMINISTIC: .*Nondeterminism error/);
  assert.match(changed.stdout, /legacy\/event-fan-out\.json: deterministic\n/);
  assert.match(changed.stdout, new RegExp(`${PATHS.length + LEGACY_PATHS.length} histories replayed, ${PATHS.length} failed`));
});
