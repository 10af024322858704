// The Settings pages: a single-page app under /portal with two pages, Webhooks and API Settings, signed in
// by a one-time link whose token is in the fragment (never sent to a server). The fragment is removed from
// the address bar before anything else runs, so the token is not left in history, and later URLs carry no
// secret.
import { render, type ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './styles.css';
import { onSessionEnded } from './api';
import { Button, StatusLine } from './components';
import { ApiSettingsPage } from './pages/api-settings';
import { WebhooksPage } from './pages/webhooks';
import { currentSession, signInWithLink, SignInError, signOut, type Session, type SignInFailure } from './session';

export const BASE = '/portal';
type Page = 'sign-in' | 'webhooks' | 'api-settings' | 'not-found';

const PAGES: Record<string, Page> = {
  [`${BASE}/sign-in`]: 'sign-in',
  [`${BASE}/webhooks`]: 'webhooks',
  [`${BASE}/api-settings`]: 'api-settings',
};
const TITLES: Record<Page, string> = {
  'sign-in': 'Signing in',
  webhooks: 'Webhooks',
  'api-settings': 'API Settings',
  'not-found': 'Page not found',
};

const pageOf = () => PAGES[location.pathname.replace(/\/+$/, '')] ?? 'not-found';

/** Moves to another page of the app without reloading it. */
export function navigate(path: string): void {
  history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

// Read the one-time token and take it out of the address bar at once.
const linkToken = (() => {
  if (pageOf() !== 'sign-in') return null;
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  history.replaceState(null, '', `${BASE}/sign-in`);
  return token ?? '';
})();

// A new link opened in a tab already showing these pages changes only the fragment, which loads nothing:
// start over with it.
window.addEventListener('hashchange', () => {
  if (/(^#|&)token=/.test(location.hash)) location.reload();
});

const FAILURES: Record<SignInFailure, { title: string; body: string }> = {
  used: {
    title: 'This sign-in link was already used',
    body: 'Each link opens the Settings pages once. Open them again from your platform’s settings page to get a new link.',
  },
  expired: {
    title: 'This sign-in link has expired',
    body: 'Links are valid for a few minutes. Open the Settings pages again from your platform’s settings page to get a new link.',
  },
  invalid: {
    title: 'This sign-in link is not valid',
    body: 'Check that the whole link was copied, or open the Settings pages again from your platform’s settings page.',
  },
  missing: {
    title: 'This sign-in link is incomplete',
    body: 'The link has no sign-in token. Open the Settings pages again from your platform’s settings page.',
  },
  unavailable: {
    title: 'The Settings pages are unavailable',
    body: 'The server could not be reached. Try the link again in a moment.',
  },
};

function Message({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Settings`;
  }, [title]);
  return (
    <main id="main" class="message-page">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

function NavLink({ page, current, children }: { page: Page; current: Page; children: string }) {
  return (
    <a
      href={`${BASE}/${page}`}
      aria-current={page === current ? 'page' : undefined}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        if (page !== current) navigate(`${BASE}/${page}`);
      }}
    >
      {children}
    </a>
  );
}

function App() {
  const [page, setPage] = useState<Page>(pageOf);
  const [session, setSession] = useState<Session | null>(() => (linkToken === null ? currentSession() : null));
  const [signIn, setSignIn] = useState<'working' | SignInFailure | null>(linkToken === null ? null : 'working');
  const [ended, setEnded] = useState(false);
  const main = useRef<HTMLElement>(null);
  const navigated = useRef(false);

  useEffect(() => {
    const onPop = () => {
      navigated.current = true;
      setPage(pageOf());
    };
    window.addEventListener('popstate', onPop);
    onSessionEnded(() => {
      setSession(null);
      setEnded(true);
    });
    if (linkToken !== null) {
      if (!linkToken) setSignIn('missing');
      else
        signInWithLink(linkToken).then(
          (s) => {
            history.replaceState(null, '', `${BASE}/webhooks`);
            setSession(s);
            setSignIn(null);
            setPage('webhooks');
          },
          (err: unknown) => setSignIn(err instanceof SignInError ? err.reason : 'unavailable'),
        );
    }
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    if (session) document.title = `${TITLES[page]} · Settings`;
    // After moving to another page, put focus on its heading so screen readers start there.
    if (navigated.current) main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [page, session]);

  if (signIn === 'working') {
    return (
      <Message title="Signing you in…">
        <p aria-busy="true">Opening your Settings pages.</p>
      </Message>
    );
  }
  if (signIn) {
    const f = FAILURES[signIn];
    return (
      <Message title={f.title}>
        <p>{f.body}</p>
      </Message>
    );
  }
  if (!session) {
    return (
      <Message title={ended ? 'Your session has ended' : 'You are signed out'}>
        <p>
          Open the Settings pages again from your platform’s settings page. Each sign-in link opens them once and is valid for a few
          minutes; a session lasts about an hour.
        </p>
      </Message>
    );
  }

  const current = page === 'sign-in' ? 'webhooks' : page;
  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          main.current?.querySelector<HTMLElement>('h1')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <p class="brand">
            Settings<span class="tenant-name"> · {session.tenant.name}</span>
          </p>
          <nav aria-label="Settings pages">
            <ul>
              <li>
                <NavLink page="webhooks" current={current}>
                  Webhooks
                </NavLink>
              </li>
              <li>
                <NavLink page="api-settings" current={current}>
                  API Settings
                </NavLink>
              </li>
            </ul>
          </nav>
          <Button
            kind="link"
            onClick={() =>
              void signOut().then(() => {
                setEnded(false);
                setSession(null);
              })
            }
          >
            Sign out
          </Button>
        </div>
      </header>
      <main id="main" ref={main}>
        {current === 'webhooks' && <WebhooksPage session={session} />}
        {current === 'api-settings' && <ApiSettingsPage session={session} />}
        {current === 'not-found' && (
          <>
            <h1 tabIndex={-1}>Page not found</h1>
            <p>
              There is no such Settings page. Go to <NavLink page="webhooks" current={current}>Webhooks</NavLink> or{' '}
              <NavLink page="api-settings" current={current}>API Settings</NavLink>.
            </p>
          </>
        )}
      </main>
      <StatusLine />
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" line index.html shows until this script runs
render(<App />, root);
