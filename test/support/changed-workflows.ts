// A deliberately non-deterministic change to today's workflow code, for the replay test to prove it can
// fail: deliveryWorkflow sleeps one second on a durable timer before doing anything else. A history
// recorded by the real code has a local-activity marker (the first attempt) where this code schedules a
// timer, so replaying it must raise a DeterminismViolationError.
import { sleep } from '@temporalio/workflow';
import type { DeliveryResult, DeliveryWorkflowInput } from '../../domain/delivery';
import { deliveryWorkflow as todaysDeliveryWorkflow } from '../../workflows';

export { eventWorkflow } from '../../workflows';

export async function deliveryWorkflow(input: DeliveryWorkflowInput): Promise<DeliveryResult> {
  await sleep('1 second'); // the change: one extra timer before the first attempt
  return todaysDeliveryWorkflow(input);
}
