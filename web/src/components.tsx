// The building blocks every page shares: labelled fields whose API errors sit beside them, modal dialogs
// that return focus, confirmations for destructive actions, Copy, secrets revealed on demand, and a
// status line that screen readers announce.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { STATUS_LABELS } from './format';
import { formErrors, type DeliveryStatus } from './api';

// --- announcements -------------------------------------------------------------------------------
let announceTo: (message: string) => void = () => {};
/** Shows a short message in the status line and has screen readers read it. */
export function announce(message: string): void {
  announceTo(message);
}

export function StatusLine() {
  const [message, setMessage] = useState('');
  useEffect(() => {
    let timer: number | undefined;
    announceTo = (m) => {
      window.clearTimeout(timer);
      setMessage(m);
      timer = window.setTimeout(() => setMessage(''), 4000);
    };
    return () => window.clearTimeout(timer);
  }, []);
  return (
    <div class="status-line" role="status" aria-live="polite">
      {message}
    </div>
  );
}

// --- fields --------------------------------------------------------------------------------------
interface FieldBase {
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  /** Shown after the label, e.g. "(optional)". */
  note?: string;
}

function useDescribedBy(error: string | undefined, hint: ComponentChildren) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  return { id, hintId, errorId, describedBy: [hintId, errorId].filter(Boolean).join(' ') || undefined };
}

function FieldFrame(p: FieldBase & { id: string; hintId?: string | undefined; errorId?: string | undefined; children: ComponentChildren }) {
  return (
    <div class={`field${p.error ? ' field-invalid' : ''}`}>
      <label for={p.id}>
        {p.label}
        {p.note && <span class="field-note"> {p.note}</span>}
      </label>
      {p.hint && (
        <p class="hint" id={p.hintId}>
          {p.hint}
        </p>
      )}
      {p.children}
      {p.error && (
        <p class="field-error" id={p.errorId}>
          {p.error}
        </p>
      )}
    </div>
  );
}

interface InputProps {
  type?: 'text' | 'url' | 'number' | 'datetime-local';
  inputMode?: 'text' | 'url' | 'decimal';
  autoComplete?: string;
  placeholder?: string;
  autoFocus?: boolean;
  required?: boolean;
  spellcheck?: boolean;
}

