// Organization Settings > API Settings: classic webhooks. Enable webhooks with a static URL, the token
// (reveal, Copy), the RSA keypair that encrypts `data` (create — private key shown once, with a .pem
// download —, upload a public key, remove), Send test (webhookTest to the static URL), and the per-object
// URLs that override the static one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, listAll, topField, type DeliverySummary, type ObjectUrl, type WebhookSettings } from '../api';
import {
  announce,
  Button,
  ConfirmDialog,
  CopyButton,
  EmptyState,
  FormError,
  SecretField,
  SelectField,
  TextAreaField,
  TextField,
  useApiForm,
} from '../components';
import { OBJECT_TYPE_LABELS } from '../format';
import type { Session } from '../session';

/** How long Send test follows its delivery before leaving the rest to the Delivery Log. */
const TEST_FOLLOW_MS = 30_000;

export function ApiSettingsPage({ session }: { session: Session }) {
  const [settings, setSettings] = useState<WebhookSettings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    api<WebhookSettings>('GET', '/webhook-settings').then(setSettings, (err: unknown) => setLoadError((err as Error).message));
  }, []);

  return (
    <>
      <h1 tabIndex={-1}>API Settings</h1>
      <p class="lead">
        Anvil can POST to an endpoint on your server with a webhook when an action happens: a workflow is created or completed, a signer
        finishes, an etch packet is complete.
      </p>
      {loadError && <FormError message={`Could not load your settings: ${loadError}`} />}
      {!settings && !loadError && <p aria-busy="true">Loading settings…</p>}
      {settings && (
        <>
          <WebhooksSection settings={settings} onSaved={setSettings} />
          <EncryptionSection settings={settings} onChanged={setSettings} tenantId={session.tenant.id} />
          <ObjectUrlsSection />
        </>
      )}
    </>
  );
}

function WebhooksSection({ settings, onSaved }: { settings: WebhookSettings; onSaved: (s: WebhookSettings) => void }) {
  const [enabled, setEnabled] = useState(settings.enabled);
  const [url, setUrl] = useState(settings.url ?? '');
  const [saved, setSaved] = useState<string | null>(null);
  const { errors, formError, busy, form, submit } = useApiForm((path) => {
    const top = topField(path);
    return top === 'url' || top === 'enabled' ? top : null;
  });

  const save = (e: Event) => {
    e.preventDefault();
    setSaved(null);
    void submit(async () => {
      const next = await api<WebhookSettings>('PUT', '/webhook-settings', { enabled, url: url.trim() === '' ? null : url.trim() });
      onSaved(next);
      setSaved(next.enabled ? 'Webhooks are enabled.' : 'Webhooks are disabled: Anvil sends no classic webhooks.');
    });
  };

  return (
    <section aria-labelledby="webhooks-heading" class="card-section">
      <h2 id="webhooks-heading">Webhooks</h2>
      <form ref={form} onSubmit={save} noValidate>
        <div class="field">
          <div class="check">
            <input
              type="checkbox"
              id="enable-webhooks"
              checked={enabled}
              onChange={(e) => setEnabled(e.currentTarget.checked)}
              aria-describedby="enable-webhooks-hint"
            />
            <label for="enable-webhooks">Enable webhooks</label>
          </div>
          <p class="hint" id="enable-webhooks-hint">
            Anvil POSTs <code>{'{action, token, data}'}</code> to your URL when an action happens.
          </p>
          {errors.enabled && <p class="field-error">{errors.enabled}</p>}
        </div>
        <TextField
          label="Webhook URL"
          type="url"
          inputMode="url"
          placeholder="https://example.com/webhooks/anvil"
          value={url}
          onValue={setUrl}
          error={errors.url}
          hint="The static URL receives every webhook. You do not need to set one if you plan to only use per-object webhook URLs."
        />
        <FormError message={formError} />
        <div role="status">{saved && <p class="alert alert-success">{saved}</p>}</div>
        <div class="button-row">
          <Button type="submit" kind="primary" busy={busy}>
            {busy ? 'Saving…' : 'Save'}
          </Button>
        </div>
      </form>
      {settings.token ? (
        <SecretField
          label="Token"
          what="Token"
          load={async () => settings.token!}
          hint="Sent in every webhook's body. Check that it matches in your webhook handler, and treat it as you would an API key."
        />
      ) : (
        <p class="muted">The token is generated when you enable webhooks.</p>
      )}
      <SendTest settings={settings} />
    </section>
  );
}

