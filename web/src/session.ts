// The Settings pages session: a bearer token for the public API, obtained once from a one-time link and
// kept in this tab's sessionStorage (never localStorage, never a cookie, never the URL). Browsers that
// deny storage to an embedded page still work: the session then lives in memory for this page view.
export interface Tenant {
  id: string;
  name: string;
  plan: 'pro' | 'enterprise';
}

export interface Session {
  token: string;
  expiresAt: string;
  tenant: Tenant;
}

const STORAGE_KEY = 'anvil.portal.session';
let inMemory: Session | null = null;

function tabStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function isLive(s: Session | null): s is Session {
  return s !== null && Date.parse(s.expiresAt) > Date.now();
}

export function currentSession(): Session | null {
  if (isLive(inMemory)) return inMemory;
  try {
    const raw = tabStorage()?.getItem(STORAGE_KEY);
    const stored = raw ? (JSON.parse(raw) as Session) : null;
    if (isLive(stored)) {
      inMemory = stored;
      return stored;
    }
  } catch {
    // unreadable: treat as signed out
  }
  return null;
}

export function saveSession(s: Session): void {
  inMemory = s;
  try {
    tabStorage()?.setItem(STORAGE_KEY, JSON.stringify(s));
  } catch {
    // storage denied (sandboxed frame): memory only
  }
}

export function clearSession(): void {
  inMemory = null;
  try {
    tabStorage()?.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

export type SignInFailure = 'invalid' | 'used' | 'expired' | 'missing' | 'unavailable';

export class SignInError extends Error {
  constructor(readonly reason: SignInFailure) {
    super(reason);
  }
}

/** Exchanges the link's one-time token for a session. */
export async function signInWithLink(token: string): Promise<Session> {
  let res: Response;
  try {
    res = await fetch('/portal/api/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new SignInError('unavailable');
  }
  const body = (await res.json().catch(() => null)) as
    | { session_token: string; expires_at: string; tenant: Tenant; error?: { code: string } }
    | null;
  if (res.status === 201 && body) {
    const session = { token: body.session_token, expiresAt: body.expires_at, tenant: body.tenant };
    saveSession(session);
    return session;
  }
  const code = body?.error?.code;
  throw new SignInError(code === 'link_used' ? 'used' : code === 'link_expired' ? 'expired' : res.status >= 500 ? 'unavailable' : 'invalid');
}

export async function signOut(): Promise<void> {
  const s = currentSession();
  clearSession();
  if (!s) return;
  await fetch('/portal/api/sign-out', {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}` },
    credentials: 'omit',
  }).catch(() => undefined);
}
