// A deliberately non-deterministic change to today's workflow code, for the replay test to prove it can
// fail: eventWorkflow sleeps one second on a durable timer before doing anything else (for inputs of
// today's engine; the legacy paths are left as they are). A history recorded by the real code has a
// local-activity marker (the first attempt) where this code schedules a timer, so replaying it must raise
// a DeterminismViolationError.
import { sleep } from '@temporalio/workflow';
import type { EventWorkflowInput } from '../../domain/delivery';
import type { LegacyEventWorkflowInput } from '../../domain/legacy';
import { eventWorkflow as todaysEventWorkflow } from '../../workflows';

export { deliveryWorkflow } from '../../workflows';

export async function eventWorkflow(input: EventWorkflowInput | LegacyEventWorkflowInput) {
  if ('targets' in input) await sleep('1 second'); // the change: one extra timer before the first attempt
  return todaysEventWorkflow(input);
}
