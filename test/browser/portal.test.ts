/// <reference lib="dom" />
// (The DOM's types: the callbacks given to page.evaluate run in the page.)
// The Settings pages in real Chromium against the real stack (API + worker + Temporal dev server +
// PostgreSQL), along the customers' paths in the product documents:
//   Events API: sign in with a portal link → Add Endpoint through the form (a refused URL shows its error
//   beside the field) → Copy the signing secret → Send Test Event → the receiver verifies the signature
//   with the copied secret (our docs' own snippet) → the delivery appears in the Delivery Log with its
//   attempt, without a reload → the receiver fails: the attempt's status code and response excerpt show →
//   Retry now → success.
//   Classic: Enable webhooks with a static URL → Create keypair → download the .pem → Send test → the
//   receiver decrypts `data` with the downloaded key (@anvilco/encryption's decryptRSA).
// Plus managing an endpoint, sign-in failures, another tenant's ids, embedding in a cross-site iframe and
// 375 px. Every page gets an axe check (no serious or critical violation), no console error, and screenshots
// (desktop and 375 px) under test-output/portal/.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { RetryPolicy } from '../../domain/policies';
import {
  assertAccessible,
  assertNoConsoleErrors,
  assertNoHorizontalScroll,
  DESKTOP,
  gone,
  launchChromium,
  openPage,
  PHONE,
  screenshot,
  visible,
  type Watched,
} from '../support/browser';
import { verify } from '../support/docs-snippet';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver';
import { call, createTenant, fastPolicies, startStack, type Stack } from '../support/stack';

const { decryptRSA } = createRequire(__filename)('@anvilco/encryption') as {
  decryptRSA: (privateKeyPem: string, encrypted: string) => string;
};

// A failed Events API attempt waits 5 minutes for the next one, so "Retry now" is what makes it happen.
// The policy a delivery gets is read when its event is published: a step may swap it.
const patientStandard: RetryPolicy = { name: 'standard-portal', initial: 5 * 60_000, coefficient: 2, attempts: 4, maxSpan: 3_600_000, jitter: 0 };
const quickStandard: RetryPolicy = { name: 'standard-quick', delays: [200] };
const policies: { standard: RetryPolicy; classic: RetryPolicy } = { standard: patientStandard, classic: fastPolicies.classic };

let stack: Stack;
let browser: Browser;
const receivers: Receiver[] = [];
const pages: Watched[] = [];

before(async () => {
  [stack, browser] = await Promise.all([startStack({ policies }), launchChromium()]);
});
after(async () => {
  await Promise.all(pages.map((w) => w.context.close().catch(() => undefined)));
  await browser?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.close();
});

/** A receiver whose answer a test switches: 200 "thanks", or 503 with a body the log must show. */
async function switchableReceiver(): Promise<{ receiver: Receiver; answer: { mode: 'ok' | 'fail' } }> {
  const answer = { mode: 'ok' as 'ok' | 'fail' };
  const receiver = await startReceiver(() => (answer.mode === 'ok' ? { status: 200, body: 'thanks' } : { status: 503, body: 'maintenance: back soon' }));
  receivers.push(receiver);
  return { receiver, answer };
}

/** A tenant with a name a customer would have (it shows in the pages' header and the screenshots). */
async function namedTenant(name: string): Promise<{ id: string; key: string }> {
  const res = await call(stack, 'POST', '/v1/tenants', stack.adminKey, { name, plan: 'pro' });
  assert.equal(res.status, 201);
  return { id: res.body.id, key: res.body.api_key };
}