function SendTest({ settings }: { settings: WebhookSettings }) {
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'sending' } | { kind: 'following'; id: string; summary: DeliverySummary | null } | { kind: 'error'; message: string }>({
    kind: 'idle',
  });
  const reason = !settings.enabled
    ? 'Enable webhooks and save a static URL first.'
    : !settings.url
      ? 'Send test needs a static URL: it is only available for static webhook URLs.'
      : null;

  // Follow the test's delivery for a while, so the result shows here.
  useEffect(() => {
    if (state.kind !== 'following') return;
    const done = state.summary && state.summary.status !== 'pending' && state.summary.status !== 'retrying';
    if (done) return;
    const started = Date.now();
    const timer = window.setInterval(() => {
      if (Date.now() - started > TEST_FOLLOW_MS) return window.clearInterval(timer);
      api<{ data: DeliverySummary[] }>('GET', `/deliveries?event_id=${encodeURIComponent(state.id)}`).then(
        (page) => {
          const summary = page.data[0] ?? null;
          if (summary && JSON.stringify(summary) !== JSON.stringify(state.summary)) setState({ kind: 'following', id: state.id, summary });
        },
        () => undefined,
      );
    }, 1000);
    return () => window.clearInterval(timer);
  }, [state]);

  const send = async () => {
    setState({ kind: 'sending' });
    try {
      const r = await api<{ id: string }>('POST', '/webhook-settings/test');
      setState({ kind: 'following', id: r.id, summary: null });
    } catch (err) {
      setState({ kind: 'error', message: (err as Error).message });
    }
  };

  let result: string | null = null;
  if (state.kind === 'following') {
    const s = state.summary;
    if (!s || s.status === 'pending') result = `Sending webhookTest ${state.id} to ${settings.url}…`;
    else if (s.status === 'succeeded') result = `Delivered: your server answered ${s.last_status_code}.`;
    else if (s.status === 'retrying')
      result = `Your server answered ${s.last_status_code ?? 'nothing'}. Anvil tries again (5 attempts over about 11 minutes); see the Delivery Log on the Webhooks page.`;
    else result = `Not delivered (${s.status}${s.last_status_code ? `, last answer ${s.last_status_code}` : ''}).`;
  }
  return (
    <div class="send-test">
      <h3>Send test</h3>
      <p class="hint" id="send-test-reason">
        {reason ?? (
          <>
            Sends a <code>webhookTest</code> action to your static URL.
          </>
        )}
      </p>
      <Button onClick={() => void send()} disabled={reason !== null} busy={state.kind === 'sending'} aria-describedby="send-test-reason">
        Send test
      </Button>
      <div role="status">
        {result && <p class={`alert ${state.kind === 'following' && state.summary?.status === 'succeeded' ? 'alert-success' : 'alert-info'}`}>{result}</p>}
      </div>
      {state.kind === 'error' && <FormError message={state.message} />}
    </div>
  );
}

