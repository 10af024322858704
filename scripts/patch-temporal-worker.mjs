#!/usr/bin/env node
// Runs after every `npm install` (package.json "postinstall"). @temporalio/worker 1.24 passes
// `timeout: isolateExecutionTimeoutMs` to every call into the workflow sandbox (node:vm), and node:vm
// starts a watchdog thread for each such call: measured here at several ms of CPU per workflow, the
// largest single cost of the worker's workflow thread. The SDK exposes no way to turn it off, so this
// makes a timeout of 0 mean "no watchdog" (workers pass it when ANVIL_WORKFLOW_DEADLOCK_TIMEOUT_MS=0,
// the default). What that gives up: a workflow activation stuck in a synchronous loop is no longer
// interrupted after the timeout ("Potential deadlock detected"); it blocks its workflow thread until the
// process is restarted. Idempotent; fails loudly when the SDK's code is not what it expects, so an SDK
// upgrade cannot silently drop (or double) the patch. test/unit/sdk-patch.test.ts guards it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER = path.join(ROOT, 'node_modules', '@temporalio', 'worker');
export const PATCH_MARKER = '/* anvil-webhooks: 0 = no watchdog */';
const EXPECTED_VERSION = '1.24.0';
const FILES = { 'lib/workflow/reusable-vm.js': 4, 'lib/workflow/vm.js': 1 };
const ORIGINAL = 'timeout: isolateExecutionTimeoutMs,';
const PATCHED = `timeout: isolateExecutionTimeoutMs > 0 ? isolateExecutionTimeoutMs : undefined ${PATCH_MARKER},`;

export function patchTemporalWorker() {
  if (!existsSync(WORKER)) return 'not installed';
  const { version } = JSON.parse(readFileSync(path.join(WORKER, 'package.json'), 'utf8'));
  if (version !== EXPECTED_VERSION) {
    throw new Error(`@temporalio/worker is ${version}, the watchdog patch was written for ${EXPECTED_VERSION}: review scripts/patch-temporal-worker.mjs`);
  }
  const done = [];
  for (const [file, count] of Object.entries(FILES)) {
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
  return done.length > 0 ? `patched ${done.join(', ')}` : 'already patched';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const result = patchTemporalWorker();
    if (result.startsWith('patched')) console.log(`[anvil] @temporalio/worker: ${result} (sandbox watchdog optional)`);
  } catch (err) {
    console.error(`[anvil] ${err.message}`);
    process.exit(1);
  }
}
