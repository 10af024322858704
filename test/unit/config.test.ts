import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../infra/config';

void test('defaults', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.dataDir, '.data');
  assert.equal(c.temporalNamespace, 'default');
  assert.equal(c.taskQueue, 'anvil-webhooks');
  assert.equal(c.allowInsecureTargets, false);
  assert.equal(loadConfig({}, { developmentDefaults: true }).allowInsecureTargets, true);
  assert.equal(loadConfig({ ANVIL_ALLOW_INSECURE_TARGETS: '0' }, { developmentDefaults: true }).allowInsecureTargets, false);
});

void test('a bad value names the variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), (err: Error) => err instanceof ConfigError && /PORT="eighty"/.test(err.message));
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ TEMPORAL_ADDRESS: 'http://x:7233' }), /TEMPORAL_ADDRESS/);
  assert.throws(() => loadConfig({ ANVIL_ALLOW_INSECURE_TARGETS: 'maybe' }), /ANVIL_ALLOW_INSECURE_TARGETS/);
  assert.throws(() => loadConfig({ ANVIL_ADMIN_KEY: 'short' }), /ANVIL_ADMIN_KEY/);
});

void test('portal settings: defaults, and frame-ancestors that cannot smuggle another directive', () => {
  const c = loadConfig({});
  assert.deepEqual(c.portal, { frameAncestors: "'self'", linkTtlMs: 600_000, sessionTtlMs: 3_600_000 });
  assert.equal(c.publicUrl, undefined);
  const set = loadConfig({
    ANVIL_PORTAL_FRAME_ANCESTORS: "  'self'   https://app.example.com https://*.example.org:8443 ",
    ANVIL_PORTAL_LINK_TTL_SECONDS: '120',
    ANVIL_PUBLIC_URL: 'https://hooks.example.com/',
  });
  assert.equal(set.portal.frameAncestors, "'self' https://app.example.com https://*.example.org:8443");
  assert.equal(set.portal.linkTtlMs, 120_000);
  assert.equal(set.publicUrl, 'https://hooks.example.com');
  for (const bad of ["'self'; script-src *", 'https://a.example.com/path', 'javascript:alert(1)', "https://a.com 'unsafe-inline'"]) {
    assert.throws(() => loadConfig({ ANVIL_PORTAL_FRAME_ANCESTORS: bad }), /ANVIL_PORTAL_FRAME_ANCESTORS/, bad);
  }
  assert.throws(() => loadConfig({ ANVIL_PORTAL_LINK_TTL_SECONDS: '5' }), /ANVIL_PORTAL_LINK_TTL_SECONDS/);
  assert.throws(() => loadConfig({ ANVIL_PUBLIC_URL: 'hooks.example.com' }), /ANVIL_PUBLIC_URL/);
});

void test('durations: the failure span and the listen session time-out', () => {
  const c = loadConfig({});
  assert.equal(c.endpointFailureSpanMs, 5 * 24 * 3600 * 1000, '5 days by default, as Svix');
  assert.equal(c.listenSessionTimeoutMs, 60_000);
  assert.equal(loadConfig({ ANVIL_ENDPOINT_FAILURE_SPAN: '36h' }).endpointFailureSpanMs, 36 * 3600 * 1000);
  assert.equal(loadConfig({ ANVIL_ENDPOINT_FAILURE_SPAN: '0' }).endpointFailureSpanMs, 0);
  assert.equal(loadConfig({ ANVIL_LISTEN_SESSION_TIMEOUT: '1500ms' }).listenSessionTimeoutMs, 1500);
  assert.throws(() => loadConfig({ ANVIL_ENDPOINT_FAILURE_SPAN: '5 days' }), /ANVIL_ENDPOINT_FAILURE_SPAN="5 days": must be a duration/);
  assert.throws(() => loadConfig({ ANVIL_LISTEN_SESSION_TIMEOUT: '-1s' }), /ANVIL_LISTEN_SESSION_TIMEOUT/);
});
