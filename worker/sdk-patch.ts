// Whether scripts/patch-temporal-worker.mjs has made a sandbox timeout of 0 mean "no watchdog" in the
// installed @temporalio/worker (without it, node:vm would refuse a timeout of 0 on every activation).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const WATCHDOG_PATCH_MARKER = '/* anvil-webhooks: 0 = no watchdog */';

export function watchdogPatchApplied(): boolean {
  const file = path.join(path.dirname(require.resolve('@temporalio/worker/package.json')), 'lib', 'workflow', 'reusable-vm.js');
  return readFileSync(file, 'utf8').includes(WATCHDOG_PATCH_MARKER);
}
