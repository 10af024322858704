// `npm run build`: bundles the workflow code once, so workers load it instead of bundling at start
// (set ANVIL_WORKFLOW_BUNDLE to the file). The test runner uses it the same way.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUILT_WORKFLOW_BUNDLE } from '../infra/paths';

export const DEFAULT_BUNDLE_PATH = BUILT_WORKFLOW_BUNDLE;

export async function buildWorkflowBundle(out = DEFAULT_BUNDLE_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, code);
  return out;
}

if (require.main === module) {
  buildWorkflowBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
    .then((file) => console.log(`workflow bundle written to ${file}`))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
