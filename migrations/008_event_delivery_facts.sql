-- What the delivery log needs beside Temporal's visibility (see infra/event-facts.ts):
--   first_attempts: {target: status code} of first attempts that succeeded (a workflow whose every first
--                   attempt succeeds writes no per-target state to Temporal);
--   resent:         {target: run id} of the latest re-run of a closed workflow for that target, so older
--                   runs no longer speak for it.
ALTER TABLE events ADD COLUMN first_attempts jsonb, ADD COLUMN resent jsonb;
