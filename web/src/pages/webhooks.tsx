// Settings > Webhooks: the endpoints (URL, events, status, recent success rate), Add Endpoint, each
// endpoint's signing secret and actions, and the Delivery Log.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, listAll, topField, type DeliverySummary, type Endpoint, type EventType } from '../api';
import {
  Button,
  ConfirmDialog,
  Dialog,
  EmptyState,
  FormError,
  SecretField,
  SelectField,
  TextField,
  useApiForm,
} from '../components';
import { splitFilter } from '../filter-form';
import { formatTime, toLocalInput } from '../format';
import type { Session } from '../session';
import { DeliveryLog } from './delivery-log';
import { EndpointForm } from './endpoint-form';

const PLAN_LIMITS: Record<string, number | null> = { pro: 20, enterprise: null };
/** How many of an endpoint's latest deliveries its success rate covers. */
const RATE_WINDOW = 50;

type Modal =
  | { kind: 'add' }
  | { kind: 'edit'; endpoint: Endpoint }
  | { kind: 'created'; endpoint: Endpoint; secret: string }
  | { kind: 'test'; endpoint: Endpoint }
  | { kind: 'rotate'; endpoint: Endpoint }
  | { kind: 'rotated'; endpoint: Endpoint; secret: string; previousUntil: string | null }
  | { kind: 'disable'; endpoint: Endpoint }
  | { kind: 'delete'; endpoint: Endpoint }
  | { kind: 'recover'; endpoint: Endpoint };

interface Rate {
  succeeded: number;
  finished: number;
}

async function recentRate(endpointId: string): Promise<Rate> {
  const page = await api<{ data: DeliverySummary[] }>('GET', `/deliveries?endpoint_id=${encodeURIComponent(endpointId)}&limit=${RATE_WINDOW}`);
  const finished = page.data.filter((d) => d.status === 'succeeded' || d.status === 'failed');
  return { succeeded: finished.filter((d) => d.status === 'succeeded').length, finished: finished.length };
}

function RateText({ rate }: { rate: Rate | undefined }) {
  if (!rate) return <>Loading…</>;
  if (rate.finished === 0) return <>No finished deliveries yet</>;
  const pct = Math.round((100 * rate.succeeded) / rate.finished);
  return (
    <>
      {pct} % succeeded <span class="muted">({rate.succeeded} of the last {rate.finished})</span>
    </>
  );
}