export function TextField(p: FieldBase & InputProps & { value: string; onValue: (v: string) => void }) {
  const { label, error, hint, note, value, onValue, type = 'text', autoFocus, ...rest } = p;
  const ids = useDescribedBy(error, hint);
  return (
    <FieldFrame label={label} error={error} hint={hint} note={note} {...ids}>
      <input
        {...rest}
        // Preact's input types are a union per `type` literal; one value at run time is one of them.
        type={type as 'text'}
        data-autofocus={autoFocus ? '' : undefined}
        id={ids.id}
        value={value}
        onInput={(e) => onValue(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={ids.describedBy}
      />
    </FieldFrame>
  );
}

export function TextAreaField(
  p: FieldBase & { value: string; onValue?: (v: string) => void; rows?: number; readOnly?: boolean; placeholder?: string; mono?: boolean },
) {
  const ids = useDescribedBy(p.error, p.hint);
  return (
    <FieldFrame label={p.label} error={p.error} hint={p.hint} note={p.note} {...ids}>
      <textarea
        id={ids.id}
        class={p.mono ? 'mono' : undefined}
        rows={p.rows ?? 4}
        value={p.value}
        readOnly={p.readOnly}
        placeholder={p.placeholder}
        spellcheck={false}
        onInput={(e) => p.onValue?.(e.currentTarget.value)}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={ids.describedBy}
      />
    </FieldFrame>
  );
}

export function SelectField(
  p: FieldBase & { value: string; onValue: (v: string) => void; options: { value: string; label: string }[]; name?: string },
) {
  const ids = useDescribedBy(p.error, p.hint);
  return (
    <FieldFrame label={p.label} error={p.error} hint={p.hint} note={p.note} {...ids}>
      <select
        id={ids.id}
        name={p.name}
        value={p.value}
        onChange={(e) => p.onValue(e.currentTarget.value)}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={ids.describedBy}
      >
        {p.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

/** Puts keyboard focus on the first field the API refused, so the error is read at once. */
export function focusFirstInvalid(form: HTMLElement | null): void {
  window.requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
}

/**
 * A form whose submit is an API call: busy while it runs; on a refusal, the API's field errors go to their
 * fields (through `fieldOf`), the rest to the form, and focus to the first refused field.
 */
export function useApiForm<F extends string>(fieldOf: (path: string) => F | null) {
  const [errors, setErrors] = useState<Partial<Record<F, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  /** Refuses the submit without calling the API (what only the page can check, e.g. JSON syntax). */
  const refuse = (fields: Partial<Record<F, string>>) => {
    setErrors(fields);
    setFormError(null);
    focusFirstInvalid(form.current);
  };
  const submit = async (call: () => Promise<void>) => {
    setBusy(true);
    setFormError(null);
    try {
      await call();
      setErrors({});
    } catch (err) {
      const r = formErrors(err, fieldOf);
      setErrors(r.fields as Partial<Record<F, string>>);
      setFormError(r.form);
      focusFirstInvalid(form.current);
    } finally {
      setBusy(false);
    }
  };
  return { errors, formError, busy, form, refuse, submit };
}

export function FormError({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return (
    <p class="alert alert-error" role="alert">
      {message}
    </p>
  );
}

// --- buttons ---------------------------------------------------------------------------------------
type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'secondary' | 'danger' | 'link'; busy?: boolean };

export function Button({ kind = 'secondary', busy, children, disabled, autoFocus, ...rest }: ButtonProps) {
  return (
    <button type="button" {...rest} data-autofocus={autoFocus ? '' : undefined} class={`btn btn-${kind}`} disabled={disabled || busy} aria-busy={busy ? 'true' : undefined}>
      {children}
    </button>
  );
}

async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Embedded without allow="clipboard-write", or an older browser: copy through a selection.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

/** Copies a value (or one loaded on demand) and says so. */
export function CopyButton({ value, what, label = 'Copy' }: { value: string | (() => Promise<string>); what: string; label?: string }) {
  const [busy, setBusy] = useState(false);
  const copy = async () => {
    setBusy(true);
    try {
      const text = typeof value === 'string' ? value : await value();
      announce((await writeClipboard(text)) ? `${what} copied to the clipboard.` : `Could not copy the ${what.toLowerCase()}: select it and copy it yourself.`);
    } catch (err) {
      announce(`Could not load the ${what.toLowerCase()}: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button onClick={() => void copy()} busy={busy}>
      {label}
    </Button>
  );
}

/**
 * A secret shown only when asked for: `load` fetches it on Reveal (or Copy); `value` is a secret the page
 * already holds (just created), shown at once.
 */
export function SecretField(p: { label: string; what: string; load?: () => Promise<string>; value?: string | null; hint?: ComponentChildren }) {
  const [value, setValue] = useState<string | null>(p.value ?? null);
  const [shown, setShown] = useState(p.value != null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  useEffect(() => {
    if (p.value !== undefined) setValue(p.value);
  }, [p.value]);
  const get = async (): Promise<string> => {
    if (value) return value;
    if (!p.load) throw new Error('nothing to show');
    const v = await p.load();
    setValue(v);
    return v;
  };
  const reveal = async () => {
    if (shown) return setShown(false);
    setBusy(true);
    setError(undefined);
    try {
      await get();
      setShown(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const describedBy = [p.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field secret-field">
      <label for={id}>{p.label}</label>
      {p.hint && (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      )}
      <div class="secret-row">
        <input
          id={id}
          class="mono secret-value"
          readOnly
          value={shown && value ? value : ''}
          placeholder={shown ? '' : '•••••••••••••••• hidden'}
          aria-describedby={describedBy}
        />
        <div class="button-row">
          <Button onClick={() => void reveal()} busy={busy} aria-pressed={shown ? 'true' : 'false'}>
            {shown ? 'Hide' : 'Reveal'}
          </Button>
          <CopyButton value={get} what={p.what} />
        </div>
      </div>
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

// --- dialogs ---------------------------------------------------------------------------------------
/** A modal dialog: focus goes to its `autoFocus` control; Escape or Cancel closes it, focus returns to what opened it. */
export function Dialog({ title, onClose, children, size }: { title: string; onClose: () => void; children: ComponentChildren; size?: 'wide' }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;
  // A layout effect: its cleanup runs while the dialog is still in the document (a passive one runs after
  // paint), so closing it hands focus back before anything else can take it.
  useLayoutEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    // Not the autofocus attribute: browsers ignore it (and complain) inside a cross-origin iframe, where
    // the platform embeds these pages; focusing in answer to the click that opened the dialog works.
    dialog.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    const onCancel = (e: Event) => {
      e.preventDefault();
      close.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={titleId} class={size === 'wide' ? 'dialog dialog-wide' : 'dialog'}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

/** "Are you sure?" for destructive actions; Cancel has the focus, so Enter alone does no harm. */
export function ConfirmDialog(p: {
  title: string;
  confirmLabel: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await p.onConfirm();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  return (
    <Dialog title={p.title} onClose={p.onClose}>
      <div class="dialog-body">{p.children}</div>
      <FormError message={error} />
      <div class="dialog-actions">
        <Button onClick={p.onClose} autoFocus>
          Cancel
        </Button>
        <Button kind={p.danger === false ? 'primary' : 'danger'} onClick={() => void confirm()} busy={busy}>
          {busy ? `${p.confirmLabel}…` : p.confirmLabel}
        </Button>
      </div>
    </Dialog>
  );
}

// --- status ----------------------------------------------------------------------------------------
export function StatusBadge({ status }: { status: DeliveryStatus }) {
  return <span class={`badge badge-${status}`}>{STATUS_LABELS[status]}</span>;
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children}
    </div>
  );
}
