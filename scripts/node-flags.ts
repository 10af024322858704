// The Node flags the API and worker processes run with, wherever they are launched: `npm run api` and
// `npm run worker` (package.json), the image (Dockerfile: NODE_OPTIONS, so docker-compose's commands and
// any orchestrator inherit it and may override it), `npm start`, `npm run cluster` and the bench.
// test/unit/node-flags.test.ts keeps the places that cannot import this file in step with it.
//
// --max-old-space-size=1024: a 1 GiB ceiling for a process's JS heap (its live set under load is 50–100
// MiB). Without a ceiling under 2 GiB, V8 on a machine with this much memory lets the old generation grow
// to 4× what survived the last full collection before collecting again: the API process kept ~240 MiB of
// heap for ~60 MiB live and reached 480–540 MiB RSS with 10 000 deliveries waiting on retry timers. With
// this ceiling it grows by about 2× (~120 MiB of heap, ~365 MiB RSS, measured with the bench's timers
// load). A heap that really needs more than 1 GiB ends the process (out of memory) instead of swapping:
// raise the ceiling with NODE_OPTIONS (in the image) or your own `node --max-old-space-size=… dist/…`.
export const NODE_FLAGS: readonly string[] = ['--max-old-space-size=1024'];