export function WebhooksPage({ session }: { session: Session }) {
  const [eventTypes, setEventTypes] = useState<EventType[]>([]);
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [rates, setRates] = useState<Record<string, Rate>>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [modal, setModal] = useState<Modal | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [logVersion, setLogVersion] = useState(0);

  const loadRates = useCallback(async (list: Endpoint[]) => {
    const entries = await Promise.all(list.map(async (e) => [e.id, await recentRate(e.id)] as const));
    setRates(Object.fromEntries(entries));
  }, []);

  const load = useCallback(async () => {
    try {
      const [types, list] = await Promise.all([
        api<{ data: EventType[] }>('GET', '/event-types').then((r) => r.data),
        listAll<Endpoint>('/endpoints'),
      ]);
      setEventTypes(types);
      setEndpoints(list);
      setLoadError(null);
      void loadRates(list).catch(() => undefined);
    } catch (err) {
      setLoadError((err as Error).message);
    }
  }, [loadRates]);

  useEffect(() => {
    void load();
  }, [load]);

  const close = () => setModal(null);
  const say = (message: string) => setNotice(message);
  const replace = (updated: Endpoint) => setEndpoints((list) => (list ?? []).map((e) => (e.id === updated.id ? updated : e)));

  const limit = PLAN_LIMITS[session.tenant.plan] ?? null;
  const count = endpoints?.length ?? 0;
  return (
    <>
      <h1 tabIndex={-1}>Webhooks</h1>
      <p class="lead">
        Anvil POSTs a signed JSON payload to your endpoints whenever something happens in your account. Verify the{' '}
        <code>Anvil-Signature</code> header with the endpoint’s signing secret.
      </p>

      <section aria-labelledby="endpoints-heading" class="card-section">
        <div class="section-head">
          <h2 id="endpoints-heading">Endpoints</h2>
          <Button kind="primary" onClick={() => setModal({ kind: 'add' })} disabled={endpoints === null}>
            Add Endpoint
          </Button>
        </div>
        <p class="muted">
          {endpoints === null
            ? ''
            : limit === null
              ? `${count} endpoint${count === 1 ? '' : 's'} (unlimited on Enterprise).`
              : `${count} of ${limit} endpoints on the Pro plan.`}
        </p>
        {/* Always present, so screen readers announce what appears in it. */}
        <div role="status">{notice && <p class="alert alert-success">{notice}</p>}</div>
        {loadError && <FormError message={`Could not load your endpoints: ${loadError}`} />}
        {endpoints === null && !loadError && <p aria-busy="true">Loading endpoints…</p>}
        {endpoints !== null && endpoints.length === 0 && (
          <EmptyState title="No endpoints yet">
            <p>
              Add an endpoint to start receiving events: enter the HTTPS URL of your server and select the events to subscribe to. Then
              use Send Test Event to try it.
            </p>
          </EmptyState>
        )}
        {endpoints !== null && endpoints.length > 0 && (
          <ul class="endpoint-list">
            {endpoints.map((ep) => (
              <li key={ep.id}>
                <article class="endpoint" aria-labelledby={`${ep.id}-url`}>
                  <div class="endpoint-head">
                    <h3 id={`${ep.id}-url`} class="endpoint-url">
                      {ep.url}
                    </h3>
                    <span class={`badge badge-${ep.status}`}>{ep.status === 'enabled' ? 'Enabled' : 'Disabled'}</span>
                  </div>
                  {ep.status === 'disabled' && ep.disabled_reason && <p class="endpoint-disabled-reason">Why it is off: {ep.disabled_reason}</p>}
                  {ep.description && <p class="endpoint-description">{ep.description}</p>}
                  <dl class="facts">
                    <div>
                      <dt>Events</dt>
                      <dd>
                        <ul class="chips">
                          {ep.events.map((name) => (
                            <li key={name}>
                              <code>{name}</code>
                            </li>
                          ))}
                        </ul>
                      </dd>
                    </div>
                    <div>
                      <dt>Recent success rate</dt>
                      <dd>
                        <RateText rate={rates[ep.id]} />
                      </dd>
                    </div>
                    <FilterFacts filter={ep.filter} />
                    <div>
                      <dt>Endpoint ID</dt>
                      <dd>
                        <code>{ep.id}</code>
                      </dd>
                    </div>
                  </dl>
                  <SecretField
                    label="Signing secret"
                    what="Signing secret"
                    load={() => api<{ secret: string }>('GET', `/endpoints/${encodeURIComponent(ep.id)}/secret`).then((r) => r.secret)}
                  />
                  <div class="button-row endpoint-actions">
                    <Button kind="primary" onClick={() => setModal({ kind: 'test', endpoint: ep })} disabled={ep.status !== 'enabled'}>
                      Send Test Event
                    </Button>
                    <Button onClick={() => setModal({ kind: 'rotate', endpoint: ep })}>Rotate secret</Button>
                    <Button onClick={() => setModal({ kind: 'edit', endpoint: ep })}>Edit</Button>
                    {ep.status === 'enabled' ? (
                      <Button onClick={() => setModal({ kind: 'disable', endpoint: ep })}>Disable</Button>
                    ) : (
                      <Button
                        onClick={() =>
                          void api<Endpoint>('PATCH', `/endpoints/${encodeURIComponent(ep.id)}`, { status: 'enabled' }).then(
                            (saved) => {
                              replace(saved);
                              say(`${saved.url} is enabled again.`);
                            },
                            (err: unknown) => say(`Could not enable ${ep.url}: ${(err as Error).message}`),
                          )
                        }
                      >
                        Enable
                      </Button>
                    )}
                    <Button onClick={() => setModal({ kind: 'recover', endpoint: ep })}>Recover failed deliveries</Button>
                    <Button kind="danger" onClick={() => setModal({ kind: 'delete', endpoint: ep })}>
                      Delete
                    </Button>
                  </div>
                </article>
              </li>
            ))}
          </ul>
        )}
      </section>

      {endpoints !== null && (
        <DeliveryLog
          endpoints={endpoints}
          eventTypes={eventTypes}
          version={logVersion}
          onChange={() => void loadRates(endpoints).catch(() => undefined)}
        />
      )}

      {(modal?.kind === 'add' || modal?.kind === 'edit') && (
        <EndpointForm
          eventTypes={eventTypes}
          endpoint={modal.kind === 'edit' ? modal.endpoint : undefined}
          onClose={close}
          onSaved={(saved, secret) => {
            if (secret) {
              setEndpoints((list) => [...(list ?? []), saved]);
              setRates((r) => ({ ...r, [saved.id]: { succeeded: 0, finished: 0 } }));
              setModal({ kind: 'created', endpoint: saved, secret });
            } else {
              replace(saved);
              close();
              say(`Saved ${saved.url}.`);
            }
          }}
        />
      )}
      {modal?.kind === 'created' && (
        <Dialog title="Endpoint created" onClose={close}>
          <p>
            <strong class="wrap">{modal.endpoint.url}</strong> now receives the events you selected. Copy its signing secret: you need it to
            verify the <code>Anvil-Signature</code> header of every request.
          </p>
          <SecretField label="Signing secret" what="Signing secret" value={modal.secret} hint="You can reveal it again later from the endpoint." />
          <div class="dialog-actions">
            <Button kind="primary" onClick={close} autoFocus>
              Done
            </Button>
          </div>
        </Dialog>
      )}
      {modal?.kind === 'test' && (
        <SendTestDialog
          endpoint={modal.endpoint}
          onClose={close}
          onSent={(eventId, type) => {
            close();
            say(`Test event ${eventId} (${type}) sent to ${modal.endpoint.url}. It appears in the Delivery Log below.`);
            setLogVersion((v) => v + 1);
          }}
        />
      )}
      {modal?.kind === 'rotate' && (
        <ConfirmDialog
          title="Rotate the signing secret?"
          confirmLabel="Rotate secret"
          danger={false}
          onClose={close}
          onConfirm={async () => {
            const r = await api<{ secret: string; previous_secret_expires_at: string | null }>(
              'POST',
              `/endpoints/${encodeURIComponent(modal.endpoint.id)}/rotate-secret`,
            );
            setModal({ kind: 'rotated', endpoint: modal.endpoint, secret: r.secret, previousUntil: r.previous_secret_expires_at });
          }}
        >
          <p>
            A new secret signs requests to <strong class="wrap">{modal.endpoint.url}</strong> from now on. The current secret keeps signing
            beside it for 24 hours, so you can update your server in the meantime.
          </p>
        </ConfirmDialog>
      )}
      {modal?.kind === 'rotated' && (
        <Dialog title="Secret rotated" onClose={close}>
          <SecretField label="New signing secret" what="New signing secret" value={modal.secret} />
          <p class="alert alert-info">
            {modal.previousUntil
              ? `The previous secret still signs until ${formatTime(modal.previousUntil)}. During that time every request carries two v1= signatures: accept either.`
              : 'The previous secret no longer signs.'}
          </p>
          <div class="dialog-actions">
            <Button kind="primary" onClick={close} autoFocus>
              Done
            </Button>
          </div>
        </Dialog>
      )}
      {modal?.kind === 'disable' && (
        <ConfirmDialog
          title="Disable this endpoint?"
          confirmLabel="Disable endpoint"
          onClose={close}
          onConfirm={async () => {
            const saved = await api<Endpoint>('PATCH', `/endpoints/${encodeURIComponent(modal.endpoint.id)}`, { status: 'disabled' });
            replace(saved);
            close();
            say(`${saved.url} is disabled: it receives no events until you enable it.`);
          }}
        >
          <p>
            <strong class="wrap">{modal.endpoint.url}</strong> stops receiving events, and its pending retries are canceled. You can enable it
            again later.
          </p>
        </ConfirmDialog>
      )}
      {modal?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete this endpoint?"
          confirmLabel="Delete endpoint"
          onClose={close}
          onConfirm={async () => {
            await api('DELETE', `/endpoints/${encodeURIComponent(modal.endpoint.id)}`);
            setEndpoints((list) => (list ?? []).filter((e) => e.id !== modal.endpoint.id));
            close();
            say(`Deleted ${modal.endpoint.url}.`);
          }}
        >
          <p>
            <strong class="wrap">{modal.endpoint.url}</strong> stops receiving events, its pending retries are canceled, and it cannot be
            restored. Its past deliveries stay in the Delivery Log.
          </p>
        </ConfirmDialog>
      )}
      {modal?.kind === 'recover' && (
        <RecoverDialog
          endpoint={modal.endpoint}
          onClose={close}
          onDone={(count, since) => {
            close();
            say(
              count === 0
                ? `No failed deliveries to ${modal.endpoint.url} since ${formatTime(since)}.`
                : `Re-sending ${count} failed deliver${count === 1 ? 'y' : 'ies'} to ${modal.endpoint.url}.`,
            );
            setLogVersion((v) => v + 1);
          }}
        />
      )}
    </>
  );
}

