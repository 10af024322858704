import { Router } from 'express';
import { OBJECT_TYPES, type ObjectType } from '../../domain/catalog';
import { checkPublicKey, generateClassicKeypair } from '../../domain/encryption';
import { listQuerySchema, objectRefSchema, objectUrlSchema, publicKeySchema, webhookSettingsSchema } from '../../domain/schemas';
import type { WebhookSettingsRow } from '../../infra/store';
import type { RouteDeps } from '../app';
import { tenantOf } from '../auth';
import { ApiError, notFound, parseWith } from '../errors';
import { openCursor, sealCursor } from '../cursor';
import { publishAction } from '../publish';
import { countPublishes } from '../../infra/metrics';

const settingsView = (s: WebhookSettingsRow) => ({ enabled: s.enabled, url: s.url, token: s.token, public_key: s.public_key });

export function classicRouter(deps: RouteDeps) {
  const { store, config } = deps;
  const router = Router();
  const settingsSchema = webhookSettingsSchema(config.allowInsecureTargets);
  const urlSchema = objectUrlSchema(config.allowInsecureTargets);
  const throttle = deps.rateLimits.publish((req) => tenantOf(req, store));

  router.get('/webhook-settings', async (req, res) => {
    const tenant = await tenantOf(req, store);
    res.json(settingsView(await store.getWebhookSettings(tenant.id)));
  });

  router.put('/webhook-settings', async (req, res) => {
    const input = parseWith(settingsSchema, req.body);
    const tenant = await tenantOf(req, store);
    res.json(settingsView(await store.putWebhookSettings(tenant.id, { enabled: input.enabled, url: input.url })));
  });

  /** Generates an RSA-2048 keypair: the private key is returned once and never stored. */
  router.post('/webhook-settings/keypair', async (req, res) => {
    const tenant = await tenantOf(req, store);
    const { publicKey, privateKey } = generateClassicKeypair();
    await store.setPublicKey(tenant.id, publicKey);
    res.status(201).json({ public_key: publicKey, private_key: privateKey });
  });

  router.put('/webhook-settings/public-key', async (req, res) => {
    const input = parseWith(publicKeySchema, req.body);
    const tenant = await tenantOf(req, store);
    const checked = checkPublicKey(input.public_key);
    if (!checked.ok) {
      throw new ApiError(400, `invalid_public_key`, checked.message, [
        { path: 'public_key', message: `${checked.reason}: ${checked.message}` },
      ]);
    }
    res.json(settingsView(await store.setPublicKey(tenant.id, checked.publicKey)));
  });

  router.delete('/webhook-settings/keypair', async (req, res) => {
    const tenant = await tenantOf(req, store);
    await store.setPublicKey(tenant.id, null);
    res.status(204).end();
  });

  /** The settings page's Test button: webhookTest to the static URL only. */
  router.post('/webhook-settings/test', countPublishes('action'), throttle, async (req, res) => {
    const tenant = await tenantOf(req, store);
    const settings = await store.getWebhookSettings(tenant.id);
    if (!settings.enabled) throw new ApiError(409, 'webhooks_disabled', 'webhooks are not enabled for this organization');
    if (!settings.url) throw new ApiError(409, 'no_static_url', 'the organization has no static webhook URL to test');
    const result = await publishAction(deps, tenant, { action: 'webhookTest', data: { isTest: true } });
    res.status(202).json({ id: (result.body as { id: string }).id });
  });

  function objectRef(params: Record<string, string | string[] | undefined>): { type: ObjectType; eid: string } {
    const ref = parseWith(objectRefSchema, { type: params.type, eid: params.eid }, `object (types: ${OBJECT_TYPES.join(', ')})`);
    return ref;
  }

  /** Every per-object URL of the organization (the Settings page lists them). */
  router.get('/objects/webhook-urls', async (req, res) => {
    const q = parseWith(listQuerySchema, req.query, 'query');
    const tenant = await tenantOf(req, store);
    const scope = `object-urls:${tenant.id}`;
    const after = openCursor(q.cursor, scope, (v): v is { type: ObjectType; eid: string } => objectRefSchema.safeParse(v).success);
    const rows = await store.listObjectUrls(tenant.id, q.limit + 1, after);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    res.json({
      data: page.map((r) => ({ type: r.object_type, eid: r.eid, url: r.url, updated_at: r.updated_at.toISOString() })),
      next_cursor: rows.length > q.limit && last ? sealCursor({ type: last.object_type, eid: last.eid }, scope) : null,
    });
  });

  router.get('/objects/:type/:eid/webhook-url', async (req, res) => {
    const ref = objectRef(req.params);
    const tenant = await tenantOf(req, store);
    const url = await store.getObjectUrl(tenant.id, ref.type, ref.eid);
    if (!url) throw notFound(`webhook URL of ${ref.type} ${ref.eid}`);
    res.json({ type: ref.type, eid: ref.eid, url });
  });

  router.put('/objects/:type/:eid/webhook-url', async (req, res) => {
    const ref = objectRef(req.params);
    const input = parseWith(urlSchema, req.body);
    const tenant = await tenantOf(req, store);
    await store.putObjectUrl(tenant.id, ref.type, ref.eid, input.url);
    res.json({ type: ref.type, eid: ref.eid, url: input.url });
  });

  router.delete('/objects/:type/:eid/webhook-url', async (req, res) => {
    const ref = objectRef(req.params);
    const tenant = await tenantOf(req, store);
    if (!(await store.deleteObjectUrl(tenant.id, ref.type, ref.eid))) throw notFound(`webhook URL of ${ref.type} ${ref.eid}`);
    res.status(204).end();
  });

  return router;
}