async function portalLink(key: string, body: Record<string, unknown> = {}, s: Stack = stack): Promise<string> {
  const res = await call(s, 'POST', '/v1/portal-sessions', key, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.url as string;
}

async function open(viewport = DESKTOP): Promise<Watched> {
  const w = await openPage(browser, viewport);
  pages.push(w);
  await w.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
  return w;
}

/** Opens a portal link as the customer would and waits for the Webhooks page. */
async function signIn(w: Watched, url: string): Promise<void> {
  const response = await w.page.goto(url);
  assert.ok(response?.headers()['content-security-policy'], 'the sign-in page has a CSP');
  await visible(w.page.getByRole('heading', { level: 1, name: 'Webhooks' }));
  assert.equal(w.page.url(), `${stack.url}/portal/webhooks`, 'the sign-in token is gone from the address bar');
}

const clipboard = (page: Page) => page.evaluate(() => navigator.clipboard.readText());

const endpointCard = (page: Page, url: string) => page.getByRole('article', { name: url });
const deliveryRow = (page: Page, eventId: string) => page.getByRole('list', { name: 'Deliveries' }).getByRole('listitem').filter({ hasText: eventId });

/** What a person reads in an element: its rendered text, whitespace folded. */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

/** The accessible description of a control (aria-describedby's text). */
async function descriptionOf(page: Page, control: Locator): Promise<string> {
  const ids = (await control.getAttribute('aria-describedby')) ?? '';
  const parts = await Promise.all(ids.split(/\s+/).filter(Boolean).map((id) => textOf(page.locator(`[id="${id}"]`))));
  return parts.join(' ');
}

/** Screenshots of the page as it is, desktop and 375 px, both checked by axe and for sideways scrolling. */
async function capture(w: Watched, name: string): Promise<void> {
  // The status line floats over the page for a few seconds after an action: let it go first.
  await w.page.waitForFunction(() => !document.querySelector('[role="status"][aria-live]')?.textContent, undefined, { timeout: 6000 });
  await assertAccessible(w.page, `${name} (desktop)`);
  await screenshot(w.page, `${name}-desktop`);
  await w.page.setViewportSize(PHONE);
  await assertNoHorizontalScroll(w.page, name);
  await assertAccessible(w.page, `${name} (375 px)`);
  await screenshot(w.page, `${name}-375`);
  await w.page.setViewportSize(DESKTOP);
}

/** Nothing secret in any URL the page requested, nothing in localStorage, no cookie. */
async function assertNoSecretsLeaked(w: Watched): Promise<void> {
  const leaked = w.urls.filter((u) => /anv_pl_|anv_ps_|whsec_|token=/.test(u));
  assert.deepEqual(leaked, [], 'a secret travelled in a URL');
  for (const p of w.context.pages()) assert.equal(await p.evaluate(() => localStorage.length), 0, 'localStorage is empty');
  assert.deepEqual(await w.context.cookies(), [], 'no cookie was set');
  assert.deepEqual(w.setCookies, [], 'no answer set a cookie');
}

/** Runs a customer path; when it fails, the page as it was is saved beside the screenshots. */
function path(name: string, fn: (open: () => Promise<Watched>) => Promise<void>): void {
  void test(name, async () => {
    const opened: Watched[] = [];
    try {
      await fn(async () => {
        const w = await open();
        opened.push(w);
        return w;
      });
    } catch (err) {
      for (const [i, w] of opened.entries()) await screenshot(w.page, `failure-${name.slice(0, 40).replace(/\W+/g, '-')}-${i}`).catch(() => undefined);
      throw err;
    }
  });
}

function signatureOk(req: ReceivedRequest, secret: string): boolean {
  return verify(req.rawBody, String(req.headers['anvil-signature']), secret);
}

path('Events API path: Add Endpoint, Copy the secret, Send Test Event, verify, Delivery Log, fail, Retry now', async (open) => {
  const { receiver, answer } = await switchableReceiver();
  const tenant = await namedTenant('Acme Robotics');
  const w = await open();
  const { page } = w;

  await signIn(w, await portalLink(tenant.key));
  await visible(page.getByText('No endpoints yet'));
  await visible(page.getByText('No deliveries yet'));
  await capture(w, 'webhooks-empty');

  // Keyboard: Add Endpoint opens a dialog with focus in its first field; Escape closes it, focus returns.
  const add = page.getByRole('button', { name: 'Add Endpoint' });
  await add.focus();
  await page.keyboard.press('Enter');
  const dialog = await visible(page.getByRole('dialog', { name: 'Add Endpoint' }));
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type), 'url', 'focus is in the URL field');
  await page.keyboard.press('Escape');
  await gone(dialog);
  assert.equal(await add.evaluate((el) => el === document.activeElement), true, 'focus is back on Add Endpoint');

  // The form: event types from /v1/event-types with what each means, in the documentation's words.
  await add.click();
  await visible(dialog);
  const leadCreated = dialog.getByRole('checkbox', { name: 'lead.created' });
  assert.equal(await descriptionOf(page, leadCreated), 'A new lead enters your pipeline');
  assert.equal(await descriptionOf(page, dialog.getByRole('checkbox', { name: 'lead.score_changed' })), 'The intent score crosses a configured threshold');
  assert.equal(await dialog.getByRole('checkbox').count(), 9, "the documentation's eight types and endpoint.disabled");

  // A URL the API refuses: its message appears beside the URL field, which is marked invalid.
  await dialog.getByLabel('Endpoint URL').fill('not a url');
  await leadCreated.check();
  await dialog.getByRole('button', { name: 'Add Endpoint' }).click();
  const urlField = dialog.getByLabel('Endpoint URL');
  await visible(dialog.getByText('Must be an absolute URL'));
  assert.equal(await urlField.getAttribute('aria-invalid'), 'true');
  assert.match(await descriptionOf(page, urlField), /Must be an absolute URL/);
  assert.equal(await urlField.evaluate((el) => el === document.activeElement), true, 'focus moved to the refused field');
  assertNoConsoleErrors(w, [400]);
  await capture(w, 'add-endpoint-error');

  await urlField.fill(receiver.url);
  await dialog.getByRole('checkbox', { name: 'lead.score_changed' }).check();
  await dialog.getByLabel('Score threshold').fill('80');
  await dialog.getByRole('button', { name: 'Add Endpoint' }).click();

  // The signing secret, shown once created, and Copy.
  const created = await visible(page.getByRole('dialog', { name: 'Endpoint created' }));
  const shownSecret = await created.getByLabel('Signing secret').inputValue();
  assert.match(shownSecret, /^whsec_[A-Za-z0-9]{44}$/);
  await created.getByRole('button', { name: 'Copy' }).click();
  await visible(page.getByRole('status').filter({ hasText: 'Signing secret copied to the clipboard.' }));
  const copiedSecret = await clipboard(page);
  assert.equal(copiedSecret, shownSecret);
  await created.getByRole('button', { name: 'Done' }).click();
  await gone(created);

  const card = await visible(endpointCard(page, receiver.url));
  await visible(card.getByText('Enabled', { exact: true }));
  assert.equal(await card.getByText('Why it is off:').count(), 0);
  assert.deepEqual(await card.getByRole('listitem').allTextContents(), ['lead.created', 'lead.score_changed']);
  const stored = (await call(stack, 'GET', '/v1/endpoints', tenant.key)).body.data[0];
  assert.deepEqual(stored.filter, { $or: [{ score_threshold: 80 }, { type: { $neq: 'lead.score_changed' } }] }, 'the threshold gates lead.score_changed only');

  // Send Test Event → the receiver verifies the signature with the copied secret.
  const sendTest = async (type: string): Promise<string> => {
    await card.getByRole('button', { name: 'Send Test Event' }).click();
    const d = await visible(page.getByRole('dialog', { name: 'Send Test Event' }));
    await d.getByLabel('Event type').selectOption(type);
    await d.getByRole('button', { name: 'Send Test Event' }).click();
    await gone(d);
    const notice = await textOf(await visible(page.getByText(/^Test event evt_\w+ \(/)));
    return /(evt_\w+)/.exec(notice)![1]!;
  };
  const first = await sendTest('lead.created');
  const [req1] = await receiver.waitFor(1);
  assert.equal(signatureOk(req1!, copiedSecret), true, 'the copied secret verifies the signature');
  assert.equal(req1!.headers['anvil-event-id'], first);
  const body1 = JSON.parse(req1!.rawBody);
  assert.equal(body1.type, 'lead.created');
  assert.equal(body1.tenant_id, tenant.id);
  assert.equal(body1.data.test, true);

  // …and it appears in the Delivery Log by itself, with its attempt.
  const row1 = await visible(deliveryRow(page, first));
  await visible(row1.getByText('Succeeded', { exact: true }));
  await visible(row1.getByText('1 attempt, last answer 200'));
  await row1.getByRole('button', { name: 'Attempts' }).click();
  const attempts1 = await visible(row1.getByRole('list', { name: `Attempts for ${first}` }));
  assert.match(await textOf(attempts1), /Attempt 1 · .*Status code 200 Duration \d+ ms Response thanks/);
  assert.equal(await row1.getByRole('button', { name: 'Attempts' }).getAttribute('aria-expanded'), 'true');

  // The receiver fails: the log shows the attempt's status code and response excerpt.
  answer.mode = 'fail';
  const second = await sendTest('lead.created');
  const [, req2] = await receiver.waitFor(2);
  assert.equal(signatureOk(req2!, copiedSecret), true);
  const row2 = await visible(deliveryRow(page, second));
  await visible(row2.getByText('Retrying', { exact: true }));
  await visible(row2.getByText('1 attempt, last answer 503'));
  await visible(row2.getByText(/next attempt/));
  await row2.getByRole('button', { name: 'Attempts' }).click();
  const attempts2 = await visible(row2.getByRole('list', { name: `Attempts for ${second}` }));
  await visible(attempts2.getByText('maintenance: back soon'));
  assert.match(await textOf(attempts2), /Attempt 1 · .*Status code 503 Duration \d+ ms Error HTTP 503 Response maintenance: back soon/);
  await capture(w, 'delivery-log-retrying');

  // Retry now → the next attempt happens at once and succeeds, with a fresh valid signature.
  answer.mode = 'ok';
  await row2.getByRole('button', { name: 'Retry now' }).click();
  const [, , req3] = await receiver.waitFor(3);
  assert.equal(req3!.headers['anvil-event-id'], second);
  assert.equal(req3!.rawBody, req2!.rawBody, 'the same body bytes');
  assert.equal(signatureOk(req3!, copiedSecret), true);
  await visible(row2.getByText('Succeeded', { exact: true }));
  await visible(row2.getByText('2 attempts, last answer 200'));
  await visible(attempts2.getByText(/Attempt 2 \(retried by hand\)/));
  await visible(card.getByText('(2 of the last 2)'));

  // Filters: a status nothing has, then an event id.
  const filters = page.getByRole('search', { name: 'Filter deliveries' });
  await filters.getByLabel('Status').selectOption('failed');
  await visible(page.getByText('No deliveries match these filters'));
  assert.equal(new URL(page.url()).search, '?status=failed');
  await filters.getByRole('button', { name: 'Clear filters' }).click();
  await visible(deliveryRow(page, first));
  await filters.getByLabel('Event ID').fill(first);
  await filters.getByRole('button', { name: 'Apply' }).click();
  await gone(deliveryRow(page, second));
  await visible(deliveryRow(page, first));
  await filters.getByRole('button', { name: 'Clear filters' }).click();
  await visible(deliveryRow(page, second));

  await capture(w, 'webhooks');
  assertNoConsoleErrors(w);
  await assertNoSecretsLeaked(w);
});

