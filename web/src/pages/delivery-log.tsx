// Settings > Webhooks > Delivery Log: every delivery, filtered by endpoint, status, event type or event id;
// each one's attempts (time, status code, duration, error, response excerpt); Retry now for a delivery
// waiting on its next attempt, Re-send for a finished one. It refreshes by itself every few seconds while
// the page is visible (and can be paused), so a test event appears without a reload.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  DELIVERY_STATUSES,
  type DeliveryDetail,
  type DeliverySummary,
  type Endpoint,
  type EventType,
} from '../api';
import { announce, Button, EmptyState, FormError, SelectField, StatusBadge, TextField } from '../components';
import { formatDuration, formatTime, STATUS_LABELS } from '../format';

const REFRESH_MS = 3000;
/** The endpoint id classic actions (API Settings) are logged under. */
const CLASSIC = 'classic';
const PAGE_SIZE = 20;

interface Filters {
  endpoint_id: string;
  status: string;
  event_type: string;
  event_id: string;
}
const FILTER_KEYS: (keyof Filters)[] = ['endpoint_id', 'status', 'event_type', 'event_id'];

function filtersFromUrl(): Filters {
  const q = new URLSearchParams(location.search);
  return { endpoint_id: q.get('endpoint_id') ?? '', status: q.get('status') ?? '', event_type: q.get('event_type') ?? '', event_id: q.get('event_id') ?? '' };
}

function queryOf(f: Filters): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) q.set(k, f[k]);
  return q;
}

type Detail = DeliveryDetail | 'loading' | { error: string };

