/** Sign-in: through the admin issuer (one click in `snowgate dev`), or with the bootstrap token. */
import { useState } from 'preact/hooks';
import type { Session } from '../api.js';
import { inWords } from '../format.js';
import { Problem } from '../parts/notice.js';

export function SignInPage({ session, signedIn }: { session: Session | undefined; signedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const fromIssuer = new URLSearchParams(location.search).get('signin_error');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const res = await fetch('/ui/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: token.trim() }),
    });
    const body = (await res.json()) as Session & { detail?: string };
    if (!res.ok) {
      setError(new Error(body.detail ?? `sign-in failed (${res.status})`));
      return;
    }
    setToken('');
    signedIn({ ...body, signIn: session?.signIn ?? { oidc: null } });
  };
  return (
    <main id="main" class="signin">
      <h1>snowgate console</h1>
      {fromIssuer && (
        <p class="problem" role="alert">
          Sign-in failed: {fromIssuer}
        </p>
      )}
      {session?.reason && <p class="hint">{session.reason}; sign in again.</p>}
      {session?.signIn.oidc && (
        <p>
          <a class="button primary" href="/ui/auth/login">
            Sign in with {session.signIn.oidc}
          </a>
        </p>
      )}
      <form onSubmit={(e) => void submit(e).catch((err: unknown) => setError(new Error(inWords(err))))} class="create">
        <h2>{session?.signIn.oidc ? 'Or paste an admin token' : 'Paste an admin token'}</h2>
        <label>
          Bootstrap or admin token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            required
          />
        </label>
        <button type="submit">Sign in</button>
        <Problem error={error} />
      </form>
      <p class="hint">The session lives in an HttpOnly cookie; no script on this page can read the token.</p>
    </main>
  );
}
