/**
 * Signing in with GitHub or GitLab on the dashboard: the login page's buttons (only for the
 * providers this instance configures), the reason a sign-in came back refused, and the page that
 * links a provider account to the existing account with its email, with that account's password.
 * The buttons are plain links to the API: the flow is a chain of full-page redirects.
 */
import { useState } from "preact/hooks";
import { get, post } from "../api.ts";
import { Session } from "../contracts.ts";
import { AuthProviders, oauthErrors, PendingLink, providerLabel } from "../oauth-contracts.ts";
import { ErrorNote, Page, useAction, useAsync } from "../ui.tsx";

export function OAuthButtons() {
  const providers = useAsync(() => get("/v1/auth/providers", AuthProviders), []);
  const reason = new URLSearchParams(location.search).get("oauth_error");
  const names = providers.data?.oauth ?? [];
  return (
    <>
      {reason && <ErrorNote error={oauthErrors[reason] ?? "Signing in with the provider failed. Start again."} />}
      {names.length > 0 && (
        <div class="stack oauth">
          {names.map((name) => (
            <a key={name} class="button" href={`/v1/auth/oauth/${name}/start`}>
              Sign in with {providerLabel[name]}
            </a>
          ))}
        </div>
      )}
    </>
  );
}

export function LinkAccountPage({ onSignedIn }: { onSignedIn(): void }) {
  const pending = useAsync(() => get("/v1/auth/oauth/link", PendingLink), []);
  const [run, busy, error] = useAction();
  const [password, setPassword] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await post("/v1/auth/oauth/link", { password }, Session);
      onSignedIn();
    });
  };
  const p = pending.data;
  return (
    <div class="auth">
      <Page title="Link your account">
        {pending.error && (
          <p>
            {pending.error} <a href="/login">Back to log in</a>
          </p>
        )}
        {p && (
          <form class="card stack" onSubmit={submit}>
            <p>
              To link the {providerLabel[p.provider]} account <strong>{p.login}</strong> to the Sparki account <strong>{p.email}</strong>, enter that account's
              password. From then on {providerLabel[p.provider]} signs you in to it.
            </p>
            <label for="password">Password</label>
            <input
              id="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <ErrorNote error={error} />
            <button class="primary" type="submit" disabled={busy}>
              Link and sign in
            </button>
            <p>
              Not yours? <a href="/login">Log in another way</a>
            </p>
          </form>
        )}
      </Page>
    </div>
  );
}
