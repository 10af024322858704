// Whether scripts/patch-temporal-worker.mjs has made a sandbox timeout of 0 mean "no watchdog" in the
// installed @temporalio/worker (without it, node:vm would refuse a timeout of 0 on every activation), and
// made the per-promise stack capture of workflow threads optional.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const WATCHDOG_PATCH_MARKER = '/* anvil-webhooks: 0 = no watchdog */';
export const STACK_TRACES_PATCH_MARKER = '/* anvil-webhooks: stack traces optional */';

const sdkFile = (name: string) => path.join(path.dirname(require.resolve('@temporalio/worker/package.json')), 'lib', 'workflow', name);

export function watchdogPatchApplied(): boolean {
  return readFileSync(sdkFile('reusable-vm.js'), 'utf8').includes(WATCHDOG_PATCH_MARKER);
}

export function stackTracesPatchApplied(): boolean {
  return readFileSync(sdkFile('vm-shared.js'), 'utf8').includes(STACK_TRACES_PATCH_MARKER);
}

/**
 * Workflow threads read this from their environment, a copy of the process's taken when the worker
 * creates them: call before Worker.create. Throws when stack traces are off and the patch is missing.
 */
export function applyWorkflowStackTraces(enabled: boolean): void {
  if (!enabled && !stackTracesPatchApplied()) {
    throw new Error('ANVIL_WORKFLOW_STACK_TRACES=0 needs the patch `npm install` applies to @temporalio/worker (scripts/patch-temporal-worker.mjs): run npm install, or set ANVIL_WORKFLOW_STACK_TRACES=1');
  }
  process.env.ANVIL_WORKFLOW_STACK_TRACES = enabled ? '1' : '0';
}
