/**
 * The account page's sign-in methods: the GitHub and GitLab accounts linked, each unlinkable
 * unless it is the last way in, and "Link" for the providers configured and not linked yet (a
 * full-page trip to the provider; an account with a password confirms it on /login/link).
 */
import { api, get } from "../api.ts";
import { AuthProviders, Identities, LinkStart, oauthErrors, providerLabel } from "../oauth-contracts.ts";
import { ErrorNote, Time, useAction, useAsync } from "../ui.tsx";

export function SignInMethods() {
  const identities = useAsync(() => Promise.all([get("/v1/me/identities", Identities), get("/v1/auth/providers", AuthProviders)]), []);
  const [run, busy, error] = useAction();
  const [data, providers] = identities.data ?? [];
  const query = new URLSearchParams(location.search);
  const reason = query.get("oauth_error");
  const linked = query.get("linked");
  const unlink = (provider: "github" | "gitlab") =>
    void run(async () => {
      if (!confirm(`Stop signing in with ${providerLabel[provider]}?`)) return;
      await api("DELETE", `/v1/me/identities/${provider}`);
      identities.reload();
    });
  const link = (provider: "github" | "gitlab") =>
    void run(async () => {
      const { url } = await api("POST", `/v1/me/identities/${provider}`, LinkStart);
      location.assign(url);
    });
  const unlinked = (providers?.oauth ?? []).filter((p) => !data?.items.some((i) => i.provider === p));
  return (
    <div class="card stack">
      <h2>Sign-in methods</h2>
      {reason && <ErrorNote error={oauthErrors[reason] ?? "Linking failed. Try again."} />}
      {linked === "github" || linked === "gitlab" ? <p role="status">{providerLabel[linked]} is linked: it signs you in from now on.</p> : null}
      <ErrorNote error={identities.error ?? error} />
      {data && (
        <>
          <p>{data.hasPassword ? "Email and password." : "This account has no password: it signs in only with the accounts below."}</p>
          {data.items.length > 0 && (
            <ul>
              {data.items.map((i) => (
                <li key={i.provider}>
                  {providerLabel[i.provider]}: <strong>{i.login}</strong>
                  {i.email ? ` (${i.email})` : ""}, linked <Time at={i.linkedAt} />{" "}
                  <button type="button" disabled={busy || (!data.hasPassword && data.items.length < 2)} onClick={() => unlink(i.provider)}>
                    Unlink {providerLabel[i.provider]}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {unlinked.map((p) => (
            <button key={p} type="button" disabled={busy} onClick={() => link(p)}>
              Link {providerLabel[p]}
            </button>
          ))}
        </>
      )}
    </div>
  );
}
