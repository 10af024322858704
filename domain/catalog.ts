// What can be published: the Events API catalog and the classic actions. Shared by api, worker and
// workflow code (no Node imports here).
export const API_VERSION = '2026-01-01';

export const EVENT_TYPES = [
  'lead.created',
  'lead.score_changed',
  'lead.stage_changed',
  'conversation.started',
  'conversation.handoff',
  'conversation.ended',
  'crawl_task.completed',
  'export.ready',
  'endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** When each type fires, in the customer documentation's own words (the Settings pages show them). */
export const EVENT_TYPE_DESCRIPTIONS: Record<EventType, string> = {
  'lead.created': 'A new lead enters your pipeline',
  'lead.score_changed': 'The intent score crosses a configured threshold',
  'lead.stage_changed': 'A lead moves between pipeline stages',
  'conversation.started': 'A bot session begins',
  'conversation.handoff': 'A bot requests human takeover',
  'conversation.ended': 'A session closes',
  'crawl_task.completed': 'A scheduled crawl finishes',
  'export.ready': 'A bulk export is available for download',
  'endpoint.disabled':
    'An endpoint was turned off after its deliveries kept failing (data.endpoint_id, data.reason)',
};

/**
 * An example `data` per type, in GET /v1/event-types: what `anvil-webhooks trigger <type>` publishes
 * unless given data of its own, and what a handler can be written against.
 */
export const EVENT_TYPE_EXAMPLES: Record<EventType, Record<string, unknown>> = {
  'lead.created': { lead_id: 'lead_example', name: 'Ada Lovelace', email: 'ada@example.com', score: 82, stage: 'new' },
  'lead.score_changed': { lead_id: 'lead_example', previous_score: 64, score: 82 },
  'lead.stage_changed': { lead_id: 'lead_example', previous_stage: 'new', stage: 'qualified' },
  'conversation.started': { conversation_id: 'conv_example', lead_id: 'lead_example', channel: 'web' },
  'conversation.handoff': { conversation_id: 'conv_example', lead_id: 'lead_example', reason: 'asked for a human' },
  'conversation.ended': { conversation_id: 'conv_example', lead_id: 'lead_example', messages: 12 },
  'crawl_task.completed': { crawl_task_id: 'crawl_example', pages: 140, status: 'completed' },
  'export.ready': { export_id: 'exp_example', url: 'https://example.com/exports/exp_example.csv', rows: 1200 },
  'endpoint.disabled': {
    endpoint_id: 'ep_example',
    url: 'https://example.com/webhooks/anvil',
    reason: 'every delivery attempt failed for 5 days (since 2026-01-01T00:00:00.000Z); last error: HTTP 500',
    failing_since: '2026-01-01T00:00:00.000Z',
    disabled_at: '2026-01-06T00:00:00.000Z',
  },
};

export const CLASSIC_ACTIONS = [
  'webhookTest',
  'weldCreate',
  'weldComplete',
  'signerComplete',
  'etchPacketComplete',
] as const;
export type ClassicAction = (typeof CLASSIC_ACTIONS)[number];

/** Objects that may carry their own webhook URL, overriding the organization's static URL. */
export const OBJECT_TYPES = ['etch-packet', 'weld-data'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export const PLANS = ['pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];
/** Endpoints a tenant may have; null = unlimited. */
export const PLAN_ENDPOINT_LIMITS: Record<Plan, number | null> = { pro: 20, enterprise: null };
