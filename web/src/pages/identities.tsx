/** The account page's sign-in methods: the GitHub and GitLab accounts linked, each unlinkable unless it is the last way in. */
import { api, get } from "../api.ts";
import { Identities, providerLabel } from "../oauth-contracts.ts";
import { ErrorNote, Time, useAction, useAsync } from "../ui.tsx";

export function SignInMethods() {
  const identities = useAsync(() => get("/v1/me/identities", Identities), []);
  const [run, busy, error] = useAction();
  const data = identities.data;
  const unlink = (provider: "github" | "gitlab") =>
    void run(async () => {
      if (!confirm(`Stop signing in with ${providerLabel[provider]}?`)) return;
      await api("DELETE", `/v1/me/identities/${provider}`);
      identities.reload();
    });
  return (
    <div class="card stack">
      <h2>Sign-in methods</h2>
      <ErrorNote error={identities.error ?? error} />
      {data && (
        <>
          <p>{data.hasPassword ? "Email and password." : "This account has no password: it signs in only with the accounts below."}</p>
          {data.items.length === 0 ? (
            <p>
              No GitHub or GitLab account is linked. To link one, log out and sign in with it: if its verified email is this account's, you confirm with your
              password once.
            </p>
          ) : (
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
        </>
      )}
    </div>
  );
}
