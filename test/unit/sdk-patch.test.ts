// Guards the one change made to an installed SDK (scripts/patch-temporal-worker.mjs): the installed
// @temporalio/worker carries it exactly where expected and re-running the patch changes nothing. (Every
// integration test runs workers with the default sandbox timeout of 0, i.e. through the patched branch.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { STACK_TRACES_PATCH_MARKER, stackTracesPatchApplied, watchdogPatchApplied, WATCHDOG_PATCH_MARKER } from '../../worker/sdk-patch';

const lib = path.join(path.dirname(require.resolve('@temporalio/worker/package.json')), 'lib', 'workflow');

void test('the installed @temporalio/worker carries the watchdog patch in every sandbox call, once', async () => {
  assert.equal(watchdogPatchApplied(), true);
  const count = (file: string) => readFileSync(path.join(lib, file), 'utf8').split(WATCHDOG_PATCH_MARKER).length - 1;
  assert.equal(count('reusable-vm.js'), 4);
  assert.equal(count('vm.js'), 1);
  const unpatched = (file: string) => readFileSync(path.join(lib, file), 'utf8').split('timeout: isolateExecutionTimeoutMs,').length - 1;
  assert.equal(unpatched('reusable-vm.js') + unpatched('vm.js'), 0, 'no call left with the bare timeout');
  const script = '../../scripts/patch-temporal-worker.mjs'; // plain JS: it runs before node_modules has tsx
  const { patchTemporalWorker } = (await import(script)) as { patchTemporalWorker: () => string };
  assert.equal(patchTemporalWorker(), 'already patched');
  assert.equal(count('reusable-vm.js'), 4, 'idempotent');
});

void test('the installed @temporalio/worker installs its stack-trace promise hook only when the thread asks for it', () => {
  assert.equal(stackTracesPatchApplied(), true);
  const source = readFileSync(path.join(lib, 'vm-shared.js'), 'utf8');
  assert.equal(source.split(STACK_TRACES_PATCH_MARKER).length - 1, 1);
  assert.equal(source.split('this.setPromiseHook();').length - 1, 1, 'the one call, behind the condition');
  assert.match(source, /if \(process\.env\.ANVIL_WORKFLOW_STACK_TRACES !== '0' [^)]*\) this\.setPromiseHook\(\);/);
});
