// Every workflow type the workers register: the engine's one (eventWorkflow) and the legacy
// deliveryWorkflow, kept until deliveries started before the upgrade have drained.
export { eventWorkflow } from './event';
export { deliveryWorkflow } from './legacy';
