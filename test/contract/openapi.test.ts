// The OpenAPI document covers every route the app serves (a route added without documenting it fails
// here), documents the error shape, auth and paging, and the webhooks we POST.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Express } from 'express';
import { call, startStack, type Stack } from '../support/stack';

let stack: Stack;
before(async () => {
  stack = await startStack({ withWorker: false });
});
after(async () => {
  await stack.close();
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
}

/** Every method and path the Express app routes, `:param` written as OpenAPI's `{param}`. */
function routeTable(app: Express): string[] {
  const out: string[] = [];
  const walk = (layers: Layer[], prefix: string) => {
    for (const layer of layers) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          out.push(`${method.toUpperCase()} ${(prefix + layer.route.path).replace(/:(\w+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + (typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : ''));
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

void test('every route the app serves is in /openapi.json, and every documented operation is served', async () => {
  const doc = (await call(stack, 'GET', '/openapi.json', null)).body;
  const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  const served = routeTable(stack.app);
  // The walk reads Express's own route table: if that changes shape, say so rather than pass on nothing.
  for (const known of ['POST /v1/events', 'GET /v1/endpoints/{id}', 'GET /healthz', 'GET /openapi.json']) {
    assert.ok(served.includes(known), `route table walk found ${known} (Express internals changed?)`);
  }
  const missing = served.filter((r) => !documented.includes(r));
  assert.deepEqual(missing, [], `routes missing from the OpenAPI document: ${missing.join(', ')}`);
  const phantom = documented.filter((r) => !served.includes(r));
  assert.deepEqual(phantom, [], `documented but not served: ${phantom.join(', ')}`);
});

void test('the document states auth, the error shape, paging and the webhooks we send', async () => {
  const doc = (await call(stack, 'GET', '/openapi.json', null)).body;
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
    type: 'http',
    scheme: 'bearer',
    description: 'a tenant API key (anv_sk_…) or the admin key',
  });
  assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
  assert.deepEqual(doc.paths['/healthz'].get.security, []);
  const error = doc.components.schemas.Error;
  assert.deepEqual(error.properties.error.required.sort(), ['code', 'message']);
  const create = doc.paths['/v1/endpoints'].post;
  assert.deepEqual(create.requestBody.content['application/json'].schema.required, ['url', 'events']);
  assert.equal(create.responses['400'].content['application/json'].schema.$ref, '#/components/schemas/Error');
  assert.ok(create.responses['429'].headers['Retry-After'].required);
  const list = doc.paths['/v1/endpoints'].get;
  assert.deepEqual(list.parameters.map((p: { name: string }) => p.name).sort(), ['cursor', 'limit', 'tenant_id']);
  assert.deepEqual(Object.keys(doc.components.schemas.EndpointList.properties).sort(), ['data', 'next_cursor']);
  const publish = doc.paths['/v1/events'].post;
  assert.ok(publish.responses['202'] && publish.responses['200'] && publish.responses['409']);
  const hook = doc.webhooks.event.post;
  assert.deepEqual(hook.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort(), [
    'header:Anvil-Event-Id',
    'header:Anvil-Signature',
    'header:User-Agent',
  ]);
  assert.equal(hook.requestBody.content['application/json'].schema.$ref, '#/components/schemas/EventEnvelope');
  assert.deepEqual(doc.components.schemas.EventEnvelope.required.sort(), ['api_version', 'created', 'data', 'id', 'tenant_id', 'type']);
  assert.ok(doc.webhooks.classicAction.post.requestBody.content['application/json'].schema.$ref.endsWith('ClassicWebhookBody'));
});