/** An endpoint's filter as the form shows it: the score threshold apart from the customer's own conditions. */
function FilterFacts({ filter }: { filter: Endpoint['filter'] }) {
  const { own, threshold } = splitFilter(filter);
  return (
    <>
      {threshold !== null && (
        <div>
          <dt>Score threshold</dt>
          <dd>
            {threshold} <span class="muted">(lead.score_changed)</span>
          </dd>
        </div>
      )}
      {own && (
        <div>
          <dt>Filter</dt>
          <dd>
            <code class="wrap">{JSON.stringify(own)}</code>
          </dd>
        </div>
      )}
    </>
  );
}

function SendTestDialog(p: { endpoint: Endpoint; onClose: () => void; onSent: (eventId: string, type: string) => void }) {
  const [type, setType] = useState(p.endpoint.events[0] ?? '');
  const { errors, formError, busy, form, submit } = useApiForm((path) => (topField(path) === 'type' ? 'type' : null));
  const send = (e: Event) => {
    e.preventDefault();
    void submit(async () => {
      const r = await api<{ event_id: string }>('POST', `/endpoints/${encodeURIComponent(p.endpoint.id)}/test`, { type });
      p.onSent(r.event_id, type);
    });
  };
  return (
    <Dialog title="Send Test Event" onClose={p.onClose}>
      <form ref={form} onSubmit={send}>
        <p>
          Sends a synthetic event to <strong class="wrap">{p.endpoint.url}</strong> only, signed like a real one.
        </p>
        <SelectField
          label="Event type"
          value={type}
          onValue={setType}
          error={errors.type}
          options={p.endpoint.events.map((name) => ({ value: name, label: name }))}
        />
        <FormError message={formError} />
        <div class="dialog-actions">
          <Button onClick={p.onClose}>Cancel</Button>
          <Button type="submit" kind="primary" busy={busy}>
            {busy ? 'Sending…' : 'Send Test Event'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function RecoverDialog(p: { endpoint: Endpoint; onClose: () => void; onDone: (count: number, since: string) => void }) {
  const [since, setSince] = useState(toLocalInput(new Date(Date.now() - 24 * 3600_000)));
  const { errors, formError, busy, form, refuse, submit } = useApiForm((path) => (topField(path) === 'since' ? 'since' : null));
  const recover = (e: Event) => {
    e.preventDefault();
    const when = new Date(since);
    if (!since || Number.isNaN(when.getTime())) return refuse({ since: 'Enter a date and time' });
    void submit(async () => {
      const r = await api<{ count: number }>('POST', `/endpoints/${encodeURIComponent(p.endpoint.id)}/recover`, { since: when.toISOString() });
      p.onDone(r.count, when.toISOString());
    });
  };
  return (
    <Dialog title="Recover failed deliveries" onClose={p.onClose}>
      <form ref={form} onSubmit={recover} noValidate>
        <p>
          Re-send every delivery to <strong class="wrap">{p.endpoint.url}</strong> that failed since a time you choose, for example after
          your server was down.
        </p>
        <TextField label="Failed since" type="datetime-local" value={since} onValue={setSince} error={errors.since} hint="In your time zone." />
        <FormError message={formError} />
        <div class="dialog-actions">
          <Button onClick={p.onClose}>Cancel</Button>
          <Button type="submit" kind="primary" busy={busy}>
            {busy ? 'Recovering…' : 'Recover'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
