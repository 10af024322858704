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
