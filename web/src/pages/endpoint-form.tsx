// Add Endpoint and Edit endpoint: URL, description, the event types (a multi-select of the catalog with
// what each one means), an optional score threshold and filter. The API validates; its field errors are
// shown beside their fields.
import { useState } from 'preact/hooks';
import { api, topField, type Endpoint, type EventType } from '../api';
import { Button, Dialog, FormError, TextAreaField, TextField, useApiForm } from '../components';
import { composeFilter, SCORE_CHANGED, splitFilter, type Filter } from '../filter-form';

type Fields = 'url' | 'description' | 'events' | 'score_threshold' | 'filter';

function fieldOf(path: string): Fields | null {
  if (path.includes('score_threshold')) return 'score_threshold';
  const top = topField(path);
  return top === 'url' || top === 'description' || top === 'events' || top === 'filter' ? top : null;
}

export function EndpointForm(p: {
  eventTypes: EventType[];
  endpoint?: Endpoint;
  onSaved: (endpoint: Endpoint, secret: string | null) => void;
  onClose: () => void;
}) {
  const initial = splitFilter(p.endpoint?.filter ?? null);
  const [url, setUrl] = useState(p.endpoint?.url ?? '');
  const [description, setDescription] = useState(p.endpoint?.description ?? '');
  const [events, setEvents] = useState<string[]>(p.endpoint?.events ?? []);
  const [threshold, setThreshold] = useState(initial.threshold === null ? '' : String(initial.threshold));
  const [filterText, setFilterText] = useState(initial.own ? JSON.stringify(initial.own, null, 2) : '');
  const { errors, formError, busy, form, refuse, submit: send } = useApiForm(fieldOf);
  const editing = p.endpoint !== undefined;

  const toggle = (name: string, on: boolean) =>
    setEvents((prev) => (on ? p.eventTypes.map((t) => t.name).filter((n) => n === name || prev.includes(n)) : prev.filter((n) => n !== name)));

  const submit = async (e: Event) => {
    e.preventDefault();
    // The form reads the two inputs the API cannot: the filter's JSON text and the threshold's number.
    const local: Partial<Record<Fields, string>> = {};
    let own: Filter | null = null;
    if (filterText.trim()) {
      try {
        const parsed: unknown = JSON.parse(filterText);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) local.filter = 'Must be a JSON object, e.g. {"data.score": {"$gte": 80}}';
        else own = parsed as Filter;
      } catch (err) {
        local.filter = `Not valid JSON: ${(err as Error).message}`;
      }
    }
    const t = threshold.trim() === '' ? null : Number(threshold);
    if (t !== null && !Number.isFinite(t)) local.score_threshold = 'Must be a number, e.g. 80';
    if (Object.keys(local).length > 0) return refuse(local);
    const body: Record<string, unknown> = {
      url: url.trim(),
      events,
      description: description.trim() === '' ? null : description.trim(),
      filter: composeFilter(own, t, events),
    };
    await send(async () => {
      if (editing) {
        const saved = await api<Endpoint>('PATCH', `/endpoints/${encodeURIComponent(p.endpoint!.id)}`, body);
        p.onSaved(saved, null);
      } else {
        const created = await api<Endpoint & { secret: string }>('POST', '/endpoints', body);
        p.onSaved(created, created.secret);
      }
    });
  };

  const eventsError = errors.events;
  return (
    <Dialog title={editing ? 'Edit endpoint' : 'Add Endpoint'} onClose={p.onClose} size="wide">
      <form ref={form} onSubmit={(e) => void submit(e)} noValidate>
        <TextField
          label="Endpoint URL"
          type="url"
          inputMode="url"
          autoComplete="url"
          placeholder="https://example.com/webhooks/anvil"
          hint="The full HTTPS URL that should receive events."
          value={url}
          onValue={setUrl}
          error={errors.url}
          autoFocus
          required
        />
        <TextField label="Description" note="(optional)" value={description} onValue={setDescription} error={errors.description} />
        <fieldset class={`field events-field${eventsError ? ' field-invalid' : ''}`} aria-describedby={eventsError ? 'events-error' : 'events-hint'}>
          <legend>Events</legend>
          <p class="hint" id="events-hint">
            Select the events to subscribe to.
          </p>
          <ul class="event-options">
            {p.eventTypes.map((t) => (
              <li key={t.name}>
                <input
                  type="checkbox"
                  id={`event-${t.name}`}
                  checked={events.includes(t.name)}
                  onChange={(e) => toggle(t.name, e.currentTarget.checked)}
                  aria-describedby={`event-${t.name}-desc`}
                  aria-invalid={eventsError ? 'true' : undefined}
                />
                <label for={`event-${t.name}`}>
                  <code>{t.name}</code>
                </label>
                <span class="event-description" id={`event-${t.name}-desc`}>
                  {t.description}
                </span>
              </li>
            ))}
          </ul>
          {eventsError && (
            <p class="field-error" id="events-error">
              {eventsError}
            </p>
          )}
        </fieldset>
        <TextField
          label="Score threshold"
          note="(optional)"
          type="number"
          inputMode="decimal"
          value={threshold}
          onValue={setThreshold}
          error={errors.score_threshold}
          hint={
            <>
              For <code>{SCORE_CHANGED}</code>: deliver it only when the intent score crosses this value, e.g. 80. Other event types are not
              affected.
            </>
          }
        />
        <TextAreaField
          label="Filter"
          note="(optional, JSON)"
          mono
          rows={3}
          value={filterText}
          onValue={setFilterText}
          error={errors.filter}
          placeholder='{"data.score": {"$gte": 80}}'
          hint={
            <>
              Deliver only events that match, e.g. <code>{'{"data.score": {"$gte": 80}}'}</code>. Operators: $eq $neq $gt $gte $lt $lte $in
              $nin $exists $and $or.
            </>
          }
        />
        <FormError message={formError} />
        <div class="dialog-actions">
          <Button onClick={p.onClose}>Cancel</Button>
          <Button type="submit" kind="primary" busy={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Add Endpoint'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