path('Classic path: Enable webhooks, Create keypair, download the .pem, Send test, decrypt with the downloaded key', async (open) => {
  const receiver = await startReceiver(() => ({ status: 200, body: '' }));
  const objectReceiver = await startReceiver(() => ({ status: 204 }));
  receivers.push(receiver, objectReceiver);
  const tenant = await namedTenant('Acme Robotics');
  const w = await open();
  const { page } = w;
  await signIn(w, await portalLink(tenant.key));
  await page.getByRole('navigation', { name: 'Settings pages' }).getByRole('link', { name: 'API Settings' }).click();
  await visible(page.getByRole('heading', { level: 1, name: 'API Settings' }));
  assert.equal(page.url(), `${stack.url}/portal/api-settings`);
  assert.equal(await page.getByRole('link', { name: 'API Settings' }).getAttribute('aria-current'), 'page');

  // Send test is disabled, and says why.
  const sendTest = page.getByRole('button', { name: 'Send test' });
  await visible(sendTest);
  assert.equal(await sendTest.isDisabled(), true);
  assert.equal(await descriptionOf(page, sendTest), 'Enable webhooks and save a static URL first.');
  await visible(page.getByText('No keypair: webhook data is sent as unencrypted JSON.'));
  await visible(page.getByText('No per-object URLs'));
  await capture(w, 'api-settings-empty');

  // Enable webhooks with a URL the API refuses, then a good one.
  await page.getByRole('checkbox', { name: 'Enable webhooks' }).check();
  const urlField = page.getByLabel('Webhook URL', { exact: true });
  await urlField.fill('ftp://files.example.com/hook');
  await page.getByRole('button', { name: 'Save' }).click();
  await visible(page.getByText('Must be an http:// or https:// URL'));
  assert.equal(await urlField.getAttribute('aria-invalid'), 'true');
  assertNoConsoleErrors(w, [400]);
  await urlField.fill(receiver.url);
  await page.getByRole('button', { name: 'Save' }).click();
  await visible(page.getByText('Webhooks are enabled.'));
  assert.equal(await sendTest.isDisabled(), false);
  assert.equal(await descriptionOf(page, sendTest), 'Sends a webhookTest action to your static URL.');

  // The token: hidden until revealed, Copy.
  const tokenField = page.getByLabel('Token');
  assert.equal(await tokenField.inputValue(), '');
  await page.getByRole('button', { name: 'Reveal' }).click();
  await visible(page.getByRole('button', { name: 'Hide' }));
  const token = await tokenField.inputValue();
  assert.match(token, /^[A-Za-z0-9]{32}$/);
  assert.equal(token, (await call(stack, 'GET', '/v1/webhook-settings', tenant.key)).body.token);
  await page.getByRole('button', { name: 'Copy' }).click();
  await visible(page.getByRole('status').filter({ hasText: 'Token copied to the clipboard.' }));
  const copiedToken = await clipboard(page);
  assert.equal(copiedToken, token);

  // Create keypair: the private key once, a plain warning, a .pem download.
  await page.getByRole('button', { name: 'Create keypair' }).click();
  const keyPanel = await visible(page.getByRole('region', { name: 'Your private key' }));
  await visible(keyPanel.getByText('This is the only time your private key is shown.'));
  const shownKey = await keyPanel.getByLabel('Private key').inputValue();
  const [download] = await Promise.all([page.waitForEvent('download'), keyPanel.getByRole('button', { name: 'Download private key (.pem)' }).click()]);
  assert.equal(download.suggestedFilename(), `anvil-webhooks-private-key-${tenant.id}.pem`);
  const pem = readFileSync((await download.path())!, 'utf8');
  assert.equal(pem, shownKey);
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
  await visible(page.getByText('Webhook data is encrypted with your organization’s RSA key.'));
  await capture(w, 'api-settings');

  // Send test → webhookTest to the static URL, data decrypted with the downloaded key.
  await sendTest.click();
  const [req] = await receiver.waitFor(1);
  const body = JSON.parse(req!.rawBody) as { action: string; token: string; data: string };
  assert.deepEqual(Object.keys(body), ['action', 'token', 'data']);
  assert.equal(body.action, 'webhookTest');
  assert.equal(body.token, copiedToken, 'the token the customer copied is the one in the body');
  assert.equal(typeof body.data, 'string', 'data is encrypted');
  assert.deepEqual(JSON.parse(decryptRSA(pem, body.data)), { isTest: true });
  await visible(page.getByText('Delivered: your server answered 200.'));

  // The private key is not shown again.
  await keyPanel.getByRole('button', { name: 'I have saved it' }).click();
  await gone(keyPanel);
  await page.reload();
  await visible(page.getByLabel('Public key', { exact: true }));
  assert.equal(await page.getByRole('region', { name: 'Your private key' }).count(), 0);
  assert.doesNotMatch((await page.content()) ?? '', /PRIVATE KEY/);

  // Per-object URLs: a refused EID beside its field, then add, list, remove (with confirmation).
  await page.getByLabel('Object type').selectOption('weld-data');
  await page.getByLabel('Object EID').fill('no spaces allowed');
  await page.getByLabel('URL', { exact: true }).fill(objectReceiver.url);
  await page.getByRole('button', { name: 'Add URL' }).click();
  const eidField = page.getByLabel('Object EID');
  await visible(page.getByText('Must be letters, digits, "-" or "_"'));
  assert.equal(await eidField.getAttribute('aria-invalid'), 'true');
  assertNoConsoleErrors(w, [400]);
  await eidField.fill('wd_123');
  await page.getByRole('button', { name: 'Add URL' }).click();
  const objectList = await visible(page.getByRole('list', { name: 'Per-object webhook URLs' }));
  const item = await visible(objectList.getByRole('listitem').filter({ hasText: 'wd_123' }));
  assert.match(await textOf(item), new RegExp(`Weld data wd_123 ${objectReceiver.url.replace(/[.]/g, '\\.')}`));
  const published = await call(stack, 'POST', '/v1/actions', tenant.key, { action: 'weldComplete', object: { type: 'weld-data', eid: 'wd_123' }, data: { eid: 'wd_123' } });
  assert.equal(published.status, 202);
  const [objReq] = await objectReceiver.waitFor(1);
  assert.deepEqual(JSON.parse(decryptRSA(pem, JSON.parse(objReq!.rawBody).data)), { eid: 'wd_123' }, 'the object URL overrides the static one');
  await item.getByRole('button', { name: 'Remove' }).click();
  const confirmRemove = await visible(page.getByRole('dialog', { name: 'Remove this URL?' }));
  await confirmRemove.getByRole('button', { name: 'Remove URL' }).click();
  await visible(page.getByText('No per-object URLs'));

  // Upload a public key (a bad one first), then remove the key: data is plain JSON again.
  const upload = page.getByLabel('Public key (PEM)');
  await upload.fill('not a key');
  await page.getByRole('button', { name: 'Upload public key' }).click();
  await visible(page.locator('.field-invalid').getByText(/PEM|public key/i));
  assert.equal(await upload.getAttribute('aria-invalid'), 'true');
  assertNoConsoleErrors(w, [400]);
  const own = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ownPublic = own.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await upload.fill(ownPublic);
  await page.getByRole('button', { name: 'Upload public key' }).click();
  await visible(page.getByRole('status').filter({ hasText: 'Public key uploaded' }));
  assert.equal((await call(stack, 'GET', '/v1/webhook-settings', tenant.key)).body.public_key.trim(), ownPublic.trim());
  await page.getByRole('button', { name: 'Remove key' }).click();
  const confirmKey = await visible(page.getByRole('dialog', { name: 'Remove your key?' }));
  await confirmKey.getByRole('button', { name: 'Remove key' }).click();
  await visible(page.getByText('No keypair: webhook data is sent as unencrypted JSON.'));
  await sendTest.click();
  const [, plain] = await receiver.waitFor(2);
  assert.deepEqual(JSON.parse(plain!.rawBody).data, { isTest: true });
  await visible(page.getByText('Delivered: your server answered 200.'));

  await capture(w, 'api-settings-after');
  assertNoConsoleErrors(w);
  await assertNoSecretsLeaked(w);
});