function downloadPem(pem: string, filename: string) {
  const url = URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function EncryptionSection({ settings, onChanged, tenantId }: { settings: WebhookSettings; onChanged: (s: WebhookSettings) => void; tenantId: string }) {
  const [privateKey, setPrivateKey] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [confirm, setConfirm] = useState<'replace' | 'remove' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [upload, setUpload] = useState('');
  const uploadForm = useApiForm((path) => (topField(path) === 'public_key' ? 'public_key' : null));
  const keyPanel = useRef<HTMLElement>(null);

  const create = async () => {
    setCreating(true);
    setError(null);
    try {
      const r = await api<{ public_key: string; private_key: string }>('POST', '/webhook-settings/keypair');
      onChanged({ ...settings, public_key: r.public_key });
      setPrivateKey(r.private_key);
      setConfirm(null);
      window.requestAnimationFrame(() => keyPanel.current?.querySelector<HTMLElement>('h3')?.focus());
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setCreating(false);
    }
  };

  const submitUpload = (e: Event) => {
    e.preventDefault();
    void uploadForm.submit(async () => {
      const next = await api<WebhookSettings>('PUT', '/webhook-settings/public-key', { public_key: upload });
      onChanged(next);
      setUpload('');
      setPrivateKey(null);
      announce('Public key uploaded: webhook data is now encrypted with it.');
    });
  };

  const readFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (file) setUpload(await file.text());
  };

  return (
    <section aria-labelledby="encryption-heading" class="card-section">
      <h2 id="encryption-heading">Encryption</h2>
      <p>
        {settings.public_key ? (
          <>
            <span class="badge badge-enabled">Encrypted</span> Webhook <code>data</code> is encrypted with your organization’s RSA key.
          </>
        ) : (
          <>
            <span class="badge badge-disabled">Not encrypted</span> No keypair: webhook <code>data</code> is sent as unencrypted JSON.
          </>
        )}
      </p>
      <div class="button-row">
        <Button kind="primary" onClick={() => (settings.public_key ? setConfirm('replace') : void create())} busy={creating}>
          {creating ? 'Creating keypair…' : 'Create keypair'}
        </Button>
        {settings.public_key && (
          <Button kind="danger" onClick={() => setConfirm('remove')}>
            Remove key
          </Button>
        )}
      </div>
      <FormError message={error} />

      {privateKey && (
        <section ref={keyPanel} class="private-key" aria-labelledby="private-key-heading">
          <h3 id="private-key-heading" tabIndex={-1}>
            Your private key
          </h3>
          <p class="alert alert-warning">
            <strong>This is the only time your private key is shown.</strong> Anvil does not keep it. Download it now and store it somewhere
            safe: you need it to decrypt webhook data, and anyone who has it can read that data.
          </p>
          <TextAreaField label="Private key" mono readOnly rows={6} value={privateKey} />
          <div class="button-row">
            <Button kind="primary" onClick={() => downloadPem(privateKey, `anvil-webhooks-private-key-${tenantId}.pem`)}>
              Download private key (.pem)
            </Button>
            <CopyButton value={privateKey} what="Private key" />
            <Button onClick={() => setPrivateKey(null)}>I have saved it</Button>
          </div>
        </section>
      )}

      {settings.public_key && !privateKey && <TextAreaField label="Public key" mono readOnly rows={4} value={settings.public_key} />}

      <form ref={uploadForm.form} class="upload-key" onSubmit={submitUpload} noValidate>
        <h3>Upload a public key</h3>
        <p class="hint">Use your own RSA key instead: paste its public key (SPKI PEM, 2048 bits or more) or choose the file.</p>
        <TextAreaField
          label="Public key (PEM)"
          mono
          rows={4}
          value={upload}
          onValue={setUpload}
          error={uploadForm.errors.public_key}
          placeholder="-----BEGIN PUBLIC KEY-----"
        />
        <div class="field">
          <label for="public-key-file">Or choose a .pem file</label>
          <input id="public-key-file" type="file" accept=".pem,.pub,.txt,application/x-pem-file" onChange={(e) => void readFile(e.currentTarget)} />
        </div>
        <FormError message={uploadForm.formError} />
        <Button type="submit" busy={uploadForm.busy}>
          {uploadForm.busy ? 'Uploading…' : 'Upload public key'}
        </Button>
      </form>

      {confirm === 'replace' && (
        <ConfirmDialog title="Replace your key?" confirmLabel="Create keypair" onClose={() => setConfirm(null)} onConfirm={create}>
          <p>Webhooks sent from now on are encrypted with the new key: your current private key will no longer decrypt them.</p>
        </ConfirmDialog>
      )}
      {confirm === 'remove' && (
        <ConfirmDialog
          title="Remove your key?"
          confirmLabel="Remove key"
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await api('DELETE', '/webhook-settings/keypair');
            onChanged({ ...settings, public_key: null });
            setPrivateKey(null);
            setConfirm(null);
            announce('Key removed: webhook data is sent as unencrypted JSON.');
          }}
        >
          <p>
            Webhook <code>data</code> will be sent as unencrypted JSON from now on.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function ObjectUrlsSection() {
  const [items, setItems] = useState<ObjectUrl[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [type, setType] = useState<'etch-packet' | 'weld-data'>('etch-packet');
  const [eid, setEid] = useState('');
  const [url, setUrl] = useState('');
  const { errors, formError, busy, form, refuse, submit } = useApiForm((path) => {
    const top = topField(path);
    return top === 'type' || top === 'eid' || top === 'url' ? top : null;
  });
  const [removing, setRemoving] = useState<ObjectUrl | null>(null);

  const load = () => listAll<ObjectUrl>('/objects/webhook-urls').then(setItems, (err: unknown) => setLoadError((err as Error).message));
  useEffect(() => {
    void load();
  }, []);

  const add = (e: Event) => {
    e.preventDefault();
    if (eid.trim() === '') return refuse({ eid: 'Enter the EID of the etch packet or weld data' });
    void submit(async () => {
      await api('PUT', `/objects/${encodeURIComponent(type)}/${encodeURIComponent(eid.trim())}/webhook-url`, { url: url.trim() });
      announce(`${OBJECT_TYPE_LABELS[type]} ${eid.trim()} now sends its webhooks to ${url.trim()}.`);
      setEid('');
      setUrl('');
      await load();
    });
  };

  return (
    <section aria-labelledby="object-urls-heading" class="card-section">
      <h2 id="object-urls-heading">Per-object webhook URLs</h2>
      <p>
        An etch packet or weld data can have its own webhook URL: it receives every webhook on that object and its signers, and overrides
        the static URL.
      </p>
      {loadError && <FormError message={`Could not load the per-object URLs: ${loadError}`} />}
      {items === null && !loadError && <p aria-busy="true">Loading per-object URLs…</p>}
      {items !== null && items.length === 0 && (
        <EmptyState title="No per-object URLs">
          <p>Add one below, or set webhookURL when you create or update an etch packet or weld data.</p>
        </EmptyState>
      )}
      {items !== null && items.length > 0 && (
        <ul class="object-urls" aria-label="Per-object webhook URLs">
          {items.map((item) => (
            <li key={`${item.type}/${item.eid}`} class="object-url">
              <div>
                <p class="object-ref">
                  {OBJECT_TYPE_LABELS[item.type]} <code>{item.eid}</code>
                </p>
                <p class="wrap">{item.url}</p>
              </div>
              <Button kind="danger" onClick={() => setRemoving(item)}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form ref={form} class="add-object-url" onSubmit={add} noValidate>
        <h3>Add a per-object URL</h3>
        <div class="form-grid">
          <SelectField
            label="Object type"
            value={type}
            onValue={(v) => setType(v as typeof type)}
            error={errors.type}
            options={[
              { value: 'etch-packet', label: OBJECT_TYPE_LABELS['etch-packet']! },
              { value: 'weld-data', label: OBJECT_TYPE_LABELS['weld-data']! },
            ]}
          />
          <TextField label="Object EID" value={eid} onValue={setEid} error={errors.eid} spellcheck={false} />
          <TextField label="URL" type="url" inputMode="url" value={url} onValue={setUrl} error={errors.url} placeholder="https://specific.com/url" />
        </div>
        <FormError message={formError} />
        <Button type="submit" busy={busy}>
          {busy ? 'Adding…' : 'Add URL'}
        </Button>
      </form>
      {removing && (
        <ConfirmDialog
          title="Remove this URL?"
          confirmLabel="Remove URL"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await api('DELETE', `/objects/${encodeURIComponent(removing.type)}/${encodeURIComponent(removing.eid)}/webhook-url`);
            setRemoving(null);
            announce(`Removed the URL of ${OBJECT_TYPE_LABELS[removing.type]} ${removing.eid}: its webhooks go to the static URL.`);
            await load();
          }}
        >
          <p>
            Webhooks on {OBJECT_TYPE_LABELS[removing.type]} <code>{removing.eid}</code> will go to the static URL instead of{' '}
            <span class="wrap">{removing.url}</span>.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
