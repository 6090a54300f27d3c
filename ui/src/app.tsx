/** The console's frame: session, navigation, theme, and the page the hash names. */
import { useEffect, useState } from 'preact/hooks';
import { call, setCsrf, whenSignedOut, type Session } from './api.js';
import { href, useRoute } from './hooks.js';
import { AuditPage } from './pages/audit.js';
import { KeysPage } from './pages/keys.js';
import { LeasesPage } from './pages/leases.js';
import { LineagePage } from './pages/lineage.js';
import { PinsPage } from './pages/pins.js';
import { PoolsPage } from './pages/pools.js';
import { SignInPage } from './pages/signin.js';

const PAGES = [
  ['pools', 'Pools'],
  ['leases', 'Leases'],
  ['pins', 'Pins'],
  ['audit', 'Audit'],
  ['keys', 'Keys'],
  ['lineage', 'Lineage'],
] as const;

function initialTheme(): string {
  const saved = localStorage.getItem('snowgate-theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

async function loadSession(): Promise<Session> {
  const res = await fetch('/ui/session', { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error(`the registry answered ${res.status}`);
  return (await res.json()) as Session;
}

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [theme, setTheme] = useState(initialTheme);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('snowgate-theme', theme);
  }, [theme]);
  const refreshSession = () => {
    loadSession()
      .then((s) => {
        setCsrf(s.csrf ?? '');
        setSession(s);
      })
      .catch((e: unknown) => setError(String(e)));
  };
  useEffect(() => {
    refreshSession();
    whenSignedOut(refreshSession);
  }, []);

  if (error)
    return (
      <p class="problem" role="alert">
        {error}
      </p>
    );
  if (!session) return <p class="hint">Loading…</p>;
  if (!session.signedIn) {
    return (
      <SignInPage
        session={session}
        signedIn={(s) => {
          setCsrf(s.csrf ?? '');
          history.replaceState(null, '', location.pathname + location.hash);
          setSession(s);
        }}
      />
    );
  }
  const signOut = () => {
    void call('DELETE', '/ui/session').finally(refreshSession);
  };
  const page = route.page;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">snowgate</span>
        <nav aria-label="Console">
          {PAGES.map(([id, label]) => (
            <a key={id} href={href(id)} aria-current={page === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.actor}
          {session.role === 'viewer' ? ' (viewer: read-only)' : ''}
        </span>
        <button
          type="button"
          onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          aria-label={`${theme === 'dark' ? 'Light' : 'Dark'} theme`}
        >
          {theme === 'dark' ? 'Light' : 'Dark'}
        </button>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'pools' && <PoolsPage route={route} theme={theme} />}
        {page === 'leases' && <LeasesPage route={route} />}
        {page === 'pins' && <PinsPage route={route} />}
        {page === 'audit' && <AuditPage route={route} />}
        {page === 'keys' && <KeysPage />}
        {page === 'lineage' && <LineagePage route={route} />}
        {!PAGES.some(([id]) => id === page) && <p class="hint">No page “{page}”.</p>}
      </main>
    </>
  );
}
