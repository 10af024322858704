#!/usr/bin/env node
// Runs after every `npm install` (package.json "postinstall"). Two changes to @temporalio/worker 1.24, each
// for a cost the SDK gives no option to avoid; both off unless the worker asks (worker/create-worker.ts):
// 1. The watchdog. The SDK passes `timeout: isolateExecutionTimeoutMs` to every call into the workflow
//    sandbox (node:vm), and node:vm starts a watchdog thread for each such call: measured here at several
//    ms of CPU per workflow, the largest single cost of the worker's workflow thread. Patched so that a
//    timeout of 0 means "no watchdog" (workers pass it when ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS=0, the
//    default). Given up: a workflow activation stuck in a synchronous loop is no longer interrupted after
//    the timeout ("Potential deadlock detected"); it blocks its workflow thread until the process restarts.
// 2. Stack traces. The SDK installs a promise hook in each workflow thread that, for every promise a
//    workflow creates, builds an Error, formats its stack through the bundle's source map and keeps it
//    while the promise is pending: ~30 % of the workflow thread's CPU, and memory for every waiting
//    workflow. Patched so that ANVIL_WORKFLOW_STACK_TRACES=0 in the thread's environment skips the hook
//    (the worker sets it from its config, default off). Given up: the "Stack Trace" of a running workflow
//    in the Web UI (`temporal workflow stack`) answers "Workflow stack traces are not enabled on this worker";
//    the deliveryState query still tells every target's state.
// Idempotent; fails loudly when the SDK's code is not what it expects, so an SDK upgrade cannot silently
// drop (or double) a patch. test/unit/sdk-patch.test.ts guards both.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER = path.join(ROOT, 'node_modules', '@temporalio', 'worker');
export const PATCH_MARKER = '/* anvil-webhooks: 0 = no watchdog */';
export const STACK_TRACES_MARKER = '/* anvil-webhooks: stack traces optional */';
const EXPECTED_VERSION = '1.24.0';
const PATCHES = [
  {
    files: { 'lib/workflow/reusable-vm.js': 4, 'lib/workflow/vm.js': 1 },
    original: 'timeout: isolateExecutionTimeoutMs,',
    patched: `timeout: isolateExecutionTimeoutMs > 0 ? isolateExecutionTimeoutMs : undefined ${PATCH_MARKER},`,
  },
  {
    files: { 'lib/workflow/vm-shared.js': 1 },
    original: 'this.setPromiseHook();',
    patched: `if (process.env.ANVIL_WORKFLOW_STACK_TRACES !== '0' ${STACK_TRACES_MARKER}) this.setPromiseHook();`,
  },
];

export function patchTemporalWorker() {
  if (!existsSync(WORKER)) return 'not installed';
  const { version } = JSON.parse(readFileSync(path.join(WORKER, 'package.json'), 'utf8'));
  if (version !== EXPECTED_VERSION) {
    throw new Error(`@temporalio/worker is ${version}, the patches were written for ${EXPECTED_VERSION}: review scripts/patch-temporal-worker.mjs`);
  }
  const done = [];
  for (const { files, original: ORIGINAL, patched: PATCHED } of PATCHES) {
    for (const [file, count] of Object.entries(files)) {
      const full = path.join(WORKER, file);
      const source = readFileSync(full, 'utf8');
      const patched = source.split(PATCHED).length - 1;
      if (patched === count) continue;
      const original = source.split(ORIGINAL).length - 1;
      if (patched !== 0 || original !== count) {
        throw new Error(`${file}: expected ${count} × "${ORIGINAL}", found ${original} (and ${patched} patched): review scripts/patch-temporal-worker.mjs`);
      }
      writeFileSync(full, source.split(ORIGINAL).join(PATCHED));
      done.push(file);
    }
  }
  return done.length > 0 ? `patched ${done.join(', ')}` : 'already patched';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const result = patchTemporalWorker();
    if (result.startsWith('patched')) console.log(`[anvil] @temporalio/worker: ${result} (sandbox watchdog and stack traces optional)`);
  } catch (err) {
    console.error(`[anvil] ${err.message}`);
    process.exit(1);
  }
}