path('Managing an endpoint: reveal, Rotate secret, edit (a field error beside Events), disable and enable, recover failed deliveries, delete with confirmation', async (open) => {
  const { receiver, answer } = await switchableReceiver();
  const tenant = await createTenant(stack);
  const created = await call(stack, 'POST', '/v1/endpoints', tenant.key, { url: receiver.url, events: ['lead.created', 'export.ready'] });
  const w = await open();
  const { page } = w;
  await signIn(w, await portalLink(tenant.key));
  const card = await visible(endpointCard(page, receiver.url));

  // Reveal, then Rotate secret: the new secret, and until when the old one still signs.
  await card.getByRole('button', { name: 'Reveal' }).click();
  assert.equal(await (await visible(card.getByRole('button', { name: 'Hide' }))).getAttribute('aria-pressed'), 'true');
  assert.equal(await card.getByLabel('Signing secret').inputValue(), created.body.secret);
  await card.getByRole('button', { name: 'Rotate secret' }).click();
  const confirm = await visible(page.getByRole('dialog', { name: 'Rotate the signing secret?' }));
  await visible(confirm.getByText(/keeps signing beside it for 24 hours/));
  await confirm.getByRole('button', { name: 'Rotate secret' }).click();
  const rotated = await visible(page.getByRole('dialog', { name: 'Secret rotated' }));
  const newSecret = await rotated.getByLabel('New signing secret').inputValue();
  assert.match(newSecret, /^whsec_/);
  assert.notEqual(newSecret, created.body.secret);
  const until = /still signs until (.+?)\. During/.exec(await textOf(rotated))?.[1];
  assert.ok(until, 'the dialog says until when the previous secret signs');
  const hoursLeft = (Date.parse(`${until} UTC`) - Date.now()) / 3_600_000;
  assert.ok(hoursLeft > 23.9 && hoursLeft <= 24, `the previous secret signs for 24 h more (${hoursLeft.toFixed(2)} h)`);
  await rotated.getByRole('button', { name: 'Done' }).click();

  // Edit: no event type is refused beside Events; then a description and a filter.
  await card.getByRole('button', { name: 'Edit' }).click();
  const edit = await visible(page.getByRole('dialog', { name: 'Edit endpoint' }));
  assert.equal(await edit.getByLabel('Endpoint URL').inputValue(), receiver.url);
  await edit.getByRole('checkbox', { name: 'lead.created' }).uncheck();
  await edit.getByRole('checkbox', { name: 'export.ready' }).uncheck();
  await edit.getByRole('button', { name: 'Save changes' }).click();
  const eventsGroup = edit.getByRole('group', { name: 'Events' });
  await visible(eventsGroup.getByText('Must name at least one event type'));
  assert.match(await descriptionOf(page, eventsGroup), /Must name at least one event type/);
  assertNoConsoleErrors(w, [400]);
  await edit.getByRole('checkbox', { name: 'export.ready' }).check();
  await edit.getByLabel('Description').fill('Data warehouse');
  await edit.getByLabel('Filter').fill('{"data.rows": {"$gt": 0}');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await visible(edit.getByText(/^Not valid JSON/));
  await edit.getByLabel('Filter').fill('{"data.rows": {"$gt": 0}}');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await gone(edit);
  await visible(card.getByText('Data warehouse'));
  const saved = (await call(stack, 'GET', `/v1/endpoints/${created.body.id}`, tenant.key)).body;
  assert.deepEqual([saved.events, saved.description, saved.filter], [['export.ready'], 'Data warehouse', { 'data.rows': { $gt: 0 } }]);

  // Disable (confirmed) and enable.
  await card.getByRole('button', { name: 'Disable' }).click();
  const disable = await visible(page.getByRole('dialog', { name: 'Disable this endpoint?' }));
  await disable.getByRole('button', { name: 'Disable endpoint' }).click();
  await visible(card.getByText('Disabled', { exact: true }));
  await visible(card.getByText('Why it is off: disabled manually'));
  assert.equal(await card.getByRole('button', { name: 'Send Test Event' }).isDisabled(), true);
  await card.getByRole('button', { name: 'Enable' }).click();
  await visible(card.getByText('Enabled', { exact: true }));

  // A delivery that failed for good (a short schedule, the receiver down), then recovered.
  answer.mode = 'fail';
  policies.standard = quickStandard;
  let failedEvent: string;
  try {
    await card.getByRole('button', { name: 'Send Test Event' }).click();
    const d = await visible(page.getByRole('dialog', { name: 'Send Test Event' }));
    await d.getByRole('button', { name: 'Send Test Event' }).click();
    failedEvent = /(evt_\w+)/.exec(await textOf(await visible(page.getByText(/^Test event evt_/))))![1]!;
  } finally {
    policies.standard = patientStandard;
  }
  await receiver.waitFor(2);
  const row = await visible(deliveryRow(page, failedEvent));
  await visible(row.getByText('Failed', { exact: true }));
  await visible(row.getByText('2 attempts, last answer 503'));
  await visible(card.getByText('(0 of the last 1)'));
  answer.mode = 'ok';
  await card.getByRole('button', { name: 'Recover failed deliveries' }).click();
  const recover = await visible(page.getByRole('dialog', { name: 'Recover failed deliveries' }));
  assert.match(await recover.getByLabel('Failed since').inputValue(), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
  await recover.getByRole('button', { name: 'Recover' }).click();
  await visible(page.getByText(`Re-sending 1 failed delivery to ${receiver.url}.`));
  const [, , resent] = await receiver.waitFor(3);
  assert.equal(resent!.headers['anvil-event-id'], failedEvent);
  assert.equal(signatureOk(resent!, newSecret), true, 'signed with the rotated secret');
  await visible(row.getByText('Succeeded', { exact: true }));

  // Delete: Cancel keeps it; confirming removes it.
  await card.getByRole('button', { name: 'Delete' }).click();
  let del = await visible(page.getByRole('dialog', { name: 'Delete this endpoint?' }));
  assert.equal(await del.getByRole('button', { name: 'Cancel' }).evaluate((el) => el === document.activeElement), true, 'Cancel has the focus');
  await capture(w, 'delete-endpoint');
  await del.getByRole('button', { name: 'Cancel' }).click();
  await gone(del);
  await visible(card);
  await card.getByRole('button', { name: 'Delete' }).click();
  del = await visible(page.getByRole('dialog', { name: 'Delete this endpoint?' }));
  await del.getByRole('button', { name: 'Delete endpoint' }).click();
  await gone(card);
  await visible(page.getByText('No endpoints yet'));
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${created.body.id}`, tenant.key)).status, 404);
  await visible(deliveryRow(page, failedEvent), 5000);

  assertNoConsoleErrors(w);
  await assertNoSecretsLeaked(w);
});

path('Reused, expired and made-up links, an ended session and another tenant’s ids: a clear message and no data', async (open) => {
  const receiver = await startReceiver(() => ({ status: 200 }));
  receivers.push(receiver);
  const mine = await createTenant(stack);
  const other = await createTenant(stack);
  const myEndpoint = await call(stack, 'POST', '/v1/endpoints', mine.key, { url: `${receiver.url}/mine`, events: ['lead.created'] });
  const theirs = await call(stack, 'POST', '/v1/endpoints', other.key, { url: `${receiver.url}/theirs`, events: ['lead.created'] });
  const theirEvent = (await call(stack, 'POST', `/v1/endpoints/${theirs.body.id}/test`, other.key, {})).body.event_id as string;
  await receiver.waitFor(1);
  const hash = (token: string) => createHash('sha256').update(token).digest('hex');
  const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');

  const noData = async (page: Page) => {
    const html = await page.content();
    for (const secret of [myEndpoint.body.url, myEndpoint.body.id, theirs.body.url, theirs.body.id]) assert.ok(!html.includes(secret), `the page shows ${secret}`);
    assert.equal(await page.getByRole('navigation', { name: 'Settings pages' }).count(), 0);
  };

  // Used once, then again in another browser: a plain page saying so, no data.
  const link = await portalLink(mine.key);
  const first = await open();
  await signIn(first, link);
  const again = await open();
  const response = await again.page.goto(link);
  assert.ok(response?.headers()['content-security-policy']);
  await visible(again.page.getByRole('heading', { level: 1, name: 'This sign-in link was already used' }));
  await visible(again.page.getByText('Each link opens the Settings pages once.'));
  assert.equal(again.page.url(), `${stack.url}/portal/sign-in`, 'the token is gone from the address bar');
  await noData(again.page);
  assertNoConsoleErrors(again, [410]);
  await capture(again, 'link-used');

  // Expired.
  const late = await portalLink(mine.key);
  await stack.db.query(`UPDATE portal_sessions SET link_expires_at = now() - interval '1 second' WHERE link_hash = $1`, [hash(tokenOf(late))]);
  await again.page.goto(late);
  await visible(again.page.getByRole('heading', { level: 1, name: 'This sign-in link has expired' }));
  await noData(again.page);
  assertNoConsoleErrors(again, [410]);

  // Made up, and incomplete.
  await again.page.goto(`${stack.url}/portal/sign-in#token=anv_pl_${'A'.repeat(32)}`);
  await visible(again.page.getByRole('heading', { level: 1, name: 'This sign-in link is not valid' }));
  assertNoConsoleErrors(again, [401]);
  await again.page.goto(`${stack.url}/portal/sign-in`);
  await visible(again.page.getByRole('heading', { level: 1, name: 'This sign-in link is incomplete' }));
  // A page opened without a session.
  await again.page.goto(`${stack.url}/portal/api-settings`);
  await visible(again.page.getByRole('heading', { level: 1, name: 'You are signed out' }));
  await noData(again.page);
  await assertAccessible(again.page, 'the signed-out page');
  assertNoConsoleErrors(again);

  // Another tenant's ids in the Delivery Log's filters: said plainly, nothing of theirs shown.
  const { page } = first;
  await page.goto(`${stack.url}/portal/webhooks?event_id=${theirEvent}`);
  await visible(page.getByText(`There is no event ${theirEvent} in your account.`));
  assert.equal(await page.getByRole('list', { name: 'Deliveries' }).count(), 0);
  assertNoConsoleErrors(first, [404]);
  await page.goto(`${stack.url}/portal/webhooks?endpoint_id=${theirs.body.id}`);
  await visible(page.getByText(`Endpoint ${theirs.body.id} is not one of your endpoints.`));
  assert.equal(await page.getByRole('list', { name: 'Deliveries' }).count(), 0);
  for (const s of [theirs.body.url, theirEvent.slice(4)]) assert.ok(!(await page.content()).includes(`${s}<`), `their ${s} is not listed`);
  await page.goto(`${stack.url}/portal/nowhere`);
  await visible(page.getByRole('heading', { level: 1, name: 'Page not found' }));
  await assertAccessible(page, 'the not-found page');
  assertNoConsoleErrors(first, [404]);

  // The session is bound to its tenant at the API too, whatever the page is made to ask.
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('anvil.portal.session')!).token as string);
  assert.equal((await call(stack, 'GET', `/v1/endpoints/${theirs.body.id}`, session)).status, 404);
  assert.equal((await call(stack, 'GET', `/v1/deliveries/${theirEvent}:${theirs.body.id}`, session)).status, 404);
  assert.equal((await call(stack, 'POST', `/v1/endpoints/${theirs.body.id}/test`, session, {})).status, 404);

  // The session ends (expiry): the next request says so, and the data goes away.
  await page.goto(`${stack.url}/portal/webhooks`);
  await visible(endpointCard(page, myEndpoint.body.url));
  await stack.db.query(`UPDATE portal_sessions SET session_expires_at = now() - interval '1 second' WHERE session_hash = $1`, [hash(session)]);
  // The Delivery Log's own refresh is the next request.
  await visible(page.getByRole('heading', { level: 1, name: 'Your session has ended' }));
  await noData(page);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the ended session is forgotten');
  assertNoConsoleErrors(first, [401]);

  // Sign out.
  const third = await open();
  await signIn(third, await portalLink(mine.key));
  await third.page.getByRole('button', { name: 'Sign out' }).click();
  await visible(third.page.getByRole('heading', { level: 1, name: 'You are signed out' }));
  await third.page.goto(`${stack.url}/portal/webhooks`);
  await visible(third.page.getByRole('heading', { level: 1, name: 'You are signed out' }));
  assertNoConsoleErrors(third);
});