export function DeliveryLog(p: { endpoints: Endpoint[]; eventTypes: EventType[]; version: number; onChange: () => void }) {
  const [filters, setFilters] = useState<Filters>(filtersFromUrl);
  const [eventIdText, setEventIdText] = useState(filters.event_id);
  const [head, setHead] = useState<DeliverySummary[] | null>(null);
  const [older, setOlder] = useState<DeliverySummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<Partial<Record<keyof Filters, string>>>({});
  const [unknownId, setUnknownId] = useState<string | null>(null);
  const [auto, setAuto] = useState(true);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [details, setDetails] = useState<Record<string, Detail>>({});
  const [busyId, setBusyId] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const seen = useRef('');
  const onChange = useRef(p.onChange);
  onChange.current = p.onChange;
  const expandedIds = useRef<string[]>([]);
  expandedIds.current = Object.keys(details);

  const endpointUrl = (id: string | null) =>
    id === CLASSIC ? 'your webhook URL (API Settings)' : (p.endpoints.find((e) => e.id === id)?.url ?? id ?? 'an unknown endpoint');
  const knownEndpoint = (id: string) => id === CLASSIC || p.endpoints.some((e) => e.id === id);

  const loadDetail = useCallback(async (id: string) => {
    try {
      const d = await api<DeliveryDetail>('GET', `/deliveries/${encodeURIComponent(id)}`);
      setDetails((all) => (id in all ? { ...all, [id]: d } : all));
    } catch (err) {
      setDetails((all) => (id in all ? { ...all, [id]: { error: (err as Error).message } } : all));
    }
  }, []);

  const refresh = useCallback(async () => {
    const q = queryOf(filters);
    q.set('limit', String(PAGE_SIZE));
    try {
      const page = await api<{ data: DeliverySummary[]; next_cursor: string | null }>('GET', `/deliveries?${q}`);
      let unknown: string | null = null;
      if (page.data.length === 0) {
        // Say plainly when an id in the filters is not this account's (the API never shows another's).
        if (filters.endpoint_id && !knownEndpoint(filters.endpoint_id)) {
          unknown = `Endpoint ${filters.endpoint_id} is not one of your endpoints.`;
        } else if (filters.event_id) {
          await api('GET', `/events/${encodeURIComponent(filters.event_id)}`).catch((err: unknown) => {
            if (err instanceof ApiError && err.status === 404) unknown = `There is no event ${filters.event_id} in your account.`;
          });
        }
      }
      setUnknownId(unknown);
      setHead(page.data);
      setCursor((c) => (older.length === 0 ? page.next_cursor : c));
      setError(null);
      setFieldError({});
      setUpdatedAt(new Date());
      const fingerprint = JSON.stringify(page.data);
      if (fingerprint !== seen.current) {
        seen.current = fingerprint;
        onChange.current();
      }
      await Promise.all(expandedIds.current.map((id) => loadDetail(id)));
    } catch (err) {
      if (err instanceof ApiError && err.details.length > 0) {
        const fields: Partial<Record<keyof Filters, string>> = {};
        for (const d of err.details) if ((FILTER_KEYS as string[]).includes(d.path)) fields[d.path as keyof Filters] = d.message;
        setFieldError(fields);
      }
      setError((err as Error).message);
    }
  }, [filters, p.endpoints, older.length, loadDetail]);

  // Load on every change of filters (and when the page asks, e.g. after Send Test Event).
  useEffect(() => {
    void refresh();
  }, [refresh, p.version]);

  // …and every few seconds while visible.
  useEffect(() => {
    if (!auto) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [auto, refresh]);

  const apply = (next: Filters) => {
    setFilters(next);
    setOlder([]);
    setCursor(null);
    setHead(null);
    const q = queryOf(next).toString();
    history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
  };
  const set = (key: keyof Filters, value: string) => apply({ ...filters, [key]: value });

  const loadOlder = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const q = queryOf(filters);
      q.set('limit', String(PAGE_SIZE));
      q.set('cursor', cursor);
      const page = await api<{ data: DeliverySummary[]; next_cursor: string | null }>('GET', `/deliveries?${q}`);
      setOlder((o) => [...o, ...page.data]);
      setCursor(page.next_cursor);
    } catch (err) {
      announce(`Could not load older deliveries: ${(err as Error).message}`);
    } finally {
      setLoadingMore(false);
    }
  };

  const toggle = (id: string) => {
    if (id in details) {
      setDetails(({ [id]: _gone, ...rest }) => rest);
    } else {
      setDetails((all) => ({ ...all, [id]: 'loading' }));
      void loadDetail(id);
    }
  };

  const retry = async (d: DeliverySummary) => {
    setBusyId(d.id);
    try {
      const r = await api<{ retry: 'attempting_now' | 'resent' }>('POST', `/deliveries/${encodeURIComponent(d.id)}/retry`);
      announce(r.retry === 'attempting_now' ? `Retrying ${d.event_id ?? d.id} now.` : `Re-sending ${d.event_id ?? d.id}.`);
      window.setTimeout(() => void refresh(), 600);
    } catch (err) {
      announce(`Could not retry ${d.event_id ?? d.id}: ${(err as Error).message}`);
    } finally {
      setBusyId(null);
    }
  };

  const rows = head === null ? null : [...head, ...older.filter((o) => !head.some((h) => h.id === o.id))];
  const filtered = FILTER_KEYS.some((k) => filters[k]);
  const endpointOptions = [
    { value: '', label: 'All endpoints' },
    ...p.endpoints.map((e) => ({ value: e.id, label: e.url })),
    { value: CLASSIC, label: 'Classic webhooks (API Settings)' },
    ...(filters.endpoint_id && !knownEndpoint(filters.endpoint_id) ? [{ value: filters.endpoint_id, label: filters.endpoint_id }] : []),
  ];

  return (
    <section aria-labelledby="log-heading" class="card-section">
      <div class="section-head">
        <h2 id="log-heading">Delivery Log</h2>
        <div class="refresh-controls">
          <span class="muted" aria-hidden="true">
            {updatedAt ? `Updated ${updatedAt.toLocaleTimeString()}` : ''}
          </span>
          <label class="inline-check">
            <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.currentTarget.checked)} /> Refresh automatically
          </label>
          <Button onClick={() => void refresh()}>Refresh</Button>
        </div>
      </div>
      <form
        class="filters"
        role="search"
        aria-label="Filter deliveries"
        onSubmit={(e) => {
          e.preventDefault();
          set('event_id', eventIdText.trim());
        }}
      >
        <SelectField label="Endpoint" value={filters.endpoint_id} onValue={(v) => set('endpoint_id', v)} options={endpointOptions} error={fieldError.endpoint_id} />
        <SelectField
          label="Status"
          value={filters.status}
          onValue={(v) => set('status', v)}
          error={fieldError.status}
          options={[{ value: '', label: 'Any status' }, ...DELIVERY_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s] }))]}
        />
        <SelectField
          label="Event type"
          value={filters.event_type}
          onValue={(v) => set('event_type', v)}
          error={fieldError.event_type}
          options={[{ value: '', label: 'Any event type' }, ...p.eventTypes.map((t) => ({ value: t.name, label: t.name }))]}
        />
        <TextField label="Event ID" value={eventIdText} onValue={setEventIdText} placeholder="evt_…" error={fieldError.event_id} spellcheck={false} />
        <div class="filter-actions">
          <Button type="submit">Apply</Button>
          {filtered && (
            <Button
              onClick={() => {
                setEventIdText('');
                apply({ endpoint_id: '', status: '', event_type: '', event_id: '' });
              }}
            >
              Clear filters
            </Button>
          )}
        </div>
      </form>

      {error && <FormError message={`Could not load the Delivery Log: ${error}`} />}
      {rows === null && !error && <p aria-busy="true">Loading deliveries…</p>}
      {rows !== null && rows.length === 0 && (
        <EmptyState title={unknownId ?? (filtered ? 'No deliveries match these filters' : 'No deliveries yet')}>
          <p>
            {unknownId
              ? 'Check the id, or clear the filters to see all of your deliveries.'
              : filtered
                ? 'Try other filters, or clear them to see every delivery.'
                : 'Use Send Test Event on an endpoint: the delivery appears here within a few seconds.'}
          </p>
        </EmptyState>
      )}
      {rows !== null && rows.length > 0 && (
        <ul class="deliveries" aria-label="Deliveries">
          {rows.map((d) => {
            const detail = details[d.id];
            const panelId = `attempts-${d.id.replace(/[^A-Za-z0-9_-]/g, '-')}`;
            const finished = d.status === 'succeeded' || d.status === 'failed' || d.status === 'canceled';
            return (
              <li key={d.id} class="delivery">
                <div class="delivery-summary">
                  <StatusBadge status={d.status} />
                  <span class="delivery-type">
                    <code>{d.event_type ?? 'classic action'}</code>
                  </span>
                  <span class="delivery-event">
                    <code>{d.event_id}</code>
                  </span>
                  <span class="delivery-target">to {endpointUrl(d.endpoint_id)}</span>
                  <span class="delivery-attempts">
                    {d.attempts} attempt{d.attempts === 1 ? '' : 's'}
                    {d.last_status_code !== null ? `, last answer ${d.last_status_code}` : ''}
                  </span>
                  <span class="delivery-time">
                    <time dateTime={d.created_at}>{formatTime(d.created_at)}</time>
                    {d.next_attempt_at && (
                      <>
                        {' · next attempt '}
                        <time dateTime={d.next_attempt_at}>{formatTime(d.next_attempt_at)}</time>
                      </>
                    )}
                  </span>
                  <span class="button-row delivery-actions">
                    <Button aria-expanded={detail ? 'true' : 'false'} aria-controls={panelId} onClick={() => toggle(d.id)}>
                      Attempts
                    </Button>
                    {d.status === 'retrying' && (
                      <Button kind="primary" onClick={() => void retry(d)} busy={busyId === d.id}>
                        Retry now
                      </Button>
                    )}
                    {finished && (
                      <Button onClick={() => void retry(d)} busy={busyId === d.id}>
                        Re-send
                      </Button>
                    )}
                  </span>
                </div>
                {detail && (
                  <div id={panelId} class="attempts-panel">
                    {detail === 'loading' && <p aria-busy="true">Loading attempts…</p>}
                    {typeof detail === 'object' && 'error' in detail && <FormError message={`Could not load the attempts: ${detail.error}`} />}
                    {typeof detail === 'object' && 'attempts' in detail && detail.attempts.length === 0 && <p>No attempt yet: the first one starts now.</p>}
                    {typeof detail === 'object' && 'attempts' in detail && detail.attempts.length > 0 && (
                      <ol class="attempts" aria-label={`Attempts for ${d.event_id ?? d.id}`}>
                        {detail.attempts.map((a) => (
                          <li key={`${a.attempt}-${a.at}`} class={a.status_code !== null && a.status_code < 300 ? 'attempt ok' : 'attempt bad'}>
                            <p class="attempt-head">
                              <strong>Attempt {a.attempt}</strong>
                              {a.manual ? ' (retried by hand)' : ''} · <time dateTime={a.at}>{formatTime(a.at)}</time>
                            </p>
                            <dl class="attempt-facts">
                              <div>
                                <dt>Status code</dt>
                                <dd>{a.status_code ?? 'no answer'}</dd>
                              </div>
                              <div>
                                <dt>Duration</dt>
                                <dd>{formatDuration(a.duration_ms)}</dd>
                              </div>
                              {a.error && (
                                <div class="wide">
                                  <dt>Error</dt>
                                  <dd>{a.error}</dd>
                                </div>
                              )}
                              {a.response_excerpt && (
                                <div class="wide">
                                  <dt>Response</dt>
                                  <dd>
                                    <pre>{a.response_excerpt}</pre>
                                  </dd>
                                </div>
                              )}
                            </dl>
                          </li>
                        ))}
                      </ol>
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {rows !== null && cursor && (
        <Button onClick={() => void loadOlder()} busy={loadingMore}>
          {loadingMore ? 'Loading…' : 'Load older deliveries'}
        </Button>
      )}
    </section>
  );
}
