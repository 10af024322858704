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

export const EVENT_TYPE_DESCRIPTIONS: Record<EventType, string> = {
  'lead.created': 'A new lead was captured.',
  'lead.score_changed': "A lead's score changed (data.previous_score, data.score).",
  'lead.stage_changed': 'A lead moved to another pipeline stage.',
  'conversation.started': 'A visitor started a conversation.',
  'conversation.handoff': 'A conversation was handed off to a human.',
  'conversation.ended': 'A conversation ended.',
  'crawl_task.completed': 'A crawl task finished.',
  'export.ready': 'An export is ready to download.',
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