/** The platform's own settings page: another site (localhost, not 127.0.0.1) framing the portal link. */
async function platformPage(linkFor: () => Promise<string>): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    void linkFor().then((link) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><title>Platform settings</title></head><body>
<h1>Platform settings</h1><iframe src="${link}" title="Webhook settings" allow="clipboard-write" width="1100" height="800"></iframe></body></html>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/settings`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

path('Embedded in the platform’s page on another site, without cookies; refused where frame-ancestors does not allow it', async (open) => {
  // The platform's origin is only known once its server listens, so this stack is configured after it.
  let embedded: Stack | null = null;
  let tenantKey = '';
  const allowed = await platformPage(() => portalLink(tenantKey, {}, embedded!));
  const refused = await platformPage(() => portalLink(tenantKey, {}, embedded!));
  try {
    embedded = await startStack({ withWorker: false, env: { ANVIL_PORTAL_FRAME_ANCESTORS: `'self' ${new URL(allowed.url).origin}` } });
    tenantKey = (await createTenant(embedded)).key;
    const w = await open();
    await w.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: embedded.url });

    await w.page.goto(allowed.url);
    const frame = w.page.frameLocator('iframe[title="Webhook settings"]');
    await visible(frame.getByRole('heading', { level: 1, name: 'Webhooks' }));
    await frame.getByRole('button', { name: 'Add Endpoint' }).click();
    const dialog = await visible(frame.getByRole('dialog', { name: 'Add Endpoint' }));
    await dialog.getByLabel('Endpoint URL').fill('https://crm.example.com/hooks/anvil');
    await dialog.getByRole('checkbox', { name: 'lead.created' }).check();
    await dialog.getByRole('button', { name: 'Add Endpoint' }).click();
    const created = await visible(frame.getByRole('dialog', { name: 'Endpoint created' }));
    await created.getByRole('button', { name: 'Copy' }).click();
    await visible(frame.getByRole('status').filter({ hasText: 'Signing secret copied to the clipboard.' }));
    await created.getByRole('button', { name: 'Done' }).click();
    await frame.getByRole('link', { name: 'API Settings' }).click();
    await visible(frame.getByRole('heading', { level: 1, name: 'API Settings' }));
    const portalFrame = w.page.frames().find((f) => f.url().startsWith(embedded!.url))!;
    assert.equal(portalFrame.url(), `${embedded.url}/portal/api-settings`);
    assert.equal(w.page.url(), allowed.url, 'the platform page stays where it is');
    await assertNoSecretsLeaked(w);
    assertNoConsoleErrors(w);

    // A site that is not allowed gets no portal: the browser refuses to render it in the frame.
    const other = await open();
    await other.page.goto(refused.url);
    await other.page.waitForFunction(() => document.querySelector('iframe')?.contentWindow !== null);
    await other.page.waitForTimeout(1000);
    const child = other.page.frames().find((f) => f !== other.page.mainFrame())!;
    assert.doesNotMatch(child.url(), /\/portal\/(webhooks|sign-in)$/, 'the portal did not load in the refused frame');
    assert.equal(await other.page.frameLocator('iframe').getByRole('heading', { name: 'Webhooks' }).count(), 0);
    assert.ok(other.errors.some((e) => /frame-ancestors/.test(e)), `Chromium reported the refusal: ${other.errors.join('; ')}`);
  } finally {
    await allowed.close();
    await refused.close();
    await embedded?.close();
  }
});
