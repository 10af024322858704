#!/usr/bin/env node
// `npx anvil-webhooks …`: the compiled CLI (npm run build, or the published package).
require('../dist/cjs/cli/main.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`anvil-webhooks: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
